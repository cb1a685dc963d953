"""Batches: several events in one request (Auth0's log streams), over real HTTP to the webhook receiver.

What a consumer of a custom log stream must cope with is read here from the raw bodies, framing by
framing (JSON Lines: one JSON object per line, each line ending with a newline; a JSON array), with the
stream's static Authorization header checked; the receiver and ``listen`` must then read every event.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from emulator.delivery.config import ConfigError, load_config, target_problems
from emulator.delivery.runner import deliver_run, resume
from emulator.delivery.targets import build_target
from emulator.errors import Problem
from emulator.render import render_events
from emulator.scenario.loader import load_scenario_text
from emulator.store import Store
from emulator.testing.receiver import WebhookReceiver

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TOKEN = "Bearer log-stream-token"
# one actor's seven logins, then another actor's two: the order to keep is each actor's
STORY = load_scenario_text(
    "name: batches\nactors: {alice: {}, bob: {}}\nsteps:\n"
    "  - login: {actor: alice}\n    repeat: {count: 7, every: 1s}\n"
    "  - login: {actor: bob}\n    repeat: {count: 2, every: 1s}\n"
)
READ = {  # how a consumer reads each framing, written from the framings' own rules
    "lines": lambda body: [json.loads(line) for line in body.decode().split("\n")[:-1]],
    "array": lambda body: json.loads(body),
}


def auth0(registry, url, **spec):
    return build_target({"name": "logs", "url": url, "vendor": "auth0", "signing": {"secret": TOKEN}, **spec}, registry)


def requests_of(receiver: WebhookReceiver) -> list[list]:
    """The requests that arrived, each as the webhooks (events) it carried."""
    out: list[list] = []
    for hook in receiver.received:
        if hook.position == 0:
            out.append([])
        out[-1].append(hook)
    return out


@pytest.fixture
async def receiver():
    async with WebhookReceiver("auth0", TOKEN) as started:
        yield started


@pytest.mark.parametrize("framing", sorted(READ))
async def test_a_batch_carries_up_to_size_events_in_the_targets_framing(registry, receiver, framing):
    t = auth0(registry, receiver.url, format=framing, batch={"size": 3, "linger": "10s"}, concurrency=1)
    store = Store()
    summary = await deliver_run(STORY, [t], store, 4, NOW, 0, registry=registry)
    events = list(render_events(STORY, "auth0", 4, NOW, registry))
    assert summary.ok and summary.delivered == summary.events == len(events) == 18  # a login is s and seacft
    assert summary.attempts == 18  # per delivery, as the store counts them
    requests = requests_of(receiver)
    assert all(len(r) <= 3 for r in requests) and sum(map(len, requests)) == 18 and len(requests) < 18
    for request in requests:
        first = request[0]
        logs = READ[framing](first.body)  # the raw body, as the consumer reads it
        assert [log["log_id"] for log in logs] == [hook.id for hook in request]
        assert first.headers["Authorization"] == TOKEN and first.verdict.ok
        assert first.body.endswith(b"\n") == (framing == "lines")
        assert all(hook.batch == len(logs) and hook.event["log_id"] == hook.id for hook in request)
    # each actor's events arrive in the order they happened, across batches
    for actor in ("alice", "bob"):
        sent = [e.id for e in events if e.actor == actor]
        assert [h.id for h in receiver.received if h.id in sent] == sent
    assert {d["status"] for d in store.deliveries(summary.run)} == {"delivered"}


async def test_the_object_format_sends_one_event_per_request_and_a_batch_asks_for_another(registry, receiver):
    assert auth0(registry, receiver.url).batch_size == 100  # the vendor's default: its catalog says why
    assert auth0(registry, receiver.url, format="object").batch_size == 1
    assert auth0(registry, receiver.url, batch={"size": 1}).batch_size == 1
    with pytest.raises(Problem, match="batch: format 'object' sends one event per request; a batch needs format"):
        auth0(registry, receiver.url, format="object", batch={"size": 5})


async def test_a_failed_batch_is_retried_whole_and_holds_back_its_actors_next_batch(registry, receiver):
    receiver.respond(500)  # each request fails once (keyed on its first event), then is accepted
    t = auth0(registry, receiver.url, batch={"size": 4}, concurrency=4)
    store = Store()
    summary = await deliver_run(STORY, [t], store, 4, NOW, 0, registry=registry)
    assert summary.ok and summary.delivered == 18 and summary.attempts == 36
    alice = [r for r in requests_of(receiver) if r[0].user == requests_of(receiver)[0][0].user]
    assert [r[0].answered for r in alice] == [500, 200] * (len(alice) // 2)
    for failed, retried in zip(alice[::2], alice[1::2], strict=True):
        assert retried[0].body == failed[0].body  # the same batch, byte for byte
        assert failed[-1].at <= retried[0].at
    ids = [h.id for r in alice[1::2] for h in r]
    assert ids == sorted(ids, key=[h.id for r in alice for h in r].index) and len(ids) == 14
    for delivery in store.deliveries(summary.run):
        attempts = store.attempts(delivery["id"])
        assert [a["status"] for a in attempts] == [500, 200]


async def test_an_interrupted_run_resumes_its_pending_events_in_new_batches(registry, tmp_path):
    got_one = asyncio.Event()
    async with WebhookReceiver("auth0", TOKEN, on_webhook=lambda hook: got_one.set()) as receiver:
        receiver.respond("hang")  # the first request never gets its answer: the run is stopped meanwhile
        t = auth0(registry, receiver.url, batch={"size": 4}, concurrency=1)
        store = Store(str(tmp_path / "emulator.db"))
        run = asyncio.create_task(deliver_run(STORY, [t], store, 4, NOW, 0, registry=registry))
        await asyncio.wait_for(got_one.wait(), 10)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert store.counts(store.unfinished_runs()[0])["pending"] == 18  # nothing was answered: all still owed
        receiver.respond()
        [resumed] = await resume(store, registry, secret=TOKEN, time_scale=0)
        assert resumed.ok and resumed.delivered == 18
        events = [e.id for e in render_events(STORY, "auth0", 4, NOW, registry)]
        after = [h for h in receiver.received if h.answered == 200]
        assert sorted(h.id for h in after) == sorted(events)  # each pending event, once, in a batch
        assert max(h.batch for h in after) > 1


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ({"size": 0}, "batch.size: expected a whole number from 1 to 10000, got 0"),
        ({"size": "ten"}, "batch.size: expected a whole number from 1 to 10000, got 'ten'"),
        ({"size": 5, "every": "1s"}, "batch: unknown key 'every'; expected one of: size, linger"),
        ({"linger": "soon"}, "batch.linger: "),
        (7, "batch: expected a mapping such as {size: 100, linger: 1s}, got 7"),
    ],
)
def test_bad_batch_values_are_refused_saying_where_and_what(registry, batch, message):
    with pytest.raises(Problem, match="target 'logs': " + message.replace("{", r"\{").replace("}", r"\}")):
        auth0(registry, "http://127.0.0.1:9/", batch=batch)


def test_a_bad_batch_in_the_file_and_through_the_api_is_named_in_the_schemas_words(tmp_path):
    config = tmp_path / "emulator.yaml"
    config.write_text(
        "targets:\n  - name: logs\n    url: http://127.0.0.1:9/\n    vendor: auth0\n    batch: {size: 0, lingr: 1s}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    text = str(caught.value)
    assert "emulator.yaml:5:" in text and "targets[0].batch: unknown key 'lingr'; did you mean 'linger'?" in text
    assert "targets[0].batch.size: 0 is less than the minimum of 1" in text
    assert ("batch.size", "batch.size: 20000 is greater than the maximum of 10000") in target_problems(
        {"name": "logs", "url": "http://127.0.0.1:9/", "batch": {"size": 20000}}
    )


async def test_okta_amalgamates_events_in_one_envelopes_data_events(registry):
    """Okta's envelope holds a list of System Log events: a batch is one envelope (the first event's)
    carrying every event of the batch in ``data.events``, each a LogEvent of Okta's own SDK."""
    from okta.models.log_event import LogEvent

    secret = "okta-hook-secret"
    async with WebhookReceiver("okta", secret) as receiver:
        t = build_target(
            {"name": "hook", "url": receiver.url, "vendor": "okta", "signing": {"secret": secret}}, registry
        )
        assert (t.batch_size, t.batch_into, t.framing) == (50, "data.events", "object")  # Okta's catalog
        summary = await deliver_run(STORY, [t], Store(), 4, NOW, 0, registry=registry)
        events = list(render_events(STORY, "okta", 4, NOW, registry))
        assert summary.ok and summary.delivered == len(events) and receiver.verifications  # challenged first
        requests = requests_of(receiver)
        assert len(requests) < len(events) and sum(map(len, requests)) == len(events)
        for request in requests:
            envelope = json.loads(request[0].body)  # the raw body, as Okta's consumer reads it
            assert envelope["eventType"] == "com.okta.event_hook" and request[0].verdict.ok
            logs = envelope["data"]["events"]
            assert [log["uuid"] for log in logs] == [hook.id for hook in request]
            assert [LogEvent.from_dict(log).event_type for log in logs] == [hook.type for hook in request]
        assert max(len(r) for r in requests) > 1
        for actor in ("alice", "bob"):  # the consumer's id is the System Log event's uuid
            sent = [e.body["data"]["events"][0]["uuid"] for e in events if e.actor == actor]
            assert [h.id for h in receiver.received if h.id in sent] == sent


