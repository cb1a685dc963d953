"""Runs delivered over real HTTP to a receiver on loopback: signatures, retries, the outbox."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from receiver import Receiver, start_receiver
from test_signing import CASES, WHSEC, check_fusionauth, check_idaas, check_keycloak, check_standard_webhooks

from emulator.delivery.runner import deliver_run
from emulator.delivery.targets import build_target
from emulator.render import load, render_events
from emulator.scenario.loader import load_scenario_text
from emulator.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)


def target(registry, url, vendor="keycloak", **spec):
    return build_target({"name": spec.pop("name", "t"), "url": url, "vendor": vendor, **spec}, registry)


async def play(registry, targets, scenario="tour", store=None, seed=7, time_scale=0.0, **kw):
    scenario = load(scenario) if "\n" not in scenario else load_scenario_text(scenario)
    store = store or Store()
    summary = await deliver_run(scenario, targets, store, seed, NOW, time_scale, registry=registry, **kw)
    return summary, store


def logins(count: int) -> str:
    return f"name: logins\nactors: {{alice: {{}}}}\nsteps:\n  - login: {{actor: alice}}\n    repeat: {{count: {count}, every: 1s}}\n"


# -- every scheme, end to end ---------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
async def test_each_scheme_verifies_after_a_run(aiohttp_server, registry, case):
    receiver = await start_receiver(aiohttp_server)
    signing, check = CASES[case]
    t = dataclasses.replace(target(registry, receiver.url, "fusionauth"), signing=signing)
    summary, _ = await play(registry, [t], "login")  # no waits: signed times are now, within tolerance
    assert summary.ok and summary.delivered == len(receiver.requests) > 0
    for request in receiver.requests:
        check(request.body, request.headers, request.method, request.url)


VENDOR_SECRETS = {
    "keycloak": ({"secret": "kc-secret"}, check_keycloak),
    "flip": ({"secret": "kc-secret"}, check_keycloak),
    "fusionauth": (
        {"secret": "fa-hmac-secret-of-32-bytes-length!"},
        lambda *a: check_fusionauth(*a, key="fa-hmac-secret-of-32-bytes-length!"),
    ),
    "idaas": ({"secret": "idaas-token", "key_id": "webhook-1"}, check_idaas),
}


@pytest.mark.parametrize("vendor", sorted(VENDOR_SECRETS))
async def test_each_vendor_signs_with_its_own_scheme_by_default(aiohttp_server, registry, vendor):
    receiver = await start_receiver(aiohttp_server)
    signing, check = VENDOR_SECRETS[vendor]
    summary, _ = await play(registry, [target(registry, receiver.url, vendor, signing=signing)], "login")
    assert summary.ok and summary.delivered == len(receiver.requests) > 0
    for request in receiver.requests:
        check(request.body, request.headers, request.method, request.url)
        assert request.headers["Content-Type"] == "application/json"


async def test_strivacity_sends_its_static_header(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server)
    t = target(registry, receiver.url, "strivacity", signing={"value": "Bearer k3y"})
    summary, _ = await play(registry, [t], "login")
    assert summary.ok and {r.headers["Authorization"] for r in receiver.requests} == {"Bearer k3y"}


async def test_the_bytes_sent_are_the_rendered_events(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server)
    await play(registry, [target(registry, receiver.url, ordering="actor")], "tour")
    expected = [e.body for e in render_events(load("tour"), "keycloak", 7, NOW, registry)]
    assert sorted(json.dumps(json.loads(r.body), sort_keys=True) for r in receiver.requests) == sorted(
        json.dumps(b, sort_keys=True) for b in expected
    )


async def test_actor_ordering_keeps_each_actors_events_in_order(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server)
    t = target(registry, receiver.url, concurrency=16, ordering="actor")
    await play(registry, [t], "tour")
    expected = [e for e in render_events(load("tour"), "keycloak", 7, NOW, registry)]
    order = {e.id: i for i, e in enumerate(expected)}
    actor_of = {e.id: e.actor for e in expected}
    seen: dict[str, int] = {}
    for request in receiver.requests:
        actor = actor_of[request.event_id]
        if actor is not None:
            assert order[request.event_id] > seen.get(actor, -1), f"{actor}'s events arrived out of order"
            seen[actor] = order[request.event_id]


async def test_actors_take_turns_so_events_leave_in_about_the_order_they_happened(aiohttp_server, registry):
    """An actor's next event joins the back of the queue, behind the other actors' ready ones (one
    worker that went on with the same actor sent all of alice's events before bob's first)."""
    receiver = await start_receiver(aiohttp_server)
    text = (
        "name: turns\nactors: {alice: {}, bob: {}, carol: {}}\nsteps:\n"
        "  - repeat: {count: 4, every: 3s, steps: [{login: {actor: alice}}, {login: {actor: bob}}, {login: {actor: carol}}]}\n"
    )
    await play(registry, [target(registry, receiver.url, concurrency=1, ordering="actor")], text)
    expected = list(render_events(load_scenario_text(text), "keycloak", 7, NOW, registry))
    actor_of = {e.id: e.actor for e in expected}
    arrived = [actor_of[r.event_id] for r in receiver.requests]
    assert len(arrived) == len(expected) > 12
    assert arrived[:6] == ["alice", "bob", "carol"] * 2  # in turns, not one actor's events after another's
    for actor in ("alice", "bob", "carol"):  # and each actor's own in order
        mine = [e.id for e in expected if e.actor == actor]
        assert [r.event_id for r in receiver.requests if actor_of[r.event_id] == actor] == mine


async def test_event_type_filters_and_fan_out(aiohttp_server, registry):
    a = await start_receiver(aiohttp_server)
    b = await start_receiver(aiohttp_server)
    ta = target(registry, a.url, "fusionauth", name="logins", events=["user.login.*"])
    tb = target(registry, b.url, "keycloak", name="everything")
    summary, _ = await play(registry, [ta, tb], "tour")
    assert {json.loads(r.body)["event"]["type"] for r in a.requests} == {
        "user.login.success",
        "user.login.failed",
        "user.login.new-device",
        "user.login.suspicious",
    }
    assert len(b.requests) == len(list(render_events(load("tour"), "keycloak", 7, NOW, registry)))
    assert summary.targets["logins"]["delivered"] == len(a.requests)


# -- retries --------------------------------------------------------------------------------
async def test_standard_webhooks_schedule_under_a_time_scale(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (500,) if nth <= 3 else (200,)))
    t = target(
        registry,
        receiver.url,
        signing={"scheme": "standard-webhooks", "secret": WHSEC},
        retry="standard-webhooks",
        signed_time="scenario",  # the schedule's real spacing shows in the signed timestamps
    )
    summary, _ = await play(registry, [t], logins(1), time_scale=0.0005)
    assert summary.ok and summary.attempts == 8  # 2 events x (3 failures + 1 success)
    for attempts in receiver.by_event().values():
        assert len(attempts) == 4
        assert len({a.headers["webhook-id"] for a in attempts}) == 1  # the same id on every retry
        stamps = [int(a.headers["webhook-timestamp"]) for a in attempts]
        assert [b - a for a, b in pairwise(stamps)] == [5, 300, 1800]  # scenario time
        gaps = [b.at - a.at for a, b in pairwise(attempts)]
        for gap, nominal in zip(gaps, [5, 300, 1800], strict=True):
            assert gap >= nominal * 0.0005 * 0.9  # real waits are the scaled schedule
        check_standard_webhooks(attempts[0].body, attempts[0].headers, "POST", receiver.url)


async def test_idaas_gives_up_after_three_attempts_on_5xx_and_never_retries_4xx(aiohttp_server, registry):
    receiver = await start_receiver(
        aiohttp_server, Receiver(lambda r, nth: (503,) if json.loads(r.body)["type"].endswith("succeeded") else (404,))
    )
    t = target(registry, receiver.url, "idaas", signing={"secret": "idaas-token"})
    summary, store = await play(registry, [t], "login-failure", time_scale=0.001)
    counts: dict[str, set[int]] = {}
    for attempts in receiver.by_event().values():
        counts.setdefault(json.loads(attempts[0].body)["type"], set()).add(len(attempts))
    assert counts == {"authentication.succeeded": {3}, "authentication.failed": {1}}
    assert not summary.ok and summary.failed == summary.events == len(receiver.by_event())
    delays = [a["next_delay_ms"] for a in store.attempts(1)]
    assert len(delays) in (1, 3)
    if len(delays) == 3:
        assert 1800 <= delays[0] <= 2200 and 3600 <= delays[1] <= 4400 and delays[2] is None


async def test_fusionauth_fires_and_forgets_by_default(aiohttp_server, registry):
    """The default transaction type None: "FusionAuth 'fires and forgets'" (writing-a-webhook.mdx, Retries)."""
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (500,)))
    t = target(registry, receiver.url, "fusionauth")
    summary, store = await play(registry, [t], "login")
    assert [len(v) for v in receiver.by_event().values()] == [1]
    assert summary.failed == 1 and summary.attempts == 1
    assert [a["next_delay_ms"] for a in store.attempts(1)] == [None]


async def test_fusionauth_retries_three_more_times_when_the_transaction_held(aiohttp_server, registry):
    """ "If the webhook transaction succeeds, FusionAuth will try to send the payload to any failed webhooks
    again ... up to three additional times" (writing-a-webhook.mdx, Retries)."""
    bad = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (500,)))
    good = await start_receiver(aiohttp_server)
    targets = [target(registry, bad.url, "fusionauth", name="bad"), target(registry, good.url, "fusionauth")]
    summary, store = await play(registry, targets, "login", transaction="Any")
    assert [len(v) for v in bad.by_event().values()] == [4]
    assert [len(v) for v in good.by_event().values()] == [1]
    failed = next(d for d in store.deliveries(summary.run) if d["status"] == "failed")
    log = store.attempts(failed["id"])
    assert [a["number"] for a in log] == [1, 2, 3, 4]
    assert [a["next_delay_ms"] for a in log] == [0, 0, 0, None]


