"""The sender: one HTTP attempt of one delivery, and a plain account of how it went.

It knows targets and bytes, never a vendor's fields. Whatever the receiver does (refuse, hang,
reset, redirect, answer 50 MB), the attempt ends within the target's timeouts with a status or a
reason a person can read; nothing here raises on a receiver's behaviour.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from emulator.delivery.http import Endpoint, HttpFailure, Pool
from emulator.delivery.retry import Failure
from emulator.delivery.signing import Message, SigningError, sign
from emulator.delivery.targets import Target
from emulator.store.sqlite import BODY_EXCERPT


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


class _Prepared:
    """What every attempt to one target shares, computed once: the endpoint and the fixed headers."""

    __slots__ = ("endpoint", "fixed", "total")

    def __init__(self, target: Target) -> None:
        self.endpoint = Endpoint.parse(target.url)
        headers = {**target.headers, "Content-Type": "application/json"}
        fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.fixed = self.endpoint.head + fixed.encode("latin-1")
        self.total = target.connect_timeout + 2 * target.read_timeout


class Sender:
    """One connection pool shared by every target of a run (connections are kept alive per host)."""

    def __init__(self, connections: int = 100) -> None:
        self._pool = Pool()
        self._prepared: dict[int, _Prepared] = {}

    async def close(self) -> None:
        self._pool.close()

    async def attempt(self, target: Target, event_id: str, body: bytes, timestamp: int) -> Result:
        """POST ``body`` to the target, signed for this attempt's ``timestamp`` (Unix seconds)."""
        started = time.perf_counter()
        prepared = self._prepared.get(id(target))
        if prepared is None:
            try:
                prepared = self._prepared[id(target)] = _Prepared(target)
            except (ValueError, UnicodeError) as exc:
                return Result(False, None, f"cannot send to {target.url!r}: {exc}", 0.0, failure=Failure(kind="url"))
        try:
            signature = sign(target.signing, Message(body, event_id, timestamp, "POST", target.url))
        except SigningError as exc:
            return Result(False, None, f"cannot sign: {exc}", 0.0, failure=Failure(kind="signing"))
        signed = "".join(f"{k}: {v}\r\n" for k, v in signature.items())
        request = b"%b%bContent-Length: %d\r\n\r\n%b" % (prepared.fixed, signed.encode("latin-1"), len(body), body)
        try:
            response = await self._pool.post(
                prepared.endpoint, request, target.connect_timeout, target.read_timeout, prepared.total, BODY_EXCERPT
            )
        except HttpFailure as exc:
            duration = (time.perf_counter() - started) * 1000
            return Result(False, None, exc.reason, duration, failure=Failure(kind=exc.kind))
        duration = (time.perf_counter() - started) * 1000
        status = response.status
        answer = response.headers
        if 200 <= status < 300:
            return Result(True, status, None, duration, answer, response.body)
        if 300 <= status < 400:
            location = _header(answer, "location") or "?"
            error = f"HTTP {status} redirect to {location} (a redirect counts as a failure)"
        elif status == 410:
            error = "HTTP 410 Gone: the receiver says the endpoint is gone; no more attempts"
        else:
            error = f"HTTP {status}"
        abort = target.signing.scheme == "standard-webhooks" and _header(answer, "webhook-delivery") == "abort-message"
        if abort:
            error += " with webhook-delivery: abort-message; no more attempts"
        failure = Failure(status=status, retry_after=_header(answer, "retry-after"), abort=abort)
        return Result(False, status, error, duration, answer, response.body, failure)


def _header(headers: dict[str, str], name: str) -> str | None:
    """A response header by name, whatever its case."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
