"""Work one request can cause is bounded, and a cancel is for good.

Each test reproduces a finding of the security review (a run that never ends, a cancelled run that
played again at every start, a resumed run nobody could cancel) and shows it refused or bounded.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

from api_helpers import problem

from emulator.delivery.targets import build_target
from emulator.scenario.loader import load_scenario_text
from emulator.server.app import make_app
from emulator.server.service import Service
from emulator.store import Store

ENDLESS = """\
name: endless
actors: {alice: {}}
steps:
  - repeat:
      count: 1000000
      steps:
        - repeat: {count: 1000000, steps: [{login: alice}]}
"""
SLOW = """\
name: slow
actors: {alice: {}}
steps:
  - login: alice
    repeat: {count: 200, every: 1s}
"""


async def test_nested_repeats_past_the_cap_are_refused_before_anything_starts(aiohttp_client, registry):
    service = Service(Store(), registry)
    api = await aiohttp_client(make_app(service))
    body = {"yaml": ENDLESS, "vendor": "keycloak", "targets": ["http://127.0.0.1:9/"]}
    found = await problem(await api.post("/api/runs", json=body), 422)
    assert "plays 1,000,000,000,000 actions" in found["detail"] and "at most 1,000,000" in found["detail"]
    assert service.runs == {} and service.store.runs() == []
    small = Service(Store(), registry, max_actions=100)  # the cap is the server's to set
    api2 = await aiohttp_client(make_app(small))
    found = await problem(await api2.post("/api/runs", json={**body, "yaml": SLOW}), 422)
    assert "plays 200 actions" in found["detail"]
    await service.close()
    await small.close()


def test_the_command_line_refuses_it_too(tmp_path):
    (tmp_path / "endless.yaml").write_text(ENDLESS)
    command = [sys.executable, "-m", "emulator", "run", "endless.yaml", "--vendor", "keycloak", "--db", ":memory:"]
    command += ["--target", "http://127.0.0.1:9/", "--seed", "1"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "plays 1,000,000,000,000 actions" in result.stderr
    assert "Traceback" not in result.stderr


async def _interrupted_run(tmp_path, registry) -> tuple[str, str]:
    """A run a crash cut short: its play stopped after a few events, most still to come."""
    path = str(tmp_path / "e.db")
    service = Service(Store(path), registry)
    api_app = make_app(service)
    del api_app

    target = build_target({"name": "down", "url": "http://127.0.0.1:9/", "vendor": "keycloak"}, registry)
    run_id = service.start_run(load_scenario_text(SLOW), [target], 1, 1.0, None, [])
    while service.store.counts(run_id)["pending"] == 0:  # the play stores events as it goes
        await asyncio.sleep(0.01)
    await service.close()  # the server stops with the run under way: what a Ctrl-C or a crash leaves
    service.store.close()
    return path, run_id


async def test_a_resumed_run_can_be_cancelled_and_is_never_played_again(aiohttp_client, registry, tmp_path):
    path, run_id = await _interrupted_run(tmp_path, registry)
    service = Service(Store(path), registry)
    api = await aiohttp_client(make_app(service))
    resuming = asyncio.create_task(service.resume_pending())
    while run_id not in service.runs:  # the resumed run is a live run of the server
        await asyncio.sleep(0.01)
    answer = await api.post(f"/api/runs/{run_id}/cancel")
    assert answer.status == 202 and (await answer.json())["status"] == "cancelled"
    await asyncio.wait_for(resuming, 10)  # the resume loop goes on (to nothing) instead of waiting
    info = service.store.run(run_id)
    assert info is not None and info["status"] == "cancelled"
    assert service.store.counts(run_id)["pending"] == 0
    played = info["played"]
    await service.close()
    service.store.close()
    again = Service(Store(path), registry)  # the next start resumes nothing, plays nothing more
    assert again.store.unfinished_runs() == []
    assert await again.resume_pending() == []
    info = again.store.run(run_id)
    assert info is not None and info["played"] == played and info["status"] == "cancelled"
    await again.close()


async def test_cancel_says_what_it_could_not_cancel(aiohttp_client, registry):
    service = Service(Store(), registry)
    api = await aiohttp_client(make_app(service))
    await problem(await api.post("/api/runs/run_nope/cancel"), 404, "run")
    body = {"scenario": "login", "vendor": "keycloak", "targets": [str(api.make_url("/sink/x"))], "time_scale": 0}
    run_id = (await (await api.post("/api/runs", json=body)).json())["run"]
    await asyncio.wait_for(service.runs[run_id].task, 10)
    await problem(await api.post(f"/api/runs/{run_id}/cancel"), 409, "run")
    await service.close()


def test_sinks_are_bounded_by_requests_names_and_bytes():
    from emulator.server.sinks import SinkRequest, Sinks

    sinks = Sinks(keep=3, names=2, limit=1000)
    for i in range(5):
        sinks.add("a", SinkRequest("POST", "/sink/a", {}, b"x" * 10, float(i)))
    assert [r.at for r in sinks.get("a")] == [2.0, 3.0, 4.0]  # the newest three
    sinks.add("b", SinkRequest("POST", "/sink/b", {}, b"y", 5.0))
    sinks.add("c", SinkRequest("POST", "/sink/c", {}, b"z", 6.0))  # a third name: the least recent goes
    assert sinks.get("a") == [] and len(sinks.get("b")) == 1
    sinks.add("b", SinkRequest("POST", "/sink/b", {}, b"w" * 990, 7.0))  # over the bytes: the oldest go
    assert sinks.size <= 1000 and [r.at for r in sinks.get("b")] == [7.0] and sinks.get("c") == []


async def test_deep_params_and_faults_the_cli_refuses_are_refused_by_the_api_too(aiohttp_client, registry):
    service = Service(Store(), registry)
    api = await aiohttp_client(make_app(service))
    deep: dict = {}
    node = deep
    for _ in range(400):
        node["a"] = {}
        node = node["a"]
    body = {"action": "login", "vendor": "keycloak", "targets": ["http://127.0.0.1:9/"], "params": deep}
    found = await problem(await api.post("/api/trigger", json=body), 422)
    assert found["title"] == "Nested too deeply"
    bogus = "name: x\nactors: {a: {}}\nsteps:\n  - login: a\n    faults: [{bogus: {}}]\n"
    checked = await (await api.post("/api/validate", json={"yaml": bogus})).json()
    assert checked["valid"] is False and "unknown fault 'bogus'" in checked["problems"][0]
    assert checked["problems"][0].startswith("<request>:5:")  # where, as the CLI says it
    run = {"yaml": bogus, "vendor": "keycloak", "targets": ["http://127.0.0.1:9/"]}
    found = await problem(await api.post("/api/runs", json=run), 422, "yaml")
    assert "unknown fault 'bogus'" in found["detail"] and service.runs == {}
    await service.close()


async def test_a_large_upload_is_read_off_the_event_loop_and_once(aiohttp_client, registry, monkeypatch):
    import threading

    from emulator.scenario import loader

    reads: list[str] = []
    real = loader.load_scenario_text

    def counting(text: str, file: str = "<scenario>"):
        reads.append(threading.current_thread().name)
        return real(text, file)

    monkeypatch.setattr("emulator.server.api.load_scenario_text", counting)
    service = Service(Store(), registry)
    api = await aiohttp_client(make_app(service))
    steps = "".join(f"  - login: {{actor: alice, client: app-{i}}}\n" for i in range(3000))
    text = f"name: big\ndescription: a large one\nactors: {{alice: {{}}}}\nsteps:\n{steps}"
    assert len(text) > 64 * 1024  # larger than the loader's cache: it would be read again each time
    assert (await api.put("/api/scenarios/big", json={"yaml": text})).status == 201
    for _ in range(3):
        listed = (await (await api.get("/api/scenarios")).json())["scenarios"]
        assert {"name": "big", "description": "a large one", "bundled": False} in listed
    assert len(reads) == 1 and reads[0] != threading.main_thread().name  # once, and not on the loop's thread
    await service.close()


def test_serve_beyond_loopback_needs_a_token(tmp_path):
    command = [sys.executable, "-m", "emulator", "serve", "--host", "0.0.0.0", "--port", "0", "--db", ":memory:"]
    refused = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "give --token" in refused.stderr and "Traceback" not in refused.stderr


async def test_the_server_keeps_the_details_of_the_last_finished_runs_only(registry, monkeypatch):
    monkeypatch.setattr("emulator.server.service.KEEP_FINISHED", 2)
    service = Service(Store(), registry)
    target = build_target(
        {"name": "down", "url": "http://127.0.0.1:9/", "vendor": "keycloak", "retry": "none"}, registry
    )
    login = load_scenario_text("name: one\nactors: {a: {}}\nsteps:\n  - login: a\n")
    ended = []
    for seed in range(4):
        run_id = service.start_run(login, [target], seed, 0.0, None, [])
        await asyncio.gather(service.runs[run_id].task, return_exceptions=True)
        ended.append(run_id)
    assert list(service.runs) == ended[-2:]  # the store keeps every run; memory only the last two
    assert all(service.store.run(r) is not None for r in ended)
    await service.close()
