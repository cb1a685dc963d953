"""The sender: one HTTP attempt of one delivery, and a plain account of how it went.

It knows targets and bytes, never a vendor's fields. Whatever the receiver does (refuse, hang,
reset, redirect, answer 50 MB), the attempt ends within the target's timeouts with a status or a
reason a person can read; nothing here raises on a receiver's behaviour.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass

import aiohttp

from emulator.delivery.retry import Failure
from emulator.delivery.signing import Message, SigningError, sign
from emulator.delivery.targets import Target
from emulator.store.sqlite import BODY_EXCERPT

_JSON = {"Content-Type": "application/json"}


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


class Sender:
    """One aiohttp session shared by every target of a run (connections are pooled per host)."""

    def __init__(self, connections: int = 100) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=60),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def attempt(self, target: Target, event_id: str, body: bytes, timestamp: int) -> Result:
        """POST ``body`` to the target, signed for this attempt's (scenario) ``timestamp``."""
        started = time.perf_counter()
        try:
            signature = sign(target.signing, Message(body, event_id, timestamp, "POST", target.url))
        except SigningError as exc:
            return Result(False, None, f"cannot sign: {exc}", 0.0, failure=Failure(kind="signing"))
        headers = {**target.headers, **_JSON, **signature}
        timeout = aiohttp.ClientTimeout(
            total=target.connect_timeout + 2 * target.read_timeout,
            sock_connect=target.connect_timeout,
            sock_read=target.read_timeout,
        )
        try:
            async with self._open().post(
                target.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                excerpt = await _excerpt(response)
                status = response.status
                answer = {k: v for k, v in response.headers.items()}
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            return self._failed(started, _timeout_reason(exc, target), "timeout")
        except aiohttp.ClientConnectorDNSError:
            return self._failed(started, f"cannot resolve host {_host(target)} (DNS lookup failed)", "network")
        except aiohttp.ClientConnectorError as exc:
            return self._failed(started, _connect_reason(exc, target), "network")
        except aiohttp.ServerDisconnectedError:
            return self._failed(started, "the receiver closed the connection without answering", "network")
        except aiohttp.ClientPayloadError as exc:
            return self._failed(started, f"broken response body ({exc})", "network")
        except aiohttp.ClientResponseError as exc:
            return self._failed(started, f"malformed response ({exc.message})", "network")
        except (aiohttp.ClientError, OSError) as exc:
            return self._failed(started, _os_reason(exc), "network")
        duration = (time.perf_counter() - started) * 1000
        if 200 <= status < 300:
            return Result(True, status, None, duration, answer, excerpt)
        if 300 <= status < 400:
            error = f"HTTP {status} redirect to {answer.get('Location', '?')} (a redirect counts as a failure)"
        elif status == 410:
            error = "HTTP 410 Gone: the receiver says the endpoint is gone; no more attempts"
        else:
            error = f"HTTP {status}"
        abort = target.signing.scheme == "standard-webhooks" and answer.get("webhook-delivery") == "abort-message"
        if abort:
            error += " with webhook-delivery: abort-message; no more attempts"
        failure = Failure(status=status, retry_after=answer.get("Retry-After"), abort=abort)
        return Result(False, status, error, duration, answer, excerpt, failure)

    @staticmethod
    def _failed(started: float, reason: str, kind: str) -> Result:
        return Result(False, None, reason, (time.perf_counter() - started) * 1000, failure=Failure(kind=kind))


async def _excerpt(response: aiohttp.ClientResponse) -> bytes:
    """The first kilobytes of the body; a longer body is cut off and its connection dropped."""
    chunks: list[bytes] = []
    size = 0
    while size <= BODY_EXCERPT:
        chunk = await response.content.read(BODY_EXCERPT + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    response.close()  # do not read (or keep a connection for) the rest of a huge answer
    return b"".join(chunks)[:BODY_EXCERPT]


def _host(target: Target) -> str:
    from yarl import URL

    url = URL(target.url)
    return f"{url.host}:{url.port}"


def _timeout_reason(exc: BaseException, target: Target) -> str:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"could not connect to {_host(target)} within {target.connect_timeout:g} s (connect timeout)"
    if isinstance(exc, aiohttp.SocketTimeoutError | aiohttp.ServerTimeoutError):
        return f"no answer within {target.read_timeout:g} s (read timeout)"
    return f"no complete answer within {target.connect_timeout + 2 * target.read_timeout:g} s (total timeout)"


def _connect_reason(exc: aiohttp.ClientConnectorError, target: Target) -> str:
    cause = exc.os_error
    if isinstance(cause, ConnectionRefusedError):
        return f"connection refused by {_host(target)} (nothing listening?)"
    if isinstance(cause, socket.gaierror):
        return f"cannot resolve host {_host(target)} (DNS lookup failed)"
    if isinstance(cause, aiohttp.ClientSSLError | OSError) and "SSL" in type(cause).__name__:
        return f"TLS handshake with {_host(target)} failed ({cause})"
    return f"cannot connect to {_host(target)} ({cause.strerror or cause})"


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionResetError) or "reset" in str(exc).lower():
        return "the connection was reset by the receiver"
    if isinstance(exc, asyncio.CancelledError):  # pragma: no cover - not an attempt failure
        raise exc
    return f"{type(exc).__name__}: {exc}"
