"""The Locust user: one play of a scenario, its events delivered one after another to Locust's host.

A user is the people of one play (one actor for most scenarios), so its events arrive in the
order they happened, each after the previous was answered. The body is the vendor's payload as
``render`` makes it, signed and changed by faults exactly as ``run`` would send it
(``delivery/request.py``), through Locust's fast HTTP client, so Locust times and counts every
request under its event type. There are no retries: a load test asks what the consumer answers.
"""

from __future__ import annotations

import json
import random
import socket
import time
from typing import Any

import gevent
from locust import FastHttpUser, constant, task
from locust.env import Environment

from emulator.delivery.faults import Fault, Plan, plan, step_faults
from emulator.delivery.request import signed_request
from emulator.delivery.runner import body_bytes
from emulator.load.hooks import register, state_of, worker_index
from emulator.play.clock import epoch_ms
from emulator.vendors.dialect import Event


class ScenarioUser(FastHttpUser):
    """Plays ``--scenario`` as ``--vendor`` (or a weighted mix) and POSTs each event to ``--host``.

    Its options are Locust's own (``locust -f locustfile.py --help`` lists them under the same
    names as ``idp-emulator run``'s flags), or ``IDP_EMULATOR_*`` variables.
    """

    wait_time = constant(0)

    def __init__(self, environment: Environment) -> None:
        state = state_of(environment)
        load = state.ready()
        self.worker = worker_index(environment)
        self.number = next(state.numbers)
        self.vendor = load.vendor(self.worker, self.number)
        self.target = load.targets[self.vendor]
        self.seed = load.seed
        # the vendor's timeouts, and its TLS settings for an https:// target
        self.connection_timeout = self.target.connect_timeout
        self.network_timeout = self.target.read_timeout
        context = self.target.ssl_context
        if context is not None:
            self.insecure = False
            self.ssl_context_factory = lambda: context
        super().__init__(environment)
        self.tally = state.tally
        self.prefix = f"{self.vendor} " if len(load.mix.vendors) > 1 else ""
        self.events = load.events(self.worker, self.number)
        self.held: list[tuple[Event, bytes, Plan]] = []  # by a reorder fault, until its window is full

    @task
    def deliver(self) -> None:
        """The user's next event (and the copies a duplicate fault asks for)."""
        event = next(self.events)
        body = body_bytes(event)
        faults = self.target.faults + _step_faults(event.faults)
        if not faults:
            self._send(event, body, ())
            return
        drawn = plan(faults, self.seed, self.target.name, event.id, event.type, False)
        if drawn.drop:
            self.tally.add(self.prefix + event.type, "dropped")
            return
        if drawn.reorder:
            self.held.append((event, body, drawn))
            if len(self.held) >= drawn.reorder:
                held, self.held = self.held, []
                random.Random(f"{self.seed}:{self.target.name}:{held[0][0].id}").shuffle(held)
                for item in held:
                    self._deliver(*item, faults)
            return
        self._deliver(event, body, drawn, faults)

    def on_stop(self) -> None:
        for event, _, _ in self.held:
            self.tally.add(self.prefix + event.type, "held")
        self.held = []

    def _deliver(self, event: Event, body: bytes, drawn: Plan, faults: tuple[Fault, ...]) -> None:
        if drawn.delay:
            gevent.sleep(drawn.delay)
        self._send(event, body, drawn.request)
        for delay in drawn.copies:
            if delay:
                gevent.sleep(delay)
            copy = plan(faults, self.seed, self.target.name, event.id, event.type, True)
            self.tally.add(self.prefix + event.type, "copies")
            self._send(event, body, copy.request)

    def _send(self, event: Event, body: bytes, faults: list[Fault] | tuple[()]) -> None:
        target = self.target
        at = int(time.time()) if target.signed_time == "now" else epoch_ms(event.time) // 1000
        outgoing = signed_request(target, event.id, body, at, faults)
        name = self.prefix + event.type
        headers = {**target.headers, **outgoing.headers}
        data: Any = outgoing.body  # bytes as they are (Locust's types name only text and forms)
        with self.client.request(
            "POST", target.url, data=data, headers=headers, name=name, catch_response=True, allow_redirects=False
        ) as response:
            status = response.status_code
            if 200 <= status < 300:
                response.success()
                outcome = "acknowledged"
            elif status:
                response.failure(f"HTTP {status}")
                outcome = "refused"
            else:  # no answer: Locust records the transport's error as the failure
                outcome = "timed_out" if _timed_out(getattr(response, "error", None)) else "unreachable"
        self.tally.add(name, outcome)


def _timed_out(error: Any) -> bool:
    return isinstance(error, socket.timeout | TimeoutError | gevent.Timeout) or "timed out" in str(error).lower()


def _step_faults(raw: tuple[Any, ...]) -> tuple[Fault, ...]:
    """A scenario step's faults, parsed once per distinct list (as a run keeps them)."""
    return step_faults(json.dumps(list(raw), sort_keys=True)) if raw else ()


register()  # the emulator's options and events join Locust's wherever this class is imported
