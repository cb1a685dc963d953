"""The baseline of bench/load.py: a Locust user posting bodies rendered and signed beforehand.

No emulator code runs here: each user takes its own list of (event type, headers, body) from the
file ``$BARE_BODIES`` names (what bench/load.py wrote) and posts them in turn, again and again, with
the same client, request name and answer handling as ``emulator.load.ScenarioUser``.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

from locust import FastHttpUser, constant, task

with open(os.environ["BARE_BODIES"], encoding="utf-8") as _file:
    _USERS = [[(kind, headers, body.encode()) for kind, headers, body in json.loads(line)] for line in _file]
_NUMBERS = itertools.count()


class BareUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.requests = itertools.cycle(_USERS[next(_NUMBERS) % len(_USERS)])

    @task
    def post(self) -> None:
        name, headers, body = next(self.requests)
        data: Any = body
        with self.client.request(
            "POST", self.host or "", data=data, headers=headers, name=name, catch_response=True, allow_redirects=False
        ) as response:
            if 200 <= response.status_code < 300:
                response.success()
            elif response.status_code:
                response.failure(f"HTTP {response.status_code}")
