"""A lean HTTP/1.1 client for webhook POSTs: keep-alive connections, bounded reads, plain reasons.

The sender does one thing a million times: POST known bytes and read a short answer. A general
client spends most of its time on what this never needs (cookies, redirects, proxies, streaming
uploads), so this one writes each request as one buffer over asyncio and parses the answer with
httptools (llhttp, the parser Node.js uses). Timeouts are the target's: connect (TCP and TLS
handshake), read (the longest silence while waiting for the answer) and total, which covers
everything from the DNS lookup to the last byte. A request is never written once its total time
is up: when connecting or the handshake is too slow, the receiver gets nothing, so the retry is no
duplicate. Nothing here raises for what a receiver does: every outcome is a ``Response`` or an
``HttpFailure`` with a reason for people.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field

import httptools
from yarl import URL

from emulator.delivery.tls import default_context

MAX_IDLE = 64  # idle keep-alive connections kept per host
MAX_IDLE_SECONDS = 4.0  # below common server keep-alive timeouts (uvicorn 5 s, nginx 75 s)


class HttpFailure(Exception):
    """No usable answer: ``kind`` is ``timeout`` or ``network``; the message says what happened."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes  # at most ``limit`` bytes: the rest of a long answer is never read


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A URL taken apart once: where to connect and the fixed start of every request."""

    scheme: str
    host: str
    port: int
    head: bytes  # request line and Host header
    label: str  # host:port, for messages
    tls: ssl.SSLContext | None = field(default=None, compare=False)
    key: tuple[Hashable, ...] = ()  # what a kept-alive connection may be reused for

    @classmethod
    def parse(cls, url: str, tls: ssl.SSLContext | None = None, tls_key: Hashable = None) -> Endpoint:
        """``tls``: the context for an https:// URL (default: the system's); ``tls_key`` tells apart
        connections made with different TLS settings."""
        u = URL(url)
        if u.scheme not in ("http", "https") or not u.raw_host:
            raise ValueError(f"expected an http:// or https:// URL with a host, got {url!r}")
        host = u.raw_host
        port = u.port if u.port is not None else (443 if u.scheme == "https" else 80)
        authority = f"[{host}]" if ":" in host else host
        if u.explicit_port:
            authority += f":{port}"
        head = f"POST {u.raw_path_qs or '/'} HTTP/1.1\r\nHost: {authority}\r\n".encode("ascii")
        if u.scheme == "https":
            tls = tls or default_context()
        else:
            tls, tls_key = None, None
        key = (u.scheme, host, port, tls_key)
        return cls(u.scheme, host, port, head, f"{host}:{port}", tls, key)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one request at a time."""

    def __init__(self, pool: Pool, key: tuple[Hashable, ...]) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.waiter: asyncio.Future[Response] | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit = 0
        self.got_bytes = False
        self.headers_done = False
        self.last_activity = 0.0
        self.idle_since = 0.0
        self.fresh_tls = False  # a TLS connection whose first request is under way

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        self.last_activity = asyncio.get_running_loop().time()
        if self.parser is None or self.waiter is None or self.waiter.done():
            self._close()  # bytes nobody asked for: this connection cannot be trusted again
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail("network", f"malformed response ({exc})")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter

        if waiter is None or waiter.done():
            return
        if self.headers_done and self.status >= 200:
            short = self._cut_short()
            if short:
                waiter.set_exception(HttpFailure("network", short))
            else:
                self._finish(keep=False)  # an answer without a length ends when the connection does
        elif isinstance(exc, ConnectionResetError):
            waiter.set_exception(HttpFailure("network", "the connection was reset by the receiver"))
        elif self.fresh_tls and not self.got_bytes:
            # TLS 1.3 finishes the client's handshake before the server checks the client's certificate:
            # a refused certificate shows only as a close
            waiter.set_exception(
                HttpFailure(
                    "network",
                    "the receiver closed the TLS connection without answering (a receiver that requires a client"
                    " certificate, or does not accept the one given, does this: see the target's tls.client_cert)",
                )
            )
        else:
            waiter.set_exception(HttpFailure("network", "the receiver closed the connection without answering"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.status = self.parser.get_status_code()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        if self.size <= self.limit:
            self.chunks.append(body)
            self.size += len(body)
        if self.size > self.limit:
            self._finish(keep=False)  # enough: do not read (or keep a connection for) the rest

    def on_message_complete(self) -> None:
        if self.status < 200:  # an interim answer (100 Continue): the real one follows
            self._reset_message()
            return
        assert self.parser is not None
        self._finish(keep=self.parser.should_keep_alive())

    # inside
    def _reset_message(self) -> None:
        self.status = 0
        self.headers = {}
        self.chunks = []
        self.size = 0
        self.headers_done = False

    def _cut_short(self) -> str:
        """Why an answer whose connection closed before its end is not an answer ("" when unsized).

        Called only before the message completed: a Content-Length or a chunked body promised more.
        """
        length = encoding = None
        for key, value in self.headers.items():
            lower = key.lower()
            if lower == "content-length":
                length = value
            elif lower == "transfer-encoding":
                encoding = value
        if encoding is not None and "chunked" in encoding.lower():
            return (
                f"connection closed after {self.size} body bytes, before the chunked answer (HTTP {self.status}) ended"
            )
        if length is not None:
            try:
                expected = int(length.split(",")[0])
            except ValueError:
                expected = None
            if expected is not None and self.size < expected:
                return f"connection closed after {self.size} of {expected} body bytes (HTTP {self.status} cut short)"
        return ""

    def _finish(self, keep: bool) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        body = b"".join(self.chunks)[: self.limit]
        waiter.set_result(Response(self.status, self.headers, body))
        if not keep:
            self._close()

    def _fail(self, kind: str, reason: str) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HttpFailure(kind, reason))
        self._close()

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes, limit: int, read_timeout: float, deadline: float) -> Response:
        loop = asyncio.get_running_loop()
        if loop.time() >= deadline:  # the last moment to decide: a request written now might be answered too late
            self._close()
            raise HttpFailure("timeout", "the total timeout was up before writing the request; nothing was sent")
        self._reset_message()
        self.limit = limit
        self.got_bytes = False
        self.parser = httptools.HttpResponseParser(self)
        self.waiter = loop.create_future()
        self.last_activity = loop.time()
        assert self.transport is not None
        self.transport.write(request)
        handle = loop.call_at(min(self.last_activity + read_timeout, deadline), self._check, read_timeout, deadline)
        try:
            return await self.waiter
        finally:
            handle.cancel()
            self.waiter = None
            self.parser = None
            self.fresh_tls = False

    def _check(self, read_timeout: float, deadline: float) -> None:
        """Fires when the answer may be overdue: a silence longer than the read timeout, or the cap."""
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= deadline:
            self._fail("timeout", "no complete answer in time (total timeout)")
        elif now - self.last_activity >= read_timeout:
            self._fail("timeout", f"no answer within {read_timeout:g} s (read timeout)")
        else:
            loop.call_at(min(self.last_activity + read_timeout, deadline), self._check, read_timeout, deadline)


