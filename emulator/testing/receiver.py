"""A programmable webhook receiver: records every request, checks signatures, answers as told.

It plays the consumer in tests (a failing one too: 500, 500, then 200; slow answers; dropped
connections) and backs ``idp-emulator listen``. Waiting is event-driven: every arrival wakes the
waiters, so a wait ends the moment its condition holds and never sleeps longer than needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.delivery.signing import Verdict, verify
from emulator.delivery.verification import parse_verification
from emulator.testing.wire import read_all, type_matches, wire_of
from emulator.vendors.registry import Registry

MAX_BODY = 16 * 1024 * 1024
Answer = int | str  # a status code, "drop" (close without answering) or "hang" (never answer)


@dataclass
class Webhook:
    """One event as the receiver got it: a request, or one event of a request that carried a batch
    (each event of a batch is recorded, with the request's headers, body, verdict and answer)."""

    method: str
    path: str
    url: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() on arrival
    id: str | None
    type: str | None
    user: str | None
    verdict: Verdict
    answered: int | str = 200
    types: tuple[str, ...] = ()
    forwarded: str = ""  # what the app it was forwarded to answered (listen --forward-to)
    batch: int = 1  # events the request carried
    position: int = 0  # this event's place among them (0: the first)
    event: Any = None  # this event, parsed

    def json(self) -> Any:
        """The body as JSON; for an event of a batch, that event."""
        import json

        return self.event if self.batch > 1 else json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.type or '?'} id={self.id or '?'} user={self.user or '-'} {self.verdict} -> {self.answered}>"


@dataclass
class _Plan:
    answers: tuple[Answer, ...] = ()
    per_event: bool = True
    delay: float = 0.0
    then: Answer = 200


