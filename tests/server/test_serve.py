"""`idp-emulator serve` as a user starts it: a separate process, no configuration, Ctrl-C to stop."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from emulator.server.serve import LATER, YOUNG_EVERY, collected_rarely
from emulator.store import EventRow, Store

ROOT = Path(__file__).resolve().parents[2]


async def serve(cwd: Path, *args: str) -> tuple[asyncio.subprocess.Process, str, list[str]]:
    """Start the server; return it, its base URL and the lines it printed first."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("IDP_EMULATOR_CONFIG", None)
    env.pop("IDP_EMULATOR_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "emulator", "serve", "--port", "0", *args,
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lines = [(await asyncio.wait_for(process.stdout.readline(), 30)).decode() for _ in range(5)]
    assert "serving on" in lines[0], lines
    base = lines[0].split("serving on ", 1)[1].split()[0]
    return process, base, lines


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, err.decode()


async def test_serve_needs_no_configuration_and_stops_cleanly(tmp_path):
    process, base, lines = await serve(tmp_path)
    try:
        assert any("/api/openapi.json" in line for line in lines)
        assert any("/sink/" in line for line in lines) and any("jwks.json" in line for line in lines)
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/api/ready") as response:
                assert response.status == 200
            async with http.post(base + "/sink/demo", json={"hello": 1}) as response:
                assert response.status == 200
            async with http.get(base + "/api/sinks/demo") as response:
                assert (await response.json())["requests"][0]["body"] == {"hello": 1}
    finally:
        code, err = await stop(process)
    assert code == 0 and "Traceback" not in err and "stopped" in err
    assert (tmp_path / ".idp-emulator" / "emulator.db").is_file()  # the local data folder


async def test_serve_stops_at_once_while_the_console_watches_the_live_stream(tmp_path):
    process, base, lines = await serve(tmp_path)
    assert lines[1].split() == ["console", f"{base}/"]
    async with aiohttp.ClientSession() as http, http.get(base + "/api/stream") as stream:
        assert (await stream.content.readline()).startswith(b": idp-emulator")
        started = asyncio.get_running_loop().time()
        code, err = await stop(process)  # not after the stream's next keep-alive, 15 s away
        assert (await stream.content.read()).strip() == b""  # the server ended the stream
    assert code == 0 and "Traceback" not in err
    assert asyncio.get_running_loop().time() - started < 5


async def test_serve_delivers_what_a_crash_left_pending(tmp_path, aiohttp_server):
    arrived: asyncio.Queue[bytes] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await arrived.put(await request.read())
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    receiver = await aiohttp_server(app)
    store = Store(tmp_path / "crashed.db")
    url = str(receiver.make_url("/hook"))
    store.create_run(
        "run_crashed", "login", ["keycloak"], 1, {"app": {"name": "app", "url": url, "vendor": "keycloak"}}
    )
    event = EventRow(
        vendor="keycloak", event_id="e-1", type="LOGIN", time_ms=0, action="login", actor="alice", error=None,
        body=b'{"id":"e-1"}', faults=None, user=None, user_id=None, username=None, ip=None,
        client=None,
    )  # fmt: skip
    store.add("run_crashed", [(event, [("app", None)])])
    store.play_done("run_crashed")
    store.close()

    process, _, _ = await serve(tmp_path, "--db", str(tmp_path / "crashed.db"))
    try:
        assert await asyncio.wait_for(arrived.get(), 30) == b'{"id":"e-1"}'
    finally:
        code, err = await stop(process)
    assert code == 0, err
    done = Store(tmp_path / "crashed.db", create=False)
    assert done.counts("run_crashed")["delivered"] == 1
    done.close()


async def test_serve_refuses_a_port_in_use_with_a_message(tmp_path, aiohttp_server):
    taken = await aiohttp_server(web.Application())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "emulator", "serve", "--port", str(taken.port), "--db", str(tmp_path / "s.db"),
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode != 0
    assert f"cannot listen on 127.0.0.1:{taken.port}" in err.decode() and "Traceback" not in err.decode()


def test_serve_collects_cycles_rarely_and_gives_the_settings_back():
    before = gc.get_threshold()
    with collected_rarely():
        assert gc.get_threshold() == (YOUNG_EVERY, *LATER)
        assert gc.get_freeze_count() > 0  # what existed when the server got ready is never scanned again
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