async def test_keycloak_backoff_spacing(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (502,) if nth <= 3 else (200,)))
    t = target(registry, receiver.url, "keycloak", events=["LOGIN"])
    summary, store = await play(registry, [t], "login", time_scale=0.001)
    assert summary.ok and summary.attempts == 4
    delays = [a["next_delay_ms"] for a in store.attempts(1)]
    for delay, base in zip(delays, [500, 2500, 12500], strict=False):
        assert base * 0.5 <= delay <= base * 1.5


async def test_retry_after_is_honoured(aiohttp_server, registry):
    receiver = await start_receiver(
        aiohttp_server, Receiver(lambda r, nth: (429, {"Retry-After": "30"}) if nth == 1 else (200,))
    )
    t = target(registry, receiver.url, retry={"attempts": 3, "schedule": ["1s"], "retry_on": ["429"]})
    summary, store = await play(
        registry,
        [t],
        "login",
        time_scale=0.001,
    )
    assert summary.ok
    assert store.attempts(1)[0]["next_delay_ms"] == 30_000


async def test_gone_stops_at_once(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (410,)))
    t = target(registry, receiver.url, retry="standard-webhooks", concurrency=1, disable_on_gone=True)
    summary, store = await play(registry, [t], "login")
    assert summary.failed == summary.events == 3 and summary.attempts == 1  # and the target is disabled
    assert "410 Gone" in store.attempts(1)[0]["error"]
    t = target(registry, receiver.url, retry="standard-webhooks", disable_on_gone=False)
    summary, store = await play(registry, [t], "login")
    assert summary.failed == summary.attempts == summary.events == 3  # each stops at once, none retried


