"""The sender over real sockets on loopback: TLS with a CA made here, mTLS, a CONNECT proxy, a
handshake slower than the total timeout, and an answer cut short. Every test counts requests where
they land, at the receiver, not what the client believes it sent."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from yarl import URL

from emulator.delivery.config import load_config
from emulator.delivery.flags import tls_flags
from emulator.delivery.http import Endpoint, Pool, ProxyError, TransportError, proxy_for
from emulator.delivery.sender import Result, Sender
from emulator.delivery.targets import Target, build_target
from emulator.errors import InvalidError, Problem
from emulator.server.targets import check_shape

WAIT = 5.0  # the longest any event below is waited for: a hang fails the test instead of the suite
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


# certificates made for the test ------------------------------------------------------------------


@dataclass
class Pki:
    """A CA, a server certificate for 127.0.0.1 signed by it, a client certificate, and a stranger CA."""

    folder: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path

    def server_context(self, client_ca: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_cert, self.server_key)
        if client_ca:  # mTLS: no certificate from this CA, no connection
            context.load_verify_locations(self.ca)
            context.verify_mode = ssl.CERT_REQUIRED
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _authority(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    usage = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, common_name: str, server: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if server:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    purpose = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write(path: Path, cert: x509.Certificate | None = None, key: ec.EllipticCurvePrivateKey | None = None) -> Path:
    data = b""
    if cert is not None:
        data += cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca, ca_key = _authority("test CA")
    other, _ = _authority("some other CA")
    server, server_key = _leaf(ca, ca_key, "localhost", server=True)
    client, client_key = _leaf(ca, ca_key, "webhook client", server=False)
    return Pki(
        folder,
        _write(folder / "ca.pem", ca),
        _write(folder / "server.pem", server),
        _write(folder / "server.key", key=server_key),
        _write(folder / "client.pem", client),
        _write(folder / "client.key", key=client_key),
        _write(folder / "other-ca.pem", other),
    )


# servers -------------------------------------------------------------------------------------------


class _Server:
    """A loopback server that, when done, closes the connections it still holds (3.11 has no close_clients)."""

    context: ssl.SSLContext | None = None

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task] = set()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in self.tasks:
            task.cancel()
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.writers.add(writer)
        try:
            await self._serve(reader, writer)
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _open(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(host, port)
        self.writers.add(writer)
        return reader, writer


class Receiver(_Server):
    """A webhook receiver (TLS if given a context) that counts the requests that reach it."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.context = context
        self.requests: list[bytes] = []
        self.clients: list[dict | None] = []  # the client certificate of each connection (mTLS)

    @property
    def url(self) -> str:
        return f"{'https' if self.context else 'http'}://127.0.0.1:{self.port}/hooks"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.clients.append(writer.get_extra_info("peercert"))
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(v) for k, _, v in _fields(head) if k == "content-length")
                self.requests.append(head + await reader.readexactly(length))
                writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass


class ConnectProxy(_Server):
    """An HTTP proxy: CONNECT tunnels (counted) and absolute-form requests (counted), bytes piped as they come."""

    def __init__(self, credentials: str = "") -> None:
        super().__init__()
        self.credentials = credentials  # user:password it insists on, if any
        self.connects: list[str] = []  # host:port of each tunnel opened
        self.forwarded: list[str] = []  # the absolute URL of each plain request
        self.authorizations: list[str | None] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        fields = {k: v for k, _, v in _fields(head)}
        self.authorizations.append(fields.get("proxy-authorization"))
        if self.credentials and fields.get("proxy-authorization") != _basic(self.credentials):
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n")
            return
        if method == "CONNECT":
            self.connects.append(target)
            host, port = target.rsplit(":", 1)
            up_reader, up_writer = await self._open(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        else:  # absolute form: pass it on in origin form, without the proxy's own header
            self.forwarded.append(target)
            url = URL(target)
            up_reader, up_writer = await self._open(url.host or "", url.port or 80)
            lines = head.split(b"\r\n")
            lines[0] = f"{method} {url.raw_path_qs} HTTP/1.1".encode()
            up_writer.write(b"\r\n".join(line for line in lines if not line.lower().startswith(b"proxy-")))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


class SlowFront(_Server):
    """Accepts a connection at once, then waits ``delay`` seconds before passing it on to ``port``:
    to the client, a receiver whose TLS handshake takes that long."""

    def __init__(self, port: int, delay: float) -> None:
        super().__init__()
        self.upstream = port
        self.delay = delay
        self.done = asyncio.Event()  # set when a connection was passed on and has ended

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/hooks"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(self.delay)  # the receiver's slowness, not the test's: the test waits on `done`
        up_reader, up_writer = await self._open("127.0.0.1", self.upstream)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        self.done.set()


def _fields(head: bytes) -> list[tuple[str, str, str]]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(k.strip().lower(), sep, v.strip()) for k, sep, v in (line.partition(":") for line in lines if line)]


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