async def test_a_batch_leaves_after_its_linger_and_an_actors_next_events_wait_for_it():
    from emulator.delivery.batching import Batcher
    from emulator.store import DeliveryRow

    sent: list = []
    arrived = asyncio.Event()

    def send(batch):
        sent.append(batch)
        arrived.set()

    def row(n, actor):
        return DeliveryRow(n, "run", "logs", f"e{n}", "s", n * 1000, b'{"n":%d}' % n, actor)

    batcher = Batcher(5, 0.05, "array", True, send)
    loop = asyncio.get_running_loop()
    began = loop.time()
    batcher.add(row(1, "alice"))
    batcher.add(row(2, "alice"))  # the same actor's next event may share the batch, after the first
    assert not sent  # two of five: the batch waits for more, or for its linger
    await asyncio.wait_for(arrived.wait(), 5)
    assert loop.time() - began >= 0.05 and [m.id for m in sent[0].members] == [1, 2]
    assert json.loads(b"[" + sent[0].body + b"]") == [{"n": 1}, {"n": 2}]
    batcher.add(row(3, "alice"))  # alice's batch is in flight: her next event waits for it
    batcher.add(row(4, "bob"))
    batcher.drain()  # the run has nothing more: what is open leaves now
    assert [m.id for m in sent[1].members] == [4]
    batcher.done(sent[0])  # alice's batch is final: her next event goes, at once while draining
    assert [m.id for m in sent[2].members] == [3]
    batcher.close()


