"""What a careless or hostile receiver, user or disk can do to a run, and what the run does then."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from datetime import UTC, datetime

import pytest
from receiver import Receiver, start_receiver

from emulator.delivery.runner import deliver_run, resume
from emulator.delivery.targets import build_target
from emulator.errors import Problem
from emulator.render import load, render_events
from emulator.scenario.loader import load_scenario_text
from emulator.store import SCHEMA_VERSION, Store, StoreError

NOW = datetime.now(UTC).replace(microsecond=0)
LOGINS = "name: logins\nactors: {alice: {}, bob: {}}\nsteps:\n  - login: {actor: alice}\n    repeat: {count: 60, every: 1s}\n  - login: {actor: bob}\n    repeat: {count: 60, every: 1s}\n"


def target(registry, url, vendor="keycloak", **spec):
    return build_target({"name": spec.pop("name", "t"), "url": url, "vendor": vendor, **spec}, registry)


async def test_a_hostile_retry_after_does_not_stall_the_run(aiohttp_server, registry):
    receiver = await start_receiver(
        aiohttp_server, Receiver(lambda r, nth: (429, {"Retry-After": "\u00b2"}) if nth == 1 else (200,))
    )
    t = target(registry, receiver.url, retry={"attempts": 2, "schedule": ["1s"], "retry_on": ["429"]})
    store = Store()
    summary = await asyncio.wait_for(deliver_run(load("login"), [t], store, 1, NOW, 0.001, registry=registry), 10)
    assert summary.ok and store.attempts(1)[0]["next_delay_ms"] == 1000


async def test_a_fault_of_ours_is_recorded_not_hung(aiohttp_server, registry, monkeypatch):
    receiver = await start_receiver(aiohttp_server)

    async def broken(self, *args):
        raise RuntimeError("boom")

    monkeypatch.setattr("emulator.delivery.sender.Sender.attempt", broken)
    store = Store()
    summary = await asyncio.wait_for(
        deliver_run(load("login"), [target(registry, receiver.url)], store, 1, NOW, 0, registry=registry), 10
    )
    assert summary.failed == 3 and store.attempts(1)[0]["error"] == "internal error: RuntimeError: boom"


@pytest.mark.parametrize("where", ["memory", "file"])  # a file's attempts are written by the writer thread
async def test_a_store_that_fails_mid_run_is_reported_not_hung(aiohttp_server, registry, monkeypatch, tmp_path, where):
    receiver = await start_receiver(aiohttp_server)
    store = Store() if where == "memory" else Store(tmp_path / "s.db", background_writes=True)

    def full(*args, **kwargs):
        raise StoreError("disk full")

    monkeypatch.setattr(Store, "record", full)
    try:
        with pytest.raises(StoreError, match="disk full"):
            await asyncio.wait_for(
                deliver_run(load("tour"), [target(registry, receiver.url)], store, 1, NOW, 0, registry=registry), 10
            )
    finally:
        store.close()


async def test_a_file_store_holds_every_attempt_once_the_run_returns(aiohttp_server, registry, tmp_path):
    receiver = await start_receiver(aiohttp_server)
    store = Store(tmp_path / "s.db", background_writes=True)
    heard: list[str] = []
    store.listeners.append(lambda kind, record: heard.append(kind))
    summary = await deliver_run(load("tour"), [target(registry, receiver.url)], store, 1, NOW, 0, registry=registry)
    committed = sqlite3.connect(tmp_path / "s.db")  # another connection reads only what is committed
    assert committed.execute("SELECT count(*) FROM attempts").fetchone()[0] == summary.attempts > 0
    assert committed.execute("SELECT DISTINCT status FROM deliveries").fetchall() == [("delivered",)]
    # the live stream heard of each event and attempt, after its commit, on the event loop
    assert heard.count("event") == summary.events and heard.count("attempt") == summary.attempts
    committed.close()
    store.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"signing": {"scheme": "header", "header": "Authorization", "value": "tok\r\nX-Injected: yes"}},
            "single line",
        ),
        ({"signing": {"scheme": "header", "header": "Authorization", "value": "t\u00f6k\u65e5\u672c"}}, "Latin-1"),
        ({"signing": {"scheme": "header", "header": "Bad Name", "value": "x"}}, "header name"),
        ({"headers": {"Content-Length": "1"}}, "writes this header itself"),
        ({"headers": {"Host": "evil.example"}}, "writes this header itself"),
        ({"headers": {"X-T": "\u65e5\u672c"}}, "Latin-1"),
        ({"url": "http://127.0.0.1:0/x"}, "port 0"),
        ({"url": "http://" + "a" * 70 + ".example/x"}, "too long for DNS"),
        ({"url": "http://user:pw@127.0.0.1/x"}, "credentials in a URL"),
    ],
)
def test_targets_refuse_what_would_break_the_request(registry, spec, message):
    spec = {"url": "http://127.0.0.1:9/x", **spec}
    with pytest.raises(Problem, match=message):
        target(registry, spec.pop("url"), "strivacity", **spec)


def test_idaas_answers_within_3_seconds_in_all(registry):
    assert target(registry, "http://127.0.0.1:9/x", "idaas").total_timeout == 3


async def test_echoed_credentials_never_reach_the_log(aiohttp_server, registry):
    def echo(request, nth):
        auth = request.headers["Authorization"]
        return (200, {"X-Echo-Auth": auth, "Set-Cookie": "session=abc"}, f"you sent {auth}".encode())

    receiver = await start_receiver(aiohttp_server, Receiver(echo))
    t = target(registry, receiver.url, basic_auth={"username": "u", "password": "hunter2pw"})
    store = Store()
    await deliver_run(load("login"), [t], store, 1, NOW, 0, registry=registry)
    attempt = store.attempts(1)[0]
    assert attempt["response_headers"]["X-Echo-Auth"] == "<redacted>"
    assert attempt["response_headers"]["Set-Cookie"] == "<redacted>"
    assert attempt["response_body"] == b"you sent <redacted>"


async def test_credentials_are_redacted_by_meaning_whatever_shape_they_come_back_in(aiohttp_server, registry):
    """A receiver echoes the basic-auth password alone, its base64, a bare bearer token, and the API
    key lowercased, and redirects to a URL with a token in its query: none of it reaches the log."""

    def echo(request, nth):
        pair = base64.b64encode(b"u:Hunter2Password").decode()
        body = f"pw=Hunter2Password b64={pair} key={request.headers['X-Api-Key'].lower()} Bearer abc123xyz789"
        headers = {"Location": "https://elsewhere.example/cb?token=tok-777&code=c0de", "X-Note": pair}
        return (302, headers, body.encode())

    receiver = await start_receiver(aiohttp_server, Receiver(echo))
    spec = {"basic_auth": {"username": "u", "password": "Hunter2Password"}, "headers": {"X-Api-Key": "MyApiKEY42"}}
    t = target(registry, receiver.url, retry="none", **spec)
    store = Store()
    await deliver_run(load("login"), [t], store, 1, NOW, 0, registry=registry)
    attempt = store.attempts(1)[0]
    logged = json.dumps({**attempt, "response_body": attempt["response_body"].decode()}, default=str)
    for secret in ("Hunter2Password", base64.b64encode(b"u:Hunter2Password").decode(), "myapikey42", "abc123xyz789"):
        assert secret not in logged
    assert "tok-777" not in logged and "c0de" not in logged
    assert "redirect to https://elsewhere.example/cb?token=<redacted>&code=<redacted>" in attempt["error"]


async def test_resend_retries_with_the_full_policy_again(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (500,)))
    t = target(registry, receiver.url, "fusionauth", events=["user.login.success"], retry="standard-webhooks")
    store = Store()
    summary = await deliver_run(load("login"), [t], store, 1, NOW, 0, registry=registry)
    assert summary.attempts == 8
    store.requeue_failed()
    [again] = await resume(store, registry, time_scale=0)
    assert again.attempts == 8 and again.failed == 1
    assert [a["number"] for a in store.attempts(1)] == list(range(1, 17))  # the log numbers on


async def test_replay_after_a_crash_skips_exactly_what_was_stored(aiohttp_server, registry):
    """Two vendors whose events share timestamps: the replay must interleave them as the run did."""
    a = await start_receiver(aiohttp_server)
    b = await start_receiver(aiohttp_server)
    targets = [target(registry, a.url, "keycloak", name="zeta"), target(registry, b.url, "fusionauth", name="alpha")]
    store = Store()
    scenario = load_scenario_text(LOGINS)
    summary = await deliver_run(scenario, targets, store, 3, NOW, 0, registry=registry)
    stored = [r[0] for r in store.db.execute("SELECT event_id FROM events ORDER BY id")]
    # a crash after 101 events: later events and their deliveries never reached the store
    store.db.execute("DELETE FROM deliveries WHERE event > 101")
    store.db.execute("DELETE FROM events WHERE id > 101")
    store.db.execute("UPDATE runs SET played = 101, play_done = 0, status = 'running'")
    a.requests.clear()
    b.requests.clear()
    [resumed] = await resume(store, registry, time_scale=0)
    assert resumed.events == summary.events - 101
    again = [r[0] for r in store.db.execute("SELECT event_id FROM events ORDER BY id")]
    assert again == stored  # same events, same order, none twice
    assert len(a.requests) + len(b.requests) == summary.events - 101


async def test_the_events_played_before_a_play_fails_are_stored_and_delivered(aiohttp_server, registry, monkeypatch):
    """A play that cannot go on (a template that cannot render) ends the run; what it played before
    is stored, waiting in the last batch or not, and a resume delivers it."""
    from emulator.delivery.runner import _Play

    played = _Play.events

    def failing(self):
        for n, event in enumerate(played(self)):
            if n == 5:
                raise Problem("the 6th event cannot render")
            yield event

    monkeypatch.setattr(_Play, "events", failing)
    receiver = await start_receiver(aiohttp_server)
    store = Store()
    scenario = load_scenario_text(LOGINS)
    with pytest.raises(Problem, match="the 6th event cannot render"):
        await deliver_run(scenario, [target(registry, receiver.url)], store, 3, NOW, 0, registry=registry)
    first = [e.id for e in render_events(scenario, "keycloak", 3, NOW, registry)][:5]
    assert [r[0] for r in store.db.execute("SELECT event_id FROM events ORDER BY id")] == first
    assert store.db.execute("SELECT played, play_done FROM runs").fetchone() == (5, 1)
    [resumed] = await resume(store, registry, time_scale=0)
    assert {r.event_id for r in receiver.requests} == set(first)  # at least once: one cut short goes again
    assert store.counts(resumed.run)["delivered"] == 5


async def test_a_cancelled_run_plays_on_when_resumed(aiohttp_server, registry):
    got_some = asyncio.Event()
    receiver = await start_receiver(aiohttp_server, Receiver(on_request=lambda r: got_some.set()))
    t = target(registry, receiver.url, concurrency=1)
    store = Store()
    scenario = load_scenario_text(LOGINS)
    task = asyncio.create_task(deliver_run(scenario, [t], store, 3, NOW, 0.01, pace=True, registry=registry))
    await asyncio.wait_for(got_some.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.db.execute("SELECT status, play_done FROM runs").fetchone() == ("interrupted", 0)
    [resumed] = await resume(store, registry, time_scale=0)
    total = len(list(render_events(scenario, "keycloak", 3, NOW, registry)))
    assert {r.event_id for r in receiver.requests} == {
        e.id for e in render_events(scenario, "keycloak", 3, NOW, registry)
    }
    assert store.counts(resumed.run)["delivered"] == total


def test_someone_elses_database_is_left_alone(tmp_path):
    path = tmp_path / "theirs.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="a SQLite database of something else"):
        Store(path)
    assert path.read_bytes() == before
    assert not (tmp_path / "theirs.db-wal").exists()


def test_resume_never_creates_a_store(tmp_path):
    with pytest.raises(StoreError, match="no store here"):
        Store(tmp_path / "nothing" / "x.db", create=False)
    assert not (tmp_path / "nothing").exists()


def test_a_version_1_store_is_upgraded_in_place_and_keeps_its_events(tmp_path):
    import sqlite3

    from emulator.store import EventRow, Store

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE runs (id TEXT PRIMARY KEY, scenario TEXT, vendors TEXT, seed INTEGER, started_ms INTEGER,"
        " finished_ms INTEGER, status TEXT, played INTEGER DEFAULT 0, play_done INTEGER DEFAULT 0,"
        " options TEXT DEFAULT '{}');"
        "CREATE TABLE events (id INTEGER PRIMARY KEY, run_id TEXT, vendor TEXT, event_id TEXT, type TEXT,"
        " time_ms INTEGER, action TEXT, actor TEXT, error TEXT, body BLOB, faults TEXT);"
        "INSERT INTO runs (id, scenario, vendors, seed, started_ms, status) VALUES ('r1', 'login', 'keycloak', 1, 0,"
        " 'finished');"
        "INSERT INTO events VALUES (1, 'r1', 'keycloak', 'e1', 'LOGIN', 0, 'login', 'alice', NULL, '{}', NULL);"
        "PRAGMA user_version=1;"
    )
    db.close()
    store = Store(path, create=False)
    assert store.events("r1")[0]["event_id"] == "e1"
    store.create_run("r2", "login", ["keycloak"], 1, {})
    store.add(
        "r2",
        [
            (
                EventRow(
                    vendor="keycloak",
                    event_id="e2",
                    type="LOGIN",
                    time_ms=0,
                    action="login",
                    actor="bob",
                    error=None,
                    body=b"{}",
                    faults=None,
                    user="b@x",
                    user_id="u",
                    username="bob",
                    ip="ip",
                    client="c",
                ),
                [],
            )
        ],
    )
    row = store.db.execute("SELECT user, user_id, username, ip, client FROM events WHERE event_id = 'e2'").fetchone()
    assert row == ("b@x", "u", "bob", "ip", "c")
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.close()


def test_a_store_another_process_upgraded_meanwhile_is_left_as_it_is(tmp_path):
    from emulator.store import Store
    from emulator.store.schema import upgrade_from_1 as _upgrade_from_1

    store = Store(tmp_path / "s.db")  # already at the current version
    _upgrade_from_1(store.db)  # what a second process that read version 1 a moment earlier would do
    columns = [r[1] for r in store.db.execute("PRAGMA table_info(events)")]
    assert columns.count("user") == 1
    store.close()