# helpers -------------------------------------------------------------------------------------------


def target(registry, url: str, **spec) -> Target:
    return build_target({"name": "t", "url": url, "vendor": "keycloak", "retry": "none", **spec}, registry)


async def send(t: Target, sender: Sender | None = None) -> Result:
    """One attempt, as a run makes it; the sender is closed after unless the caller keeps it."""
    own = sender is None
    sender = sender or Sender()
    try:
        return await asyncio.wait_for(sender.attempt(t, "evt-1", b'{"id":"evt-1"}', 1_700_000_000), WAIT)
    finally:
        if own:
            await sender.close()


# TLS -----------------------------------------------------------------------------------------------


async def test_a_receiver_signed_by_the_targets_ca_file_is_trusted(registry, pki):
    async with Receiver(pki.server_context()) as receiver:
        result = await send(target(registry, receiver.url, tls={"ca_file": str(pki.ca)}))
        assert result.ok and result.status == 200, result.error
        assert len(receiver.requests) == 1


async def test_verify_false_takes_a_certificate_nobody_vouches_for(registry, pki):
    async with Receiver(pki.server_context()) as receiver:
        t = target(registry, receiver.url.replace("127.0.0.1", "localhost"), tls={"verify": False})
        assert "development servers only" in t.notice  # said once per run, loudly
        result = await send(t)
        assert result.ok, result.error
        assert len(receiver.requests) == 1


async def test_a_wrong_ca_fails_with_a_reason_and_nothing_arrives(registry, pki):
    async with Receiver(pki.server_context()) as receiver:
        for tls in ({"ca_file": str(pki.other_ca)}, None):  # a stranger CA, and the system's store
            result = await send(target(registry, receiver.url, tls=tls))
            assert not result.ok and result.failure is not None and result.failure.kind == "network"
            assert "certificate is not trusted" in (result.error or "")
            assert "tls.ca_file" in (result.error or "")
        assert receiver.requests == []


async def test_mtls_the_client_certificate_is_shown_and_required(registry, pki):
    async with Receiver(pki.server_context(client_ca=True)) as receiver:
        mtls = {"ca_file": str(pki.ca), "client_cert": str(pki.client_cert), "client_key": str(pki.client_key)}
        result = await send(target(registry, receiver.url, tls=mtls))
        assert result.ok, result.error
        assert len(receiver.requests) == 1
        subject = dict(field[0] for field in receiver.clients[-1]["subject"])
        assert subject["commonName"] == "webhook client"

        without = await send(target(registry, receiver.url, tls={"ca_file": str(pki.ca)}))
        assert not without.ok and without.failure is not None and without.failure.kind == "network"
        assert "client certificate" in (without.error or "")
        assert len(receiver.requests) == 1  # the one with the certificate, and no other


def test_tls_files_that_cannot_work_are_named_before_anything_is_sent(registry, pki, tmp_path):
    url = "https://127.0.0.1:1/hooks"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    cases = [
        ({"ca_file": str(tmp_path / "missing.pem")}, f"tls.ca_file: no file {tmp_path / 'missing.pem'}"),
        ({"ca_file": str(tmp_path)}, "is a folder, not a file"),
        ({"ca_file": str(garbage)}, f"{garbage} holds no PEM certificate"),
        ({"client_cert": str(pki.client_cert), "client_key": str(pki.server_key)}, "does not belong to"),
        ({"client_cert": str(pki.client_cert)}, f"{pki.client_cert} must hold a PEM certificate and its key"),
        ({"client_key": str(pki.client_key)}, "give client_cert too"),
        ({"verify": False, "ca_file": str(pki.ca)}, "give one or the other"),
    ]
    for tls, message in cases:
        with pytest.raises(Problem) as info:
            target(registry, url, tls=tls)
        assert str(info.value).startswith("target 't': tls"), str(info.value)
        assert message in str(info.value)
    with pytest.raises(Problem, match="the url is http://"):
        target(registry, "http://127.0.0.1:1/hooks", tls={"verify": False})


