"""Misbehaving receivers and heavy faults cannot take the server's memory (peak RSS, not timings).

``idp-emulator serve`` runs as a user starts it; its peak resident size (``VmHWM`` in
``/proc/PID/status``) must stay under 300 MB while a receiver sends headers without end, and while
runs post 64 MB bodies (the ``oversize`` fault) at a target's full concurrency.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from pathlib import Path

import pytest
from browser import Served

LIMIT_MB = 300
pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def post(url: str, body: dict) -> dict:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def wait_finished(served: Served, run_id: str, timeout: float = 60.0) -> dict:
    """The run's final state, waiting on the API's long answer rather than sleeping."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = get(f"{served.url}/api/runs/{run_id}")
        if info["status"] != "running":
            return info
        threading.Event().wait(0.05)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


class Receiver:
    """A raw TCP receiver in its own thread: ``endless`` answers with headers that never end,
    otherwise it reads each request's body (discarding it) and answers 200."""

    def __init__(self, endless: bool) -> None:
        self.endless = endless
        self.requests = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                while length:
                    length -= len(await reader.read(min(length, 1 << 20)))
                self.requests += 1
                if self.endless:
                    writer.write(b"HTTP/1.1 200 OK\r\n")
                    junk = b"X-Junk: " + b"a" * 8000 + b"\r\n"
                    while True:
                        writer.write(junk * 16)
                        await writer.drain()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        async def shutdown() -> None:
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def served(tmp_path):
    server = Served(tmp_path)
    yield server
    server.stop()


def test_a_receiver_sending_endless_headers_is_cut_off(served):
    receiver = Receiver(endless=True)
    try:
        target = {"url": receiver.url, "retry": "none", "concurrency": 8, "timeouts": {"read": "5s", "total": "10s"}}
        run = post(f"{served.url}/api/runs", {"scenario": "login", "vendor": "keycloak", "targets": [target]})
        info = wait_finished(served, run["run"])
        deliveries = get(f"{served.url}/api/deliveries?run={run['run']}")["deliveries"]
    finally:
        receiver.stop()
    assert info["deliveries"]["failed"] == len(deliveries) > 0
    assert all("headers go on past 64 KB" in d["last_error"] for d in deliveries)
    assert peak_mb(served.process.pid) < LIMIT_MB


def test_oversized_bodies_at_full_concurrency_stay_within_memory(served):
    receiver = Receiver(endless=False)
    yaml = "name: heavy\nactors: {alice: {}}\nsteps:\n  - login: alice\n    repeat: {count: 6}\n"
    target = {"url": receiver.url, "retry": "none", "concurrency": 8, "faults": [{"oversize": {"size": "64MB"}}]}
    try:
        run = post(f"{served.url}/api/runs", {"yaml": yaml, "vendor": "keycloak", "targets": [target], "time_scale": 0})
        info = wait_finished(served, run["run"], timeout=120)
    finally:
        receiver.stop()
    assert info["deliveries"]["delivered"] == receiver.requests >= 12  # every 64 MB body arrived whole
    assert peak_mb(served.process.pid) < LIMIT_MB, f"peak {peak_mb(served.process.pid):.0f} MB"