async def test_kill_9_while_a_batch_is_in_flight_then_resume_delivers_every_event(tmp_path):
    """The command line's run (its store written by the writer thread) killed while its first batch
    waits for an answer: every event was stored before that batch left, so ``resume`` sends each one."""
    import os
    import signal
    import sqlite3
    import sys

    arrived = asyncio.Event()
    scenario = tmp_path / "logins.yaml"
    scenario.write_text(STORY.text.replace("count: 7", "count: 60").replace("count: 2", "count: 40"))
    env = {**os.environ, "IDP_EMULATOR_SECRET": TOKEN}
    async with WebhookReceiver("auth0", TOKEN, on_webhook=lambda hook: arrived.set()) as receiver:
        receiver.respond("hang", per_event=False)  # the first request is never answered
        db = tmp_path / "s.db"
        run = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "emulator", "run", str(scenario), "--vendor", "auth0", "--target", receiver.url,
            "--seed", "5", "--db", str(db), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        await asyncio.wait_for(arrived.wait(), 60)
        run.send_signal(signal.SIGKILL)
        assert await run.wait() == -signal.SIGKILL
        resumed = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "emulator", "resume", "--db", str(db), "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        _, err = await asyncio.wait_for(resumed.communicate(), 60)
        assert resumed.returncode == 0, err.decode()
        store = sqlite3.connect(db)
        stored = {row[0] for row in store.execute("SELECT event_id FROM events")}
        statuses = dict(store.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())
        assert len(stored) == 200 and statuses == {"delivered": 200}  # a login is two logs
        answered = [hook for hook in receiver.received if hook.answered == 200]
        assert {hook.id for hook in answered} == stored and max(hook.batch for hook in answered) > 1
        assert all(hook.verdict.ok for hook in receiver.received)
