"""Load tests of webhook consumers on Locust: the emulator's events from many users and machines.

In a locustfile, ``from emulator.load import ScenarioUser`` is all it takes: Locust's own command
line (``--master``, ``--worker``, ``--host``, ``-u``, ...) then runs it, with the emulator's options
beside Locust's. ``idp-emulator load`` does the same on one machine. Importing Locust patches the
standard library for gevent, so only ``ScenarioUser`` imports it, on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ScenarioUser"]
# the modules that import Locust, which patches the process's standard library for gevent on import:
# only a Locust process imports them (the rest of the package never does)
LOCUST_MODULES = ("emulator.load.hooks", "emulator.load.user", "emulator.load.locustfile")


def __getattr__(name: str) -> Any:
    if name == "ScenarioUser":
        from emulator.load.user import ScenarioUser

        return ScenarioUser
    raise AttributeError(f"module 'emulator.load' has no attribute {name!r}")
