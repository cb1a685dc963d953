"""The sender: one HTTP attempt of one delivery, and a plain account of how it went.

It knows targets and bytes, never a vendor's fields. Whatever the receiver does (refuse, hang,
reset, redirect, answer 50 MB), the attempt ends within the target's timeouts with a status or a
reason a person can read; nothing here raises on a receiver's behaviour.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from emulator.delivery.faults import Fault
from emulator.delivery.http import Endpoint, Pool, ProxyError, TransportError, proxy_for
from emulator.delivery.redact import Redactor
from emulator.delivery.redact import url as redact_url
from emulator.delivery.request import signed_request
from emulator.delivery.retry import Failure
from emulator.delivery.signing import Message, SigningError, scheme, sign
from emulator.delivery.targets import Target, target_secrets
from emulator.store import BODY_EXCERPT, AttemptRow


@dataclass(slots=True)
class Result:
    """How one attempt went."""

    ok: bool
    status: int | None
    error: str | None
    duration_ms: float
    headers: dict[str, str] | None = None
    body: bytes | None = None
    failure: Failure | None = None
    injected: list[str] = field(default_factory=list)  # request faults applied to this attempt

    def attempt_row(self, delivery: int, number: int, at: int, scenario_ms: int, wait_ms: int | None) -> AttemptRow:
        """This attempt as the store records it for one delivery it carried (a batch carries several)."""
        return {  # a literal: calling the TypedDict takes three times as long, for every attempt
            "delivery": delivery,
            "number": number,
            "at_ms": at,
            "scenario_ms": scenario_ms,
            "duration_ms": round(self.duration_ms, 3),
            "status": self.status,
            "error": self.error,
            "response_headers": self.headers,
            "response_body": self.body,
            "next_delay_ms": wait_ms,
            "injected": "; ".join(self.injected) or None,
        }


class _Prepared:
    """What every attempt to one target shares, computed once: the endpoint, the fixed headers,
    and the credentials that must never be recorded even if a receiver echoes them back."""

    __slots__ = ("endpoint", "fixed", "redactor", "signed", "timed", "total")

    def __init__(self, target: Target) -> None:
        proxy = proxy_for(target.url)  # the environment as it is when the run's first attempt is made
        self.endpoint = Endpoint.parse(target.url, target.ssl_context, target.tls, proxy)
        headers = dict(target.headers)
        fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.fixed = self.endpoint.head + fixed.encode("latin-1")
        self.total = target.total_timeout
        secrets = target_secrets(target)
        if proxy is not None:
            secrets.append(proxy.password)
        self.redactor = Redactor(secrets)
        self.timed = scheme(target.signing.scheme).timed(target.signing)
        # the wire body and signed headers of deliveries whose attempt failed, or that were signed
        # ahead, by (event id, signed time, body): a retry of a delivery whose signature does not
        # carry the attempt's time, and a delivery signed while the loop waited, send them as made
        self.signed: dict[tuple[str, int, bytes], tuple[bytes, bytes]] = {}

    def keep_signed(self, key: tuple[str, int, bytes], wire: bytes, signed: bytes, faults: Sequence[Fault]) -> None:
        """Keep an attempt's body and signed headers for a later attempt (not a faulted request's:
        each attempt draws its own faults)."""
        if faults:
            return
        if len(self.signed) >= KEPT_SIGNATURES:
            self.signed.clear()
        self.signed[key] = (wire, signed)


KEPT_SIGNATURES = 10_000  # failed deliveries per target whose signature is kept for their retry
LARGE_BODY = 256 * 1024  # bodies from this size on count against the budget (smaller ones never wait)


class ByteBudget:
    """Bytes that may be in flight at once, shared by every sender of the process: a body waits until
    enough is free (one larger than the whole budget waits for all of it), first come first served."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    async def take(self, size: int) -> int:
        size = min(size, self.total)
        if self.free >= size and not self._waiting:
            self.free -= size
            return size
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((size, future))
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self.give(size)  # granted as it was cancelled: hand it on
            else:
                self._waiting = deque(w for w in self._waiting if w[1] is not future)
            raise
        return size

    def give(self, size: int) -> None:
        self.free += size
        while self._waiting and self._waiting[0][0] <= self.free:
            wanted, future = self._waiting.popleft()
            if future.done():  # its waiter went away
                continue
            self.free -= wanted
            future.set_result(None)


