"""The Locust user: one play of a scenario, its events delivered one after another to Locust's host.

A user is the people of one play (one actor for most scenarios), so its events arrive in the
order they happened, each after the previous was answered. The body is the vendor's payload as
``render`` makes it, signed and changed by faults exactly as ``run`` would send it
(``delivery/request.py``), through Locust's fast HTTP client, so Locust times and counts every
request under its event type. There are no retries: a load test asks what the consumer answers.

A webhook goes to one fixed URL, with no cookies, redirects or retries, so a user posts on the
connection pool of its ``FastHttpUser`` client directly (geventhttpclient's ``HTTPClient``, with
the same timeouts and TLS settings) and reports each request to Locust's ``request`` event itself:
the session layer above it (URL parsing, a cookie jar, redirect handling) costs as much again as
the post, and a webhook sender does none of it. ``self.client`` stays as Locust made it, for a
subclass that wants to make requests of its own.
"""

from __future__ import annotations

import json
import random
import socket
import time
from typing import Any

import gevent
from geventhttpclient.url import URL
from locust import FastHttpUser, constant, task
from locust.env import Environment
from locust.exception import CatchResponseError

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
        url = URL(self.target.url)
        self.http = self.client.client.clientpool.get_client(url)  # the pool's client for the target's host
        self.uri: str = getattr(url, "quoted_uri", url.request_uri)
        self.request_event = environment.events.request
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
        started = time.time()
        clock = time.perf_counter()
        status = 0
        length = 0
        error: BaseException | None = None
        response: Any = None
        try:
            response = self.http.request("POST", self.uri, body=outgoing.body, headers=headers)
            try:
                status = response.status_code
                length = len(response.read())
            finally:
                response.release()
        except Exception as exc:  # no answer: Locust records the transport's error as the failure
            error = exc
        if error is not None:
            outcome = "timed_out" if _timed_out(error) else "unreachable"
        elif 200 <= status < 300:
            outcome = "acknowledged"
        else:
            error = CatchResponseError(f"HTTP {status}")
            outcome = "refused"
        self.request_event.fire(  # type: ignore[no-untyped-call]
            request_type="POST",
            name=name,
            response_time=(time.perf_counter() - clock) * 1000,
            response_length=length,
            response=response,
            exception=error,
            context=self.context(),
            start_time=started,
            url=target.url,
        )
        self.tally.add(name, outcome)


def _timed_out(error: Any) -> bool:
    return isinstance(error, socket.timeout | TimeoutError | gevent.Timeout) or "timed out" in str(error).lower()


def _step_faults(raw: tuple[Any, ...]) -> tuple[Fault, ...]:
    """A scenario step's faults, parsed once per distinct list (as a run keeps them)."""
    return step_faults(json.dumps(list(raw), sort_keys=True)) if raw else ()


register()  # the emulator's options and events join Locust's wherever this class is imported