async def test_abort_message_stops_standard_webhooks_retries(aiohttp_server, registry):
    receiver = await start_receiver(
        aiohttp_server, Receiver(lambda r, nth: (500, {"webhook-delivery": "abort-message"}))
    )
    t = target(
        registry, receiver.url, signing={"scheme": "standard-webhooks", "secret": WHSEC}, retry="standard-webhooks"
    )
    summary, store = await play(registry, [t], "login")
    assert summary.attempts == summary.failed == 3
    assert "abort-message" in store.attempts(1)[0]["error"]


# -- the outbox ------------------------------------------------------------------------------
async def test_a_delivery_is_stored_before_its_first_attempt(aiohttp_server, registry, tmp_path):
    db = tmp_path / "store.db"
    seen_in_store: list[bool] = []

    def look(request) -> None:
        other = sqlite3.connect(db)  # a second connection sees only what was committed
        row = other.execute(
            "SELECT count(*) FROM deliveries d JOIN events e ON e.id = d.event WHERE e.event_id = ?",
            (request.event_id,),
        ).fetchone()
        other.close()
        seen_in_store.append(row[0] == 1)

    receiver = await start_receiver(aiohttp_server, Receiver(on_request=look))
    summary, _ = await play(registry, [target(registry, receiver.url)], "tour", store=Store(db))
    assert summary.ok and seen_in_store and all(seen_in_store)