BODIES_IN_FLIGHT = ByteBudget(96 * 1024 * 1024)


class Sender:
    """One connection pool shared by every target of a run (connections are kept alive per host)."""

    def __init__(self) -> None:
        self._pool = Pool()
        self._prepared: dict[int, _Prepared] = {}
        self._verifications: dict[int, asyncio.Future[str | None]] = {}  # by target: why it failed, or None

    async def close(self) -> None:
        self._pool.close()

    async def attempt(
        self, target: Target, event_id: str, body: bytes, timestamp: int, faults: Sequence[Fault] = ()
    ) -> Result:
        """POST ``body`` to the target, signed for this attempt's ``timestamp`` (Unix seconds).

        ``faults`` (request faults of the delivery's plan) change what goes on the wire. A large body
        (an ``oversize`` fault makes one of up to 64 MB) waits for room in the process's budget of
        bytes in flight, so many of them at once cannot take the machine's memory.
        """
        size = len(body)
        if faults:
            size = max([size, *(f.params["size"] for f in faults if f.kind == "oversize")])
        if size < LARGE_BODY:
            result = await self._attempt(target, event_id, body, timestamp, faults)
        else:
            taken = await BODIES_IN_FLIGHT.take(size)
            try:
                result = await self._attempt(target, event_id, body, timestamp, faults)
            finally:
                BODIES_IN_FLIGHT.give(taken)
        if result.error is not None:  # what a reason quotes (a URL, a redirect) may carry a credential
            prepared = self._prepared.get(id(target))
            result.error = prepared.redactor.text(result.error) if prepared is not None else redact_url(result.error)
        return result

    async def _attempt(
        self, target: Target, event_id: str, body: bytes, timestamp: int, faults: Sequence[Fault]
    ) -> Result:
        started = time.perf_counter()
        prepared = self._prepared.get(id(target))
        if prepared is None:
            try:
                prepared = self._prepared[id(target)] = _Prepared(target)
            except (ValueError, UnicodeError) as exc:
                return Result(False, None, f"cannot send to {target.url!r}: {exc}", 0.0, failure=Failure(kind="url"))
            except ProxyError as exc:
                return Result(False, None, f"cannot send to {target.name!r}: {exc}", 0.0, failure=Failure(kind="url"))
        if target.verification is not None:
            refused = await self._verified(target, prepared, timestamp)
            if refused is not None:
                return Result(False, None, refused, 0.0, failure=Failure(kind="verification"))
        key = (event_id, timestamp if prepared.timed else 0, body)
        # nothing kept (the usual case: signed ahead only when the loop would wait): the body's hash,
        # which a lookup would make, is not needed
        kept = None if faults or not prepared.signed else prepared.signed.pop(key, None)
        injected: list[str] = []
        if kept is None:
            try:
                outgoing = signed_request(target, event_id, body, timestamp, faults)
            except SigningError as exc:
                return Result(False, None, f"cannot sign: {exc}", 0.0, failure=Failure(kind="signing"))
            body, injected = outgoing.body, outgoing.injected
            signed = _head(outgoing.headers)
        else:  # signed before: the body as it was framed or wrapped then, and its signature
            body, signed = kept
        head = b"%b%bContent-Length: %d\r\n\r\n" % (prepared.fixed, signed, len(body))
        large = len(body) >= LARGE_BODY  # written apart from its head: no second copy of it
        request, rest = (head, body) if large else (head + body, b"")
        try:
            response = await self._pool.post(
                prepared.endpoint, request, target.connect_timeout, target.read_timeout, prepared.total, BODY_EXCERPT,
                rest,
            )  # fmt: skip
        except TransportError as exc:
            duration = (time.perf_counter() - started) * 1000
            prepared.keep_signed(key, body, signed, faults)
            return Result(False, None, exc.reason, duration, failure=Failure(kind=exc.kind), injected=injected)
        duration = (time.perf_counter() - started) * 1000
        status = response.status
        answer, excerpt = prepared.redactor.headers(response.headers), prepared.redactor.bytes(response.body)
        if 200 <= status < 300:
            return Result(True, status, None, duration, answer, excerpt, injected=injected)
        prepared.keep_signed(key, body, signed, faults)
        if 300 <= status < 400:
            location = _header(answer, "location") or "?"
            error = f"HTTP {status} redirect to {location} (a redirect counts as a failure)"
        elif status == 410:
            error = "HTTP 410 Gone: the receiver says the endpoint is gone; no more attempts"
        else:
            error = f"HTTP {status}"
        stop = scheme(target.signing.scheme).stop_header
        abort = stop is not None and _header(answer, stop[0]) == stop[1]
        if stop is not None and abort:
            error += f" with {stop[0]}: {stop[1]}; no more attempts"
        failure = Failure(status=status, retry_after=_header(answer, "retry-after"), abort=abort)
        return Result(False, status, error, duration, answer, excerpt, failure, injected)

    def sign_ahead(self, target: Target, event_id: str, body: bytes, timestamp: int) -> None:
        """Sign a delivery's next attempt now, while the loop would wait on the network anyway (the
        dispatcher asks for an actor's next delivery as the one before it is sent, when no other
        delivery is ready), so the attempt itself usually only writes. ``timestamp`` is the time the
        attempt will sign: the scenario's, or this second (an attempt made in a later second finds
        nothing kept for its own time and signs again: the work ahead is lost, never the answer).
        A target not yet attempted, or a delivery that cannot be signed, is left to its attempt
        (which says why)."""
        prepared = self._prepared.get(id(target))
        if prepared is None:
            return
        key = (event_id, timestamp if prepared.timed else 0, body)
        if key in prepared.signed:
            return
        try:
            outgoing = signed_request(target, event_id, body, timestamp)
        except SigningError:
            return
        prepared.keep_signed(key, outgoing.body, _head(outgoing.headers), ())

    async def _verified(self, target: Target, prepared: _Prepared, timestamp: int) -> str | None:
        """The target's one-time verification, done by its first attempt (the others wait for it):
        None when the endpoint answered the challenge, else why not (every attempt then fails so)."""
        found = self._verifications.get(id(target))
        if found is None:
            found = self._verifications[id(target)] = asyncio.ensure_future(self._verify(target, prepared, timestamp))
        return await asyncio.shield(found)

    async def _verify(self, target: Target, prepared: _Prepared, timestamp: int) -> str | None:
        verification = target.verification
        assert verification is not None
        value = verification.challenge()
        try:  # the request carries what every request to the target does: its fixed headers and credentials
            credentials = sign(target.signing, Message(b"", "verification", timestamp, verification.method, target.url))
        except SigningError as exc:
            return f"cannot sign the one-time verification: {exc}"
        request = verification.head(prepared.fixed, credentials, value)
        try:
            response = await self._pool.post(
                prepared.endpoint, request, target.connect_timeout, target.read_timeout, prepared.total, BODY_EXCERPT
            )
        except TransportError as exc:
            sent = f"the one-time verification ({verification.method} with {verification.header})"
            return f"{sent} got no answer: {exc.reason}"
        return verification.problem(response.status, response.body, value)


def _head(headers: dict[str, str]) -> bytes:
    """Signed headers as they go in the request's head."""
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")


def _header(headers: dict[str, str], name: str) -> str | None:
    """A response header by name, whatever its case."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
