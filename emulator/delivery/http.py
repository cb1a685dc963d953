"""A lean HTTP/1.1 client for webhook POSTs: keep-alive connections, bounded reads, plain reasons.

The sender does one thing a million times: POST known bytes and read a short answer. A general
client spends most of its time on what this never needs (cookies, redirects, streaming uploads),
so this one writes each request as one buffer over asyncio and parses the answer with httptools
(llhttp, the parser Node.js uses). Timeouts are the target's: connect (TCP and TLS handshake),
read (the longest silence while waiting for the answer) and total, which covers everything from
the DNS lookup to the last byte. A request is never written once its total time is up: when
connecting or the handshake is too slow, the receiver gets nothing, so the retry is no duplicate.

A proxy named by ``HTTP_PROXY`` / ``HTTPS_PROXY`` (``NO_PROXY`` excepted, as curl and Python's
urllib read them) is used the standard way: an https:// target through a ``CONNECT`` tunnel, so
TLS still runs end to end with the target's own settings; an http:// target as an absolute-form
request to the proxy. Nothing here raises for what a receiver or a proxy does: every outcome is a
``Response`` or an ``TransportError`` with a reason for people.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import urllib.request
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field

import httptools
from yarl import URL

from emulator.delivery.tls import default_context
from emulator.errors import EmulatorError

MAX_IDLE = 64  # idle keep-alive connections kept per host
MAX_IDLE_SECONDS = 4.0  # below common server keep-alive timeouts (uvicorn 5 s, nginx 75 s)
MAX_PROXY_ANSWER = 16_384  # the head of a proxy's answer to CONNECT, at most
MAX_HEAD = 65_536  # bytes of an answer's status line and headers (nginx allows 32 KB; Node.js 16 KB)
MAX_HEADERS = 200  # header fields in one answer
BODY_CHUNK = 1024 * 1024  # a body given apart from its head is written this much at a time, as the socket takes it


class TransportError(EmulatorError):
    """No usable answer: ``kind`` is ``timeout`` or ``network``; the message says what happened."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class ProxyError(EmulatorError):
    """A proxy variable this client cannot use (a SOCKS or https:// proxy, a URL that is not one)."""


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes  # at most ``limit`` bytes: the rest of a long answer is never read


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy from the environment: where it listens and the credentials its URL carried."""

    host: str
    port: int
    authorization: str  # the Proxy-Authorization value ("Basic ..."), or "" for none
    variable: str  # where it came from (HTTPS_PROXY), for messages
    password: str = field(default="", repr=False)  # kept out of anything recorded

    @property
    def label(self) -> str:
        """host:port, for messages: never the credentials."""
        return f"{self.host}:{self.port}"


def proxy_for(url: str) -> Proxy | None:
    """The proxy the environment names for ``url``, or None to connect directly.

    ``http_proxy`` / ``https_proxy`` (either case; lowercase wins, and ``HTTP_PROXY`` is ignored in
    a CGI request, as urllib does) and ``no_proxy`` (host names, domain suffixes, ``host:port``,
    ``*``; no CIDR ranges) are read with urllib's own rules, so the emulator agrees with Python's
    other clients. Raises ProxyError for a proxy this client cannot use, rather than ignore it.
    """
    u = URL(url)
    proxies = urllib.request.getproxies_environment()
    value = proxies.get(u.scheme or "")
    if not value or not u.raw_host:
        return None
    host = u.raw_host
    port = u.port or (443 if u.scheme == "https" else 80)
    named = f"[{host}]" if ":" in host else host
    # urllib's own NO_PROXY rules (in the module since Python 2, not in its type stubs)
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if any(bypass(h, proxies) for h in (f"{named}:{port}", host)):
        return None
    variable = f"{u.scheme.upper()}_PROXY"
    try:
        proxy = URL(value if "://" in value else f"http://{value}")
        proxy_host = proxy.raw_host
    except (ValueError, TypeError):
        # not the value itself: it may carry a password
        raise ProxyError(f"{variable} is not a proxy URL such as http://proxy.example:3128") from None
    if proxy.scheme != "http" or not proxy_host:
        shown = f"{proxy.scheme}://{proxy_host or ''}" + (f":{proxy.port}" if proxy.explicit_port else "")
        raise ProxyError(
            f"{variable}: the proxy {shown} cannot be used; only http:// proxies are supported"
            " (an https:// target still gets TLS end to end through an http:// proxy's CONNECT tunnel)"
        )
    authorization = ""
    if proxy.user is not None:
        pair = f"{proxy.user}:{proxy.password or ''}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode("ascii")
    return Proxy(proxy_host, proxy.port or 80, authorization, variable, proxy.password or "")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A URL taken apart once: where to connect and the fixed start of every request."""

    scheme: str
    host: str
    port: int
    head: bytes  # request line and Host header (and Proxy-Authorization through an http:// proxy)
    label: str  # host:port, for messages
    tls: ssl.SSLContext | None = field(default=None, compare=False)
    proxy: Proxy | None = None
    key: tuple[Hashable, ...] = ()  # what a kept-alive connection may be reused for

    @classmethod
    def parse(
        cls, url: str, tls: ssl.SSLContext | None = None, tls_key: Hashable = None, proxy: Proxy | None = None
    ) -> Endpoint:
        """``tls``: the context for an https:// URL (default: the system's); ``tls_key`` tells apart
        connections made with different TLS settings; ``proxy``: go through it (see ``proxy_for``)."""
        u = URL(url)
        if u.scheme not in ("http", "https") or not u.raw_host:
            raise ValueError(f"expected an http:// or https:// URL with a host, got {url!r}")
        host = u.raw_host
        port = u.port if u.port is not None else (443 if u.scheme == "https" else 80)
        authority = f"[{host}]" if ":" in host else host
        if u.explicit_port:
            authority += f":{port}"
        target = u.raw_path_qs or "/"
        extra = ""
        if proxy is not None and u.scheme == "http":  # absolute form: the proxy forwards it
            target = f"http://{authority}{target}"
            if proxy.authorization:
                extra = f"Proxy-Authorization: {proxy.authorization}\r\n"
        head = f"POST {target} HTTP/1.1\r\nHost: {authority}\r\n{extra}".encode("ascii")
        if u.scheme == "https":
            tls = tls or default_context()
        else:
            tls, tls_key = None, None
        proxy_key = (proxy.host, proxy.port, proxy.authorization) if proxy else None
        key = (u.scheme, host, port, tls_key, proxy_key)
        return cls(u.scheme, host, port, head, f"{host}:{port}", tls, proxy, key)

    def connect_request(self) -> bytes:
        """The CONNECT request that opens a tunnel to this endpoint through its proxy."""
        assert self.proxy is not None
        authority = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        auth = f"Proxy-Authorization: {self.proxy.authorization}\r\n" if self.proxy.authorization else ""
        return f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{auth}\r\n".encode("ascii")


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one request at a time."""

    def __init__(self, pool: Pool, key: tuple[Hashable, ...]) -> None:
        self.pool = pool
        self.key = key
        # the loop it is made in, and used on: asked once (Python 3.11 asks the system for the
        # process id each time the running loop is asked for, several times per request otherwise)
        self.loop = asyncio.get_running_loop()
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
        self.head_bytes = 0  # bytes read while the answer's head was not complete
        self.last_activity = 0.0
        self.idle_since = 0.0
        self.fresh_tls = False  # a TLS connection whose first request is under way
        self.paused = False  # the transport's buffer is full: wait before writing more of a body
        self.resumed: asyncio.Future[None] | None = None
        # the exchange under way's timeouts, and the one timer that watches them (see ``_watch``)
        self.read_timeout = 0.0
        self.deadline = 0.0
        self.timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self.last_activity = self.loop.time()  # the receiver is taking the body: not silent
        if self.resumed is not None and not self.resumed.done():
            self.resumed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        self.last_activity = self.loop.time()
        if self.parser is None or self.waiter is None or self.waiter.done():
            self._close()  # bytes nobody asked for: this connection cannot be trusted again
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail("network", f"malformed response ({exc})")
            return
        if not self.headers_done:  # a receiver sending endless headers must not take our memory
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD:
                self._fail("network", f"the answer's headers go on past {MAX_HEAD // 1024} KB")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._unwatch()
        if self.resumed is not None and not self.resumed.done():
            self.resumed.set_result(None)
        waiter = self.waiter

        if waiter is None or waiter.done():
            return
        if self.headers_done and self.status >= 200:
            short = self._cut_short()
            if short:
                waiter.set_exception(TransportError("network", short))
            else:
                self._finish(keep=False)  # an answer without a length ends when the connection does
        elif isinstance(exc, ConnectionResetError):
            waiter.set_exception(TransportError("network", "the connection was reset by the receiver"))
        elif self.fresh_tls and not self.got_bytes:
            # TLS 1.3 finishes the client's handshake before the server checks the client's certificate:
            # a refused certificate shows only as a close
            waiter.set_exception(
                TransportError(
                    "network",
                    "the receiver closed the TLS connection without answering (a receiver that requires a client"
                    " certificate, or does not accept the one given, does this: see the target's tls.client_cert)",
                )
            )
        else:
            waiter.set_exception(TransportError("network", "the receiver closed the connection without answering"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADERS:
            self._fail("network", f"the answer has more than {MAX_HEADERS} headers")
            return
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
        self.head_bytes = 0
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
            self.waiter.set_exception(TransportError(kind, reason))
        self._close()

    def _close(self) -> None:
        self.closed = True
        self._unwatch()
        if self.transport is not None:
            self.transport.close()

    async def exchange(
        self, request: bytes, limit: int, read_timeout: float, deadline: float, body: bytes = b""
    ) -> Response:
        loop = self.loop
        if loop.time() >= deadline:  # the last moment to decide: a request written now might be answered too late
            self._close()
            raise TransportError("timeout", "the total timeout was up before writing the request; nothing was sent")
        self._reset_message()
        self.limit = limit
        self.got_bytes = False
        self.parser = httptools.HttpResponseParser(self)
        self.waiter = loop.create_future()
        self.last_activity = loop.time()
        assert self.transport is not None
        self.transport.write(request)
        self._watch(loop, read_timeout, deadline)
        try:
            if body:
                await self._write_body(body, self.waiter)
            return await self.waiter
        finally:
            self.waiter = None
            self.parser = None
            self.fresh_tls = False

    async def _write_body(self, body: bytes, answer: asyncio.Future[Response]) -> None:
        """Write a large body as the socket takes it, a chunk at a time, so no second copy of it
        waits in the transport's buffer; stop as soon as the receiver has answered or failed."""
        view = memoryview(body)
        start = 0
        while start < len(view) and not answer.done() and not self.closed:
            if self.paused:
                self.resumed = asyncio.get_running_loop().create_future()
                await asyncio.wait((self.resumed, answer), return_when=asyncio.FIRST_COMPLETED)
                continue
            assert self.transport is not None
            self.transport.write(view[start : start + BODY_CHUNK])
            start += BODY_CHUNK

    def _watch(self, loop: asyncio.AbstractEventLoop, read_timeout: float, deadline: float) -> None:
        """Have the answer watched for a silence longer than ``read_timeout`` and for ``deadline``.

        One timer per connection rather than one per request: it stays armed from one exchange to
        the next, and when it fires during a later exchange it only checks that exchange and arms
        itself again for when that one could be overdue. A connection sending back to back thus
        sets a timer about once per read timeout, not for every request; one is set sooner only
        when an exchange could be overdue before the armed timer fires."""
        self.read_timeout, self.deadline = read_timeout, deadline
        due = min(self.last_activity + read_timeout, deadline)
        if self.timer is not None:
            if self.timer.when() <= due:
                return
            self.timer.cancel()
        self.timer = loop.call_at(due, self._check)

    def _unwatch(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _check(self) -> None:
        """Fires when the answer under way may be overdue: a silence longer than the read timeout,
        or the cap (and idles when no exchange is under way: the next one arms it again)."""
        self.timer = None
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= self.deadline:
            self._fail("timeout", "no complete answer in time (total timeout)")
        elif now - self.last_activity >= self.read_timeout:
            self._fail("timeout", f"no answer within {self.read_timeout:g} s (read timeout)")
        else:
            self.timer = loop.call_at(min(self.last_activity + self.read_timeout, self.deadline), self._check)


class _Tunnel(asyncio.Protocol):
    """A connection to a proxy while it answers CONNECT: the head of its answer, then nothing."""

    def __init__(self, proxy: Proxy, endpoint: str) -> None:
        self.about = f"the proxy {proxy.label} ({proxy.variable})"
        self.endpoint = endpoint
        self.buffer = b""
        self.answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        if self.answer.done():
            return
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_PROXY_ANSWER:
                self._refuse("answered CONNECT with an overlong head")
            return
        line = self.buffer[: self.buffer.find(b"\r\n")].decode("latin-1")
        parts = line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            self._refuse(f"answered CONNECT with {line[:80]!r}, not HTTP")
        elif not 200 <= int(parts[1]) < 300:
            hint = " (it wants credentials: put user:password@ before the host in the proxy URL)"
            self._refuse(f"refused the tunnel to {self.endpoint}: HTTP {line[9:80]}{hint if parts[1] == '407' else ''}")
        elif end + 4 != len(self.buffer):
            self._refuse("sent bytes of its own after opening the tunnel")
        else:
            self.answer.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._refuse("closed the connection before opening the tunnel")

    def _refuse(self, what: str) -> None:
        if not self.answer.done():
            self.answer.set_exception(TransportError("network", f"{self.about} {what}"))


class Pool:
    """Keep-alive connections per endpoint (host, TLS settings, proxy), shared by all targets of a run."""

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
        body: bytes = b"",
    ) -> Response:
        """Send ``request`` (head and body, one buffer; or the head, with a large ``body`` apart) and
        return the answer, or raise TransportError.

        ``total_timeout`` runs from this call: DNS, connecting, the proxy's tunnel, the TLS handshake,
        writing and reading all count, and the request is not written once it is up.
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
                return await self._use(conn, request, limit, read_timeout, deadline, idle, body)
            conn._close()
        conn = await self._connect(endpoint, key, connect_timeout, total_timeout, deadline)
        return await self._use(conn, request, limit, read_timeout, deadline, idle, body)

    async def _use(
        self,
        conn: _Connection,
        request: bytes,
        limit: int,
        read_timeout: float,
        deadline: float,
        idle: list[_Connection],
        body: bytes = b"",
    ) -> Response:
        response = await conn.exchange(request, limit, read_timeout, deadline, body)
        if not conn.closed and len(idle) < MAX_IDLE:
            conn.idle_since = conn.loop.time()
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
        proxy = endpoint.proxy
        # who a failure is about: the proxy until it has opened the tunnel, then the target itself
        hops = [f"the proxy {proxy.label} ({proxy.variable})" if proxy else endpoint.label]
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancellation that arrives as
            # the connection fails (a refused port fails at once), and the worker would never stop
            async with asyncio.timeout(min(connect_timeout, left)):
                if proxy is None:
                    await loop.create_connection(
                        lambda: conn,
                        endpoint.host,
                        endpoint.port,
                        ssl=endpoint.tls,
                        server_hostname=endpoint.host if endpoint.tls else None,
                    )
                elif endpoint.tls is None:  # http:// through the proxy: absolute-form requests to it
                    await loop.create_connection(lambda: conn, proxy.host, proxy.port)
                else:
                    await self._tunnel(endpoint, conn, hops)
        except TimeoutError:
            hop = hops[-1]
            if connect_timeout <= left:
                reason = f"could not connect to {hop} within {connect_timeout:g} s (connect timeout)"
            else:
                reason = (
                    f"could not connect to {hop} within the {total:g} s total timeout"
                    " (DNS, connecting and the TLS handshake count); nothing was sent"
                )
            raise TransportError("timeout", reason) from None
        except socket.gaierror:
            host = proxy.host if proxy else endpoint.host  # through a proxy, the proxy looks the target up
            raise TransportError("network", f"cannot resolve host {host} (DNS lookup failed)") from None
        except ConnectionRefusedError:
            raise TransportError("network", f"connection refused by {hops[-1]} (nothing listening?)") from None
        except UnicodeError:
            raise TransportError("network", f"cannot resolve host {endpoint.host} (not a valid host name)") from None
        except ssl.SSLCertVerificationError as exc:
            raise TransportError("network", _untrusted(endpoint, exc)) from None
        except ssl.SSLError as exc:
            raise TransportError(
                "network", f"TLS handshake with {endpoint.label} failed ({exc.reason or exc})"
            ) from None
        except OSError as exc:
            raise TransportError("network", f"cannot connect to {hops[-1]} ({exc.strerror or exc})") from None
        conn.fresh_tls = endpoint.tls is not None
        return conn  # asyncio turns Nagle off for TCP: small requests leave at once

    async def _tunnel(self, endpoint: Endpoint, conn: _Connection, hops: list[str]) -> None:
        """Open a CONNECT tunnel through the endpoint's proxy, then TLS inside it, end to end with the target."""
        assert endpoint.proxy is not None and endpoint.tls is not None
        loop = asyncio.get_running_loop()
        tunnel = _Tunnel(endpoint.proxy, endpoint.label)
        transport, _ = await loop.create_connection(lambda: tunnel, endpoint.proxy.host, endpoint.proxy.port)
        try:
            transport.write(endpoint.connect_request())
            await tunnel.answer
            hops.append(endpoint.label)
            tls = await loop.start_tls(transport, conn, endpoint.tls, server_hostname=endpoint.host)
        except BaseException:
            transport.close()
            raise
        if tls is None:  # the proxy closed the connection during the handshake
            raise TransportError(
                "network", f"the proxy {endpoint.proxy.label} closed the tunnel during the TLS handshake"
            )
        conn.connection_made(tls)  # start_tls hands the protocol its transport only through the return value

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