async def test_the_log_keeps_each_attempt_and_a_bounded_excerpt(aiohttp_server, registry):
    receiver = await start_receiver(
        aiohttp_server,
        Receiver(lambda r, nth: (500, {"X-Trace": "abc"}, b"E" * 10000) if nth == 1 else (200, None, b"ok")),
    )
    _, store = await play(registry, [target(registry, receiver.url, events=["LOGIN"])], "login")
    first, second = store.attempts(1)
    assert first["status"] == 500 and first["response_headers"]["X-Trace"] == "abc"
    assert len(first["response_body"]) == 4096 and first["error"] == "HTTP 500"
    assert second["status"] == 200 and second["response_body"] == b"ok" and second["error"] is None
    assert first["scenario_ms"] < second["scenario_ms"]


async def test_secrets_never_reach_the_store(aiohttp_server, registry, tmp_path):
    db = tmp_path / "store.db"
    receiver = await start_receiver(aiohttp_server)
    t = target(
        registry,
        receiver.url,
        signing={"secret": "TOPSECRET-signing"},
        headers={"X-Api-Key": "TOPSECRET-header", "X-Team": "billing"},
        basic_auth={"username": "u", "password": "TOPSECRET-password"},
    )
    store = Store(db)
    await play(registry, [t], "tour", store=store)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"TOPSECRET" not in raw
    assert b"billing" in raw  # an ordinary header is kept, so resume can send it
    assert "TOPSECRET" not in repr(t)


async def test_resend_keeps_the_event_id(aiohttp_server, registry):
    from emulator.delivery.runner import resume

    fail = {"on": True}
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (500,) if fail["on"] else (200,)))
    t = target(registry, receiver.url, events=["LOGIN"], retry="none")
    summary, store = await play(registry, [t], "login")
    assert summary.failed == 1
    fail["on"] = False
    assert store.requeue_failed(summary.run) == 1
    [again] = await resume(store, registry, time_scale=0)
    assert again.delivered == 1
    ids = [r.event_id for r in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert store.counts(summary.run)["delivered"] == 1


async def test_signed_time_now_keeps_compressed_retries_within_a_consumers_tolerance(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (500,) if nth <= 3 else (200,)))
    t = target(
        registry,
        receiver.url,
        signing={"scheme": "standard-webhooks", "secret": WHSEC},
        retry="standard-webhooks",
        signed_time="now",
        events=["LOGIN"],
    )
    summary, store = await play(registry, [t], "login", time_scale=0.0002)
    assert summary.ok and len(receiver.requests) == 4
    for request in receiver.requests:  # the standardwebhooks library accepts every attempt
        check_standard_webhooks(request.body, request.headers, "POST", receiver.url)
    assert [a["scenario_ms"] for a in store.attempts(1)][-1] - NOW.timestamp() * 1000 == (5 + 300 + 1800) * 1000