class Pool:
    """Keep-alive connections per endpoint (host and TLS settings), shared by all targets of a run."""

    def __init__(self) -> None:
        self._idle: dict[tuple[Hashable, ...], list[_Connection]] = defaultdict(list)

    async def post(
        self,
        endpoint: Endpoint,
        request: bytes,
        connect_timeout: float,
        read_timeout: float,
        total_timeout: float,
        limit: int,
    ) -> Response:
        """Send ``request`` (head and body, one buffer) and return the answer, or raise HttpFailure.

        ``total_timeout`` runs from this call: DNS, connecting, the TLS handshake, writing and reading
        all count, and the request is not written once it is up.
        """
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline = now + total_timeout
        key = endpoint.key or (endpoint.scheme, endpoint.host, endpoint.port)
        idle = self._idle[key]
        while idle:
            conn = idle.pop()
            # a connection idle for long may be closing at the receiver's end right now; a POST is
            # never sent twice, so rather than race that close, such a connection is not reused
            if not conn.closed and now - conn.idle_since < MAX_IDLE_SECONDS:
                return await self._use(conn, request, limit, read_timeout, deadline, idle)
            conn._close()
        conn = await self._connect(endpoint, key, connect_timeout, total_timeout, deadline)
        return await self._use(conn, request, limit, read_timeout, deadline, idle)

    async def _use(
        self,
        conn: _Connection,
        request: bytes,
        limit: int,
        read_timeout: float,
        deadline: float,
        idle: list[_Connection],
    ) -> Response:
        response = await conn.exchange(request, limit, read_timeout, deadline)
        if not conn.closed and len(idle) < MAX_IDLE:
            conn.idle_since = asyncio.get_running_loop().time()
            idle.append(conn)
        elif not conn.closed:
            conn._close()
        return response

    async def _connect(
        self, endpoint: Endpoint, key: tuple[Hashable, ...], connect_timeout: float, total: float, deadline: float
    ) -> _Connection:
        loop = asyncio.get_running_loop()
        conn = _Connection(self, key)
        left = deadline - loop.time()
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancellation that arrives as
            # the connection fails (a refused port fails at once), and the worker would never stop
            async with asyncio.timeout(min(connect_timeout, left)):
                await loop.create_connection(
                    lambda: conn,
                    endpoint.host,
                    endpoint.port,
                    ssl=endpoint.tls,
                    server_hostname=endpoint.host if endpoint.tls else None,
                )
        except TimeoutError:
            hop = endpoint.label
            if connect_timeout <= left:
                reason = f"could not connect to {hop} within {connect_timeout:g} s (connect timeout)"
            else:
                reason = (
                    f"could not connect to {hop} within the {total:g} s total timeout"
                    " (DNS, connecting and the TLS handshake count); nothing was sent"
                )
            raise HttpFailure("timeout", reason) from None
        except socket.gaierror:
            raise HttpFailure("network", f"cannot resolve host {endpoint.host} (DNS lookup failed)") from None
        except ConnectionRefusedError:
            raise HttpFailure("network", f"connection refused by {endpoint.label} (nothing listening?)") from None
        except UnicodeError:
            raise HttpFailure("network", f"cannot resolve host {endpoint.host} (not a valid host name)") from None
        except ssl.SSLCertVerificationError as exc:
            raise HttpFailure("network", _untrusted(endpoint, exc)) from None
        except ssl.SSLError as exc:
            raise HttpFailure("network", f"TLS handshake with {endpoint.label} failed ({exc.reason or exc})") from None
        except OSError as exc:
            raise HttpFailure("network", f"cannot connect to {endpoint.label} ({exc.strerror or exc})") from None
        conn.fresh_tls = endpoint.tls is not None
        return conn  # asyncio turns Nagle off for TCP: small requests leave at once

    def close(self) -> None:
        for connections in self._idle.values():
            for conn in connections:
                conn._close()
        self._idle.clear()


def _untrusted(endpoint: Endpoint, exc: ssl.SSLCertVerificationError) -> str:
    """Why a certificate was refused, and the setting that would change it."""
    why = exc.verify_message or exc.reason or str(exc)
    return (
        f"TLS handshake with {endpoint.label} failed: its certificate is not trusted ({why}); give the CA that"
        " signed it as the target's tls.ca_file (or, for a development server only, tls.verify: false)"
    )