def test_config_paths_are_next_to_the_file_and_flags_are_absolute(registry, pki, tmp_path, monkeypatch):
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_bytes(pki.ca.read_bytes())
    config = tmp_path / "emulator.yaml"
    config.write_text(
        "targets:\n  - name: secure\n    url: https://127.0.0.1:1/hooks\n    vendor: keycloak\n"
        "    tls: {ca_file: certs/ca.pem}\n  - name: missing\n    url: https://127.0.0.1:1/hooks\n"
        "    vendor: keycloak\n    tls:\n      client_cert: certs/client.pem\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_config(config)
    secure = build_target(loaded.targets[0], registry, where=loaded.where(0))
    assert secure.tls.ca_file == str(tmp_path / "certs" / "ca.pem")
    with pytest.raises(Problem) as info:  # the place in the file, the target and the file
        build_target(loaded.targets[1], registry, where=loaded.where(1))
    assert str(info.value) == (
        f"{config}:10:20: target 'missing': tls.client_cert: no file {tmp_path / 'certs' / 'client.pem'}"
    )

    class Flags:
        tls_ca_file, tls_client_cert, tls_client_key, tls_no_verify = "ca.pem", "~/c.pem", None, False

    assert tls_flags(Flags()) == {"ca_file": str(elsewhere / "ca.pem"), "client_cert": str(Path.home() / "c.pem")}


def test_targets_from_the_api_may_turn_checks_off_but_name_no_files(pki):
    spec = {"name": "dev", "url": "https://localhost:8443/hooks", "vendor": "keycloak"}
    check_shape({**spec, "tls": {"verify": False}})
    for key in ("ca_file", "client_cert", "client_key"):
        with pytest.raises(InvalidError) as info:  # a 422 through the API
            check_shape({**spec, "tls": {"client_cert": str(pki.client_cert), key: str(pki.ca)}}, "targets[0]")
        assert "--config file" in info.value.detail


# the total timeout ----------------------------------------------------------------------------------


async def test_a_handshake_slower_than_the_total_timeout_sends_nothing(registry, pki):
    async with Receiver(pki.server_context()) as receiver, SlowFront(receiver.port, delay=2.0) as front:
        t = target(registry, front.url, tls={"ca_file": str(pki.ca)}, timeouts={"connect": "10s", "total": "1s"})
        loop = asyncio.get_running_loop()
        began = loop.time()
        result = await send(t)
        assert loop.time() - began < 1.5
        assert not result.ok and result.failure is not None and result.failure.kind == "timeout"
        assert "1 s total timeout" in (result.error or "") and "nothing was sent" in (result.error or "")
        await asyncio.wait_for(front.done.wait(), WAIT)  # the handshake went on, late, to the receiver
        assert receiver.requests == []


async def test_the_connect_timeout_covers_the_tls_handshake(registry, pki):
    async with Receiver(pki.server_context()) as receiver, SlowFront(receiver.port, delay=2.0) as front:
        t = target(registry, front.url, tls={"ca_file": str(pki.ca)}, timeouts={"connect": "200ms", "total": "5s"})
        result = await send(t)
        assert result.failure is not None and result.failure.kind == "timeout"
        assert "within 0.2 s (connect timeout)" in (result.error or "")
        assert receiver.requests == []


async def test_a_request_is_never_written_after_its_deadline():
    async with Receiver() as receiver:
        pool = Pool()
        endpoint = Endpoint.parse(receiver.url)
        loop = asyncio.get_running_loop()
        conn = await pool._connect(endpoint, endpoint.key, 1.0, 1.0, loop.time() + 1.0)
        with pytest.raises(TransportError, match="nothing was sent") as info:  # connected, but the time is up
            await conn.exchange(endpoint.head + b"Content-Length: 0\r\n\r\n", 4096, 1.0, loop.time())
        assert info.value.kind == "timeout" and conn.closed
        response = await pool.post(endpoint, endpoint.head + b"Content-Length: 0\r\n\r\n", 1.0, 1.0, 1.0, 4096)
        assert response.status == 200 and len(receiver.requests) == 1  # only the request made in time
        pool.close()


# answers cut short ---------------------------------------------------------------------------------


async def _answer_then_close(answer: bytes, limit: int = 4096) -> TransportError | bytes:
    """Post once to a server that reads the request, writes ``answer`` and closes."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    endpoint = Endpoint.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks")
    try:
        response = await Pool().post(endpoint, endpoint.head + b"Content-Length: 0\r\n\r\n", 1.0, 2.0, 3.0, limit)
        return response.body
    except TransportError as exc:
        return exc
    finally:
        server.close()
        assert len(received) == 1


async def test_a_body_shorter_than_its_content_length_is_a_network_failure(registry):
    short = await _answer_then_close(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
    assert isinstance(short, TransportError) and short.kind == "network"
    assert short.reason == "connection closed after 10 of 100 body bytes (HTTP 200 cut short)"

    chunked = await _answer_then_close(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
    assert isinstance(chunked, TransportError) and "before the chunked answer (HTTP 200) ended" in chunked.reason

    # beyond the excerpt limit the rest is never read, so a long answer cut short is still an answer
    long = await _answer_then_close(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"y" * 8192, limit=4096)
    assert long == b"y" * 4096

    unsized = await _answer_then_close(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")  # ends when the connection does
    assert unsized == b"until the end"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    result = await send(target(registry, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks"))
    server.close()
    assert not result.ok and result.status is None and result.failure is not None
    assert result.failure.kind == "network" and "10 of 100 body bytes" in (result.error or "")


# proxies -------------------------------------------------------------------------------------------


async def test_an_https_target_goes_through_the_proxys_connect_tunnel(registry, pki, monkeypatch):
    async with Receiver(pki.server_context()) as receiver, ConnectProxy("me:s3cret") as proxy:
        proxy_url = URL(proxy.url).with_user("me").with_password("s3cret")
        monkeypatch.setenv("HTTPS_PROXY", str(proxy_url))
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # not for https:// targets
        t = target(registry, receiver.url, tls={"ca_file": str(pki.ca)}, headers={"X-Echo": "1"})
        sender = Sender()
        try:
            first, second = await send(t, sender), await send(t, sender)
        finally:
            await sender.close()
        assert first.ok and second.ok, (first.error, second.error)
        assert proxy.connects == [f"127.0.0.1:{receiver.port}"]  # one tunnel, kept alive for both
        assert proxy.authorizations == [_basic("me:s3cret")]
        assert len(receiver.requests) == 2  # TLS end to end: the proxy saw no request, only bytes
        assert b"Proxy-Authorization" not in receiver.requests[0]


async def test_an_http_target_goes_to_the_proxy_in_absolute_form(registry, monkeypatch):
    async with Receiver() as receiver, ConnectProxy() as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        result = await send(target(registry, receiver.url))
        assert result.ok, result.error
        assert proxy.forwarded == [receiver.url] and proxy.connects == []
        assert len(receiver.requests) == 1


async def test_no_proxy_goes_direct(registry, pki, monkeypatch):
    async with Receiver(pki.server_context()) as receiver, ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        for bypass in ("127.0.0.1", f"localhost,.example.com,127.0.0.1:{receiver.port}", "*"):
            monkeypatch.setenv("NO_PROXY", bypass)
            result = await send(target(registry, receiver.url, tls={"ca_file": str(pki.ca)}))
            assert result.ok, result.error
        assert proxy.connects == [] and proxy.authorizations == []
        assert len(receiver.requests) == 3


async def test_a_proxy_that_wants_credentials_is_a_failure_that_says_so(registry, pki, monkeypatch):
    async with Receiver(pki.server_context()) as receiver, ConnectProxy("me:s3cret") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        result = await send(target(registry, receiver.url, tls={"ca_file": str(pki.ca)}))
        assert not result.ok and result.failure is not None and result.failure.kind == "network"
        assert "407" in (result.error or "") and "put user:password@ before the host" in (result.error or "")
        assert receiver.requests == []


async def test_a_proxy_this_client_cannot_use_is_not_ignored(registry, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://me:s3cret@127.0.0.1:1080")
    with pytest.raises(ProxyError, match="only http:// proxies") as info:
        proxy_for("https://127.0.0.1:8443/hooks")
    assert "s3cret" not in str(info.value)
    result = await send(target(registry, "https://127.0.0.1:8443/hooks"))
    assert not result.ok and "only http:// proxies" in (result.error or "")