class WebhookReceiver:
    """Listens on loopback; ``url`` is where to send. Start with ``await start()`` (or ``async with``)."""

    def __init__(
        self,
        vendor: str | None = None,
        secret: str | Sequence[str] | None = None,
        scheme: str | None = None,
        algorithm: str = "",
        header: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
        registry: Registry | None = None,
        answer_hook: Callable[[Webhook], Awaitable[tuple[int, dict[str, str], bytes] | None]] | None = None,
        on_webhook: Callable[[Webhook], None] | None = None,
        keep: int = 100_000,
        on_verification: Callable[[str, str, str], None] | None = None,
    ) -> None:
        registry = registry or Registry()
        self.vendor = vendor
        self.wire = wire_of(vendor, registry)
        delivery = registry.vendor(vendor).catalog.delivery if vendor else {}
        if "like" in delivery:
            delivery = registry.vendor(delivery["like"]).catalog.delivery
        signing = delivery.get("signing") or {}
        self.scheme = scheme or signing.get("scheme") or "none"
        self.secrets = [secret] if isinstance(secret, str) else list(secret or [])
        self.algorithm = algorithm or (signing.get("algorithm", "") if self.scheme == signing.get("scheme") else "")
        self.header = header or signing.get("header", "")
        # where the vendor's one object lists several events (Okta's data.events), read one by one
        self.into = str((delivery.get("batch") or {}).get("into") or "")
        # the vendor's one-time verification, answered as its consumers must (Okta's challenge)
        self.verification = parse_verification(delivery.get("verification"), f"vendor {vendor}")
        self.verifications: list[str] = []  # the challenges answered
        self.host = host
        self.port = port
        self.answer_hook = answer_hook
        self.on_webhook = on_webhook
        self.on_verification = on_verification  # (method, path, challenge) of each verification answered
        self.received: list[Webhook] = []
        self.keep = keep  # the newest requests kept (a long `listen` must not grow without end)
        self._plan = _Plan()
        self._counts: dict[str, int] = {}
        self._arrived: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.url = ""

    def read_as(self, other: WebhookReceiver) -> None:
        """Read, verify and answer challenges as ``other`` does (a receiver made for another vendor)."""
        self.vendor, self.wire, self.scheme, self.secrets = other.vendor, other.wire, other.scheme, other.secrets
        self.algorithm, self.header, self.verification = other.algorithm, other.header, other.verification
        self.into = other.into

    # lifecycle ------------------------------------------------------------------------------

    async def start(self) -> WebhookReceiver:
        self._arrived = asyncio.Condition()
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.port = port
        self.url = f"http://{host}:{port}/webhooks"
        return self

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WebhookReceiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # how to answer --------------------------------------------------------------------------

    def respond(self, *answers: Answer, per_event: bool = True, delay: float = 0.0, then: Answer = 200) -> None:
        """Answer with ``answers`` in turn (per event id by default), then with ``then``.

        ``respond(500, 500, 200)`` makes each event fail twice before it is accepted;
        ``respond("drop")`` closes the connection unanswered; ``delay`` slows every answer.
        """
        for answer in (*answers, then):
            if not (isinstance(answer, int) and 100 <= answer <= 599) and answer not in ("drop", "hang"):
                raise ValueError(f"an answer is a status code, 'drop' or 'hang', not {answer!r}")
        self._plan = _Plan(tuple(answers), per_event, delay, then)
        self._counts = {}

    def _next_answer(self, webhook: Webhook) -> Answer:
        plan = self._plan
        key = (webhook.id or "") if plan.per_event else ""
        n = self._counts.get(key, 0)
        self._counts[key] = n + 1
        return plan.answers[n] if n < len(plan.answers) else plan.then

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        verification = self.verification
        if verification is not None and request.method == verification.method:
            challenge = request.headers.get(verification.header)
            if challenge is not None:
                self.verifications.append(challenge)
                if self.on_verification is not None:
                    self.on_verification(request.method, request.path_qs, challenge)
                return web.json_response({verification.answer: challenge})
        body = await request.read()
        readings = read_all(body, self.wire, self.into)
        reading = readings[0]
        headers = dict(request.headers)
        verdict = verify(
            self.scheme, self.secrets, body, headers, request.method, str(request.url), self.algorithm, self.header
        )
        webhook = Webhook(
            request.method,
            request.path_qs,
            str(request.url),
            headers,
            body,
            time.time(),
            reading.id,
            reading.type,
            reading.user,
            verdict,
            types=reading.types,
            batch=len(readings),
            event=reading.body,
        )
        answer: Answer = self._next_answer(webhook)  # one answer for the request: its first event's
        status = answer if isinstance(answer, int) else 200
        answer_headers: dict[str, str] = {}
        answer_body = b""
        if self.answer_hook is not None and isinstance(answer, int) and 200 <= answer < 300:
            # a scripted failure is answered as scripted; otherwise the hook (an app) answers
            hooked = await self.answer_hook(webhook)
            if hooked is not None:
                status, answer_headers, answer_body = hooked
                answer = status
        webhook.answered = answer
        await self._record(webhook)
        for position, more in enumerate(readings[1:], 1):  # the other events of a batch
            await self._record(
                dataclasses.replace(
                    webhook, id=more.id, type=more.type, user=more.user, types=more.types, event=more.body,
                    position=position,
                )
            )  # fmt: skip
        if self._plan.delay:
            await asyncio.sleep(self._plan.delay)
        if answer == "hang":
            assert self._stopping is not None
            await self._stopping.wait()  # until the receiver stops (the sender gives up long before)
        if answer in ("drop", "hang") and request.transport is not None:
            request.transport.abort()  # close without a word; what is returned below goes nowhere
        return web.Response(status=status, headers=answer_headers, body=answer_body)

    async def _record(self, webhook: Webhook) -> None:
        self.received.append(webhook)
        if len(self.received) > self.keep:
            del self.received[: len(self.received) - self.keep]
        if self.on_webhook is not None:
            with contextlib.suppress(Exception):
                self.on_webhook(webhook)
        assert self._arrived is not None
        async with self._arrived:
            self._arrived.notify_all()

    # waiting --------------------------------------------------------------------------------

    def matching(self, type: str | None = None, user: str | None = None) -> list[Webhook]:
        """The webhooks received so far, of a type (a glob; ``LOGIN`` also matches ``access.LOGIN``) or user."""
        return [
            w
            for w in self.received
            if (type is None or type_matches(type, w.types, self.wire)) and (user is None or w.user == user)
        ]

    async def wait_for(
        self, count: int = 1, type: str | None = None, user: str | None = None, timeout: float = 5.0
    ) -> list[Webhook]:
        """Until ``count`` webhooks (of ``type``, for ``user``) have arrived; returns them."""
        assert self._arrived is not None, "start the receiver first"
        try:
            async with asyncio.timeout(timeout), self._arrived:
                await self._arrived.wait_for(lambda: len(self.matching(type, user)) >= count)
        except TimeoutError:
            raise AssertionError(
                self._story(f"waited {timeout:g} s for {count} webhook(s){_what(type, user)}")
            ) from None
        return self.matching(type, user)

    async def wait_quiet(self, period: float = 0.2, timeout: float = 10.0) -> list[Webhook]:
        """Until nothing has arrived for ``period`` seconds (the sender is done, retries included)."""
        assert self._arrived is not None, "start the receiver first"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            seen = len(self.received)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._story(f"webhooks kept arriving for {timeout:g} s"))
            try:
                async with asyncio.timeout(min(period, remaining)), self._arrived:
                    await self._arrived.wait_for(functools.partial(self._more_than, seen))
            except TimeoutError:
                return list(self.received)

    # asserting ------------------------------------------------------------------------------

    def _more_than(self, count: int) -> bool:
        return len(self.received) > count

    def assert_received(
        self, type: str | None = None, count: int | None = None, user: str | None = None
    ) -> list[Webhook]:
        """That webhooks of ``type`` (and ``user``) came, ``count`` of them if given; says what came if not."""
        found = self.matching(type, user)
        if (count is None and not found) or (count is not None and len(found) != count):
            expected = f"{count if count is not None else 'some'} webhook(s){_what(type, user)}"
            raise AssertionError(self._story(f"expected {expected}, got {len(found)}"))
        return found

    def assert_signed(self) -> None:
        """That every webhook carried a valid signature."""
        if not self.received:
            raise AssertionError("no webhook arrived, so no signature was checked")
        if not self.secrets and self.scheme != "none":
            raise AssertionError("the receiver has no secret to check signatures with (expect(vendor, secret))")
        bad = [w for w in self.received if w.verdict.ok is False]
        if bad:
            raise AssertionError(self._story(f"{len(bad)} webhook(s) with a bad signature: {bad[:3]}"))

    def duplicates(self) -> dict[str, int]:
        """Event ids that arrived more than once, with how many times."""
        counts: dict[str, int] = {}
        for w in self.received:
            if w.id:
                counts[w.id] = counts.get(w.id, 0) + 1
        return {k: v for k, v in counts.items() if v > 1}

    def _story(self, headline: str) -> str:
        lines = [headline + ". Received:"]
        lines += [f"  {i + 1}. {w!r}" for i, w in enumerate(self.received[-30:])] or ["  (nothing)"]
        return "\n".join(lines)


def _what(type: str | None, user: str | None) -> str:
    return (f" of type {type}" if type else "") + (f" for user {user}" if user else "")