@pytest.mark.parametrize(
    ("scheme", "timed"), [("keycloak-hmac", False), ("fusionauth-jwt", False), ("standard-webhooks", True)]
)
async def test_a_signature_without_the_attempts_time_is_made_once_per_delivery(
    aiohttp_server, registry, monkeypatch, scheme, timed
):
    from emulator.delivery import request
    from emulator.delivery.signing import sign

    receiver = await start_receiver(aiohttp_server, Receiver(lambda request, nth: (500,) if nth < 3 else (200,)))
    signed: list[int] = []
    monkeypatch.setattr(request, "sign", lambda s, m: signed.append(m.timestamp) or sign(s, m))
    t = target(registry, receiver.url, signing={"scheme": scheme, "secret": "a-secret-of-32-bytes-for-hs256-jwt"},
               retry={"attempts": 3, "schedule": ["0s"], "retry_on": ["5xx"]})  # fmt: skip
    summary, _ = await play(registry, [t], "logout")
    assert summary.ok and summary.attempts == 3 * summary.delivered == len(receiver.requests)
    # a signature of the body alone is made for the first attempt and sent again by the retries; one with
    # a signed time is made again for a retry in another second: each carries its own attempt's time
    if timed:
        sent = [int(r.headers["webhook-timestamp"]) for r in receiver.requests]
        assert set(sent) <= set(signed) and all(abs(stamp - time.time()) < 60 for stamp in sent)
    else:
        assert len(signed) == summary.delivered
    if not timed:  # the retries carry the very same signature
        name = {"keycloak-hmac": "X-Keycloak-Signature", "fusionauth-jwt": "X-FusionAuth-Signature-JWT"}[scheme]
        assert len({r.headers[name] for r in receiver.requests}) == len({r.body for r in receiver.requests})


@pytest.mark.parametrize(
    ("vendor", "spec"),
    [
        ("fusionauth", {}),  # a JWT of the body's hash: no time in it
        ("keycloak", {}),
        ("auth0", {"format": "lines", "batch": {"size": 1}}),  # framed before it is signed, one log per request
        ("idaas", {"signed_time": "scenario"}),  # a signed time, known before the attempt
        ("flip", {"signing": {"scheme": "standard-webhooks"}}),  # this second's time: the same unless it ticks
    ],
)
async def test_signing_ahead_sends_exactly_what_signing_at_the_attempt_sends(registry, monkeypatch, vendor, spec):
    """An actor's next delivery is signed while the one before it waits on the network; what goes on
    the wire is byte for byte what signing at the attempt sends, and it verifies."""
    from emulator.delivery.sender import Sender
    from emulator.render import load
    from emulator.store import Store
    from emulator.testing.receiver import WebhookReceiver

    secret = "sign-ahead-secret-of-32-bytes-or-more"
    signed_ahead = []
    plain = Sender.sign_ahead

    def counting(self, target, event_id, body, timestamp):
        signed_ahead.append(event_id)
        plain(self, target, event_id, body, timestamp)

    wire = {}
    scheme = spec.get("signing", {}).get("scheme")
    async with WebhookReceiver(vendor, secret=secret, scheme=scheme) as receiver:  # one URL: idaas signs it
        for ahead in (True, False):
            monkeypatch.setattr(Sender, "sign_ahead", counting if ahead else lambda *args: None)
            receiver.received.clear()
            signing = {"secret": secret, **spec.get("signing", {})}
            spec_ = {"name": "t", "url": receiver.url, "vendor": vendor, **spec, "signing": signing}
            target = build_target({**spec_, "concurrency": 1}, registry)
            start = datetime(2026, 3, 1, 9, tzinfo=UTC)
            await deliver_run(load("brute-force"), [target], Store(), 5, start, 0, registry=registry)
            receiver.assert_signed()
            wire[ahead] = [(w.body, w.headers) for w in receiver.received]
    assert len(signed_ahead) >= 5  # the actor's deliveries queued behind each other were signed ahead
    if "signed_time" not in spec and vendor == "flip":  # signed at the wall clock: the bodies alike, each verified
        assert [body for body, _ in wire[True]] == [body for body, _ in wire[False]] and len(wire[True]) > 5
        return
    assert wire[True] == wire[False] and len(wire[True]) > 5


