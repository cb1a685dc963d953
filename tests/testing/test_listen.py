"""`idp-emulator listen` in a separate process: what it prints, how it answers, where it forwards."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime

from aiohttp import web

from emulator.delivery.runner import deliver_run
from emulator.delivery.targets import build_target
from emulator.render import load
from emulator.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)


async def start_listen(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "emulator", "listen", "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    assert first.startswith("listening on http://127.0.0.1:"), first
    proc.banner = first  # type: ignore[attr-defined]
    return proc, first.split()[2]


async def stop(proc: asyncio.subprocess.Process) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0
    return out.decode()


async def deliver(registry, url: str, vendor: str = "keycloak", **spec):
    t = build_target({"name": "t", "url": url, "vendor": vendor, **spec}, registry)
    return await deliver_run(load("login"), [t], Store(), 1, NOW, 0.001, registry=registry)


async def test_listen_prints_checks_and_answers(registry):
    proc, url = await start_listen("--vendor", "keycloak", "--secret", "kc", "--respond", "500,200", "--print-body")
    summary = await deliver(registry, url, signing={"secret": "kc"})
    out = await stop(proc)
    assert summary.ok and summary.attempts == 6
    lines = [line for line in out.splitlines() if "POST /webhooks" in line]
    assert len(lines) == 6
    assert all("signature valid" in line and "user=" in line for line in lines)
    assert [line.rsplit("-> ", 1)[1] for line in lines[:2]] == ["500", "200"]
    assert "access.LOGIN" in lines[0] and '"authDetails": {' in out
    assert "6 webhooks received" in out


async def test_listen_reports_bad_signatures(registry):
    proc, url = await start_listen("--vendor", "keycloak", "--secret", "right")
    await deliver(registry, url, signing={"secret": "wrong"}, events=["LOGIN"])
    out = await stop(proc)
    assert "signature INVALID: X-Keycloak-Signature does not match the body" in out


async def test_listen_forwards_to_the_app_and_answers_with_its_answer(aiohttp_server, registry):
    seen: list[tuple[bytes, str]] = []

    async def app_hook(request: web.Request) -> web.Response:
        seen.append((await request.read(), request.headers.get("X-Keycloak-Signature", "")))
        return web.Response(status=202 if len(seen) > 1 else 503)

    app = web.Application()
    app.router.add_post("/idp", app_hook)
    server = await aiohttp_server(app)
    proc, url = await start_listen(
        "--vendor", "keycloak", "--secret", "kc", "--forward-to", str(server.make_url("/idp"))
    )
    summary = await deliver(registry, url, signing={"secret": "kc"}, events=["LOGIN"])
    out = await stop(proc)
    assert summary.ok and summary.attempts == 2  # the app's 503 went back to the sender, which retried
    assert len(seen) == 2 and json.loads(seen[0][0])["type"] == "access.LOGIN" and seen[0][1]
    assert "forwarded to" in out and ": 503" in out and ": 202" in out
    lines = out.splitlines()
    hooks = [i for i, line in enumerate(lines) if "POST /webhooks" in line]
    assert all("forwarded to" in lines[i + 1] for i in hooks)  # each under the webhook it belongs to


async def test_a_scripted_failure_is_not_forwarded_and_the_app_answers_the_rest(aiohttp_server, registry):
    seen: list[bytes] = []

    async def app_hook(request: web.Request) -> web.Response:
        seen.append(await request.read())
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/idp", app_hook)
    server = await aiohttp_server(app)
    proc, url = await start_listen(
        "--vendor", "keycloak", "--secret", "kc", "--respond", "500", "--forward-to", str(server.make_url("/idp"))
    )  # fmt: skip
    summary = await deliver(registry, url, signing={"secret": "kc"}, events=["LOGIN"])
    out = await stop(proc)
    answers = [line.rsplit("-> ", 1)[1] for line in out.splitlines() if "POST /webhooks" in line]
    assert summary.ok and answers == ["500", "202"]  # the script's failure, then the app's own answer
    assert len(seen) == 1  # the app saw only what got through


async def test_listen_says_when_it_cannot_check_signatures():
    proc, _ = await start_listen("--secret", "kc")  # a secret, but no vendor or scheme to check it with
    await stop(proc)
    assert "not checking signatures (no --vendor or --signing" in proc.banner and "checking none" not in proc.banner


async def test_bad_listen_options_are_explained():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "emulator", "listen", "--port", "0", "--respond", "500,700",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1 and "--respond: '700' is not a status code" in err.decode()


async def test_listen_answers_oktas_one_time_verification(registry):
    proc, url = await start_listen("--vendor", "okta", "--secret", "okta-secret")
    summary = await deliver(registry, url, vendor="okta", signing={"secret": "okta-secret"})
    out = await stop(proc)
    assert summary.ok, summary.failures
    lines = out.splitlines()
    challenge = next(i for i, line in enumerate(lines) if "verification challenge answered" in line)
    posts = [i for i, line in enumerate(lines) if "POST /webhooks" in line]
    assert posts and challenge < posts[0] and all("signature valid" in lines[i] for i in posts)


async def test_listen_prints_each_event_of_a_batch(registry):
    token = "Bearer log-stream-token"
    proc, url = await start_listen("--vendor", "auth0", "--secret", token)
    summary = await deliver(registry, url, vendor="auth0", signing={"secret": token})  # Auth0 batches its logs
    out = await stop(proc)
    lines = [line for line in out.splitlines() if "POST /webhooks" in line]
    count = summary.events
    assert summary.ok and count > 1 and len(lines) == count and f"{count} webhooks received" in out
    assert all("signature valid" in line for line in lines)
    assert [line.split("  [")[1].split(" in one")[0] for line in lines] == [f"{i}/{count}" for i in range(1, count + 1)]
