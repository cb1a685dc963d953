"""The sender's HTTP/1.1 client against raw servers that answer byte by byte as told: keep-alive,
chunked and unsized answers, interim answers, garbage, and connections closed under it."""

from __future__ import annotations

import asyncio
import socket

import pytest

from emulator.delivery.http import Endpoint, Pool, TransportError

REQUEST_BODY = b'{"id":"e1"}'


class RawServer:
    """A TCP server that reads one request at a time and writes back the next scripted answer."""

    def __init__(self, answers: list[bytes | None], host: str = "127.0.0.1") -> None:
        self.answers = answers  # None: close the connection without answering; b"": never answer
        self.host = host
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, self.host, 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}/hooks?x=1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.pop(0)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


async def post(pool: Pool, url: str, read: float = 2.0, total: float = 5.0):
    endpoint = Endpoint.parse(url)
    request = endpoint.head + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%b" % (
        len(REQUEST_BODY),
        REQUEST_BODY,
    )
    return await pool.post(endpoint, request, 1.0, read, total, 4096)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_connections_are_kept_alive_and_reused():
    async with RawServer([OK] * 5) as server:
        pool = Pool()
        for _ in range(5):
            response = await post(pool, server.url)
            assert response.status == 200 and response.body == b"ok"
        assert server.connections == 1 and len(server.requests) == 5
        assert server.requests[0].startswith(b"POST /hooks?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
        assert server.requests[0].endswith(b"\r\n\r\n" + REQUEST_BODY)
        pool.close()


async def test_connection_close_answers_and_unsized_bodies():
    answers = [
        b"HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 4\r\n\r\ndone",
        b"HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nuntil the end",
    ]
    async with RawServer(answers) as server:
        pool = Pool()
        first = await post(pool, server.url)
        assert first.status == 202 and first.body == b"done"
        second = await post(pool, server.url)  # a new connection: the first was closed
        assert second.status == 200 and second.headers["X-A"] == "1"
        assert server.connections == 2
        pool.close()


async def test_chunked_and_interim_answers():
    answers = [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    ]
    async with RawServer(answers) as server:
        pool = Pool()
        response = await post(pool, server.url)
        assert response.status == 200 and response.body == b"abcde"
        pool.close()


async def test_repeated_headers_are_joined():
    answers = [b"HTTP/1.1 500 Oops\r\nX-Err: a\r\nX-Err: b\r\nContent-Length: 0\r\n\r\n"]
    async with RawServer(answers) as server:
        pool = Pool()
        response = await post(pool, server.url)
        assert response.status == 500 and response.headers["X-Err"] == "a, b"
        pool.close()


async def test_garbage_is_a_malformed_response():
    async with RawServer([b"SMTP ready\r\n\r\n"]) as server:
        with pytest.raises(TransportError, match="malformed response") as info:
            await post(Pool(), server.url)
        assert info.value.kind == "network"


async def test_closed_without_answering():
    async with RawServer([None]) as server:
        with pytest.raises(TransportError, match="closed the connection without answering"):
            await post(Pool(), server.url)


async def test_a_post_is_never_sent_twice_when_a_kept_connection_drops():
    async with RawServer([OK, None, OK]) as server:
        pool = Pool()
        await post(pool, server.url)
        # the receiver drops the kept connection after reading the next request: it may have acted on
        # it, so the client reports the attempt as failed (the retry policy decides) rather than resend
        with pytest.raises(TransportError, match="closed the connection without answering"):
            await post(pool, server.url)
        response = await post(pool, server.url)  # and the next attempt takes a new connection
        assert response.status == 200 and server.connections == 2 and len(server.requests) == 3
        pool.close()


async def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = RawServer([OK], host="::1")
        await server.__aenter__()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        response = await post(Pool(), server.url)
        assert response.status == 200
        assert server.requests[0].split(b"\r\n")[1].startswith(b"Host: [::1]:")
    finally:
        await server.__aexit__()


async def test_a_kept_connection_times_out_each_request_by_its_own_timeouts():
    """A connection's one timer, armed by a request with a long read timeout, does not delay the
    timeout of a later request with a short one, nor cut short a later request's own."""
    async with RawServer([OK, b"", OK, b""]) as server:
        pool = Pool()
        await post(pool, server.url, read=30.0, total=60.0)
        loop = asyncio.get_running_loop()
        began = loop.time()
        with pytest.raises(TransportError, match=r"no answer within 0\.3 s"):
            await post(pool, server.url, read=0.3)
        assert 0.3 <= loop.time() - began < 5
        assert server.connections == 1  # the same connection: its timer was armed for 30 s

    async with RawServer([OK, b"", OK]) as server:
        pool = Pool()
        await post(pool, server.url, read=0.3)  # arms the timer for 0.3 s from now
        began = loop.time()  # later: the timer fires before this request is overdue, and waits on
        with pytest.raises(TransportError, match=r"no answer within 0\.3 s"):
            await post(pool, server.url, read=0.3)
        assert loop.time() - began >= 0.3
        assert server.connections == 1
        pool.close()


async def test_a_trickling_answer_hits_the_total_timeout():
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        try:
            for _ in range(1000):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.05)  # the receiver's pace, not the test's: each byte resets the read timer
        except ConnectionError:
            pass

    server = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    endpoint = Endpoint.parse(f"http://127.0.0.1:{port}/")
    request = endpoint.head + b"Content-Length: 0\r\n\r\n"
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(TransportError, match="total timeout"):
        await Pool().post(endpoint, request, 1.0, 0.5, 0.6, 200_000)
    assert loop.time() - began < 2
    server.close()


def test_urls_are_taken_apart_once():
    e = Endpoint.parse("https://hooks.example.com/a%20b/c?d=e&f")
    assert (e.scheme, e.host, e.port, e.label) == ("https", "hooks.example.com", 443, "hooks.example.com:443")
    assert e.head == b"POST /a%20b/c?d=e&f HTTP/1.1\r\nHost: hooks.example.com\r\n"
    assert Endpoint.parse("http://b\u00fccher.example/").host == "xn--bcher-kva.example"
    with pytest.raises(ValueError):
        Endpoint.parse("ftp://x/")