async def test_nothing_is_signed_ahead_while_other_deliveries_are_ready(aiohttp_server, registry, monkeypatch):
    """Signing ahead is for a loop that would wait: with another actor's delivery ready, the worker
    has work, so each delivery is signed at its attempt (signing ahead then cost 5% of a delivery's
    instructions for nothing) and every request still verifies."""
    from emulator.delivery.sender import Sender

    ahead = []
    monkeypatch.setattr(Sender, "sign_ahead", lambda self, target, event_id, *rest: ahead.append(event_id))
    two = "name: two\nactors: {a: {}, b: {}}\nsteps:\n  - repeat: {count: 6, every: 1s, steps: [{login: {actor: a}}, {login: {actor: b}}]}\n"
    receiver = await start_receiver(aiohttp_server)
    t = target(registry, receiver.url, signing={"secret": "kc-secret"}, concurrency=1)
    summary, _ = await play(registry, [t], two)
    assert summary.ok and summary.delivered == len(receiver.requests) >= 12
    for request in receiver.requests:
        check_keycloak(request.body, request.headers, request.method, request.url)
    assert ahead == []  # each actor's next delivery waited behind the other actor's, which was ready


async def test_a_producer_held_at_the_open_limit_goes_on_for_many_deliveries_at_once(
    aiohttp_server, registry, monkeypatch
):
    """A play longer than the deliveries held in memory waits for room, and is woken once a tenth of
    them is final, not after each one (a wake-up, and one more stored, for every delivery)."""
    import asyncio

    from emulator.delivery import dispatcher

    monkeypatch.setattr(dispatcher, "MAX_OPEN", 40)
    receiver = await start_receiver(aiohttp_server)
    woken = 0

    class Counted(asyncio.Event):
        async def wait(self) -> bool:
            nonlocal woken
            await super().wait()
            woken += 1
            return True

    def watch(d: dispatcher.Dispatcher) -> None:
        d._room = Counted()
        d._room.set()

    t = target(registry, receiver.url, ordering="unordered", concurrency=1)
    summary, _ = await play(registry, [t], logins(300), watch=watch)
    assert summary.ok and summary.delivered == len(receiver.requests) > 10 * dispatcher.MAX_OPEN
    assert 0 < woken <= summary.delivered // 4  # each wake makes room for 4 of 40; one per delivery before


async def test_the_play_stores_few_events_first_then_more_in_each_transaction(aiohttp_server, registry, monkeypatch):
    """The first attempt waits only for a small first transaction; later ones store more events each,
    up to a limit, since every transaction has a cost of its own."""
    from emulator.delivery import runner

    monkeypatch.setattr(runner, "FIRST_STORED", 4)
    monkeypatch.setattr(runner, "MOST_STORED", 32)
    receiver = await start_receiver(aiohttp_server)
    stored: list[int] = []

    def watch(d) -> None:
        add = d.writer.add

        async def counted(run_id, batch):
            stored.append(len(batch))
            return await add(run_id, batch)

        d.writer.add = counted

    summary, _ = await play(registry, [target(registry, receiver.url)], logins(100), watch=watch)
    assert summary.ok and sum(stored) == summary.events == len(receiver.requests) > 4 * 32
    assert stored[:5] == [4, 8, 16, 32, 32] and max(stored) == 32
