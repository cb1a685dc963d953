"""Each fault, seen by a real receiver exactly as injected, and the same again for the same seed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from emulator.delivery.faults import FaultError, parse_faults
from emulator.delivery.runner import deliver_run
from emulator.delivery.signing import verify
from emulator.delivery.targets import build_target
from emulator.errors import Problem, ScenarioError
from emulator.render import load, render_events
from emulator.scenario.loader import load_scenario_text
from emulator.store import Store
from emulator.testing.receiver import WebhookReceiver

NOW = datetime.now(UTC).replace(microsecond=0)
WHSEC = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
MANY = "name: many\nactors: {alice: {}, bob: {}}\nsteps:\n  - login: {actor: alice}\n    repeat: {count: 10, every: 1s}\n  - login: {actor: bob}\n    repeat: {count: 10, every: 1s}\n"


async def run(registry, faults, scenario="login", vendor="keycloak", seed=1, secret="kc-secret", **spec):
    receiver = WebhookReceiver(vendor, secret, spec.get("signing", {}).get("scheme"), registry=registry)
    await receiver.start()
    spec.setdefault("signing", {})["secret"] = secret
    t = build_target({"name": "t", "url": receiver.url, "vendor": vendor, "faults": faults, **spec}, registry)
    store = Store()
    story = load_scenario_text(scenario) if "\n" in scenario else load(scenario)
    summary = await deliver_run(story, [t], store, seed, NOW, 0.001, registry=registry)
    await receiver.stop()
    return summary, store, receiver


async def test_duplicate(registry):
    summary, store, receiver = await run(registry, [{"duplicate": {"copies": 2, "delay": "1s"}}])
    counts = {}
    for w in receiver.received:
        counts[w.id] = counts.get(w.id, 0) + 1
    assert sorted(counts.values()) == [3, 3, 3] and summary.delivered == 9
    deliveries = store.deliveries(summary.run)
    copies = [d for d in deliveries if d["copy_of"]]
    assert len(copies) == 6 and all(d["injected"].startswith("duplicate of delivery") for d in copies)
    assert {d["injected"] for d in deliveries if not d["copy_of"]} == {"duplicated x2"}


async def test_faults_are_drawn_from_the_seed(registry):
    async def duplicated(seed):
        _, _, receiver = await run(registry, [{"duplicate": {"probability": 0.5}}], MANY, seed=seed)
        return sorted(i for i, n in receiver.duplicates().items())

    first, again, other = await duplicated(3), await duplicated(3), await duplicated(4)
    assert first == again and 0 < len(first) < 40 and first != other


async def test_reorder(registry):
    _summary, _store, receiver = await run(
        registry, [{"reorder": {"window": 5}}], MANY, concurrency=1, ordering="unordered"
    )
    played = [e.id for e in render_events(load_scenario_text(MANY), "keycloak", 1, NOW, registry)]
    arrived = [w.id for w in receiver.received]
    assert sorted(arrived) == sorted(played) and arrived != played
    for start in range(0, 40, 5):  # shuffled within windows of 5, never across
        assert sorted(arrived[start : start + 5]) == sorted(played[start : start + 5])
    _, _, again = await run(registry, [{"reorder": {"window": 5}}], MANY, concurrency=1, ordering="unordered")
    assert [w.id for w in again.received] == arrived


async def test_delay(registry):
    summary, store, receiver = await run(registry, [{"delay": {"fixed": "20s", "events": ["LOGOUT"]}}])
    assert [w.type for w in receiver.received][-1] == "access.LOGOUT"
    logout = next(d for d in store.deliveries(summary.run) if d["type"] == "LOGOUT")
    assert logout["injected"] == "delayed 20.000 s"


async def test_drop(registry):
    summary, store, receiver = await run(registry, [{"drop": {"events": ["LOGOUT"]}}])
    assert [w.type for w in receiver.received] == ["access.LOGIN", "access.CODE_TO_TOKEN"]
    assert summary.dropped == 1 and summary.ok
    assert store.counts(summary.run)["dropped"] == 1


@pytest.mark.parametrize(("mode", "reason"), [("wrong", "does not match"), ("missing", "missing X-Keycloak-Signature")])
async def test_bad_signature(registry, mode, reason):
    _summary, store, receiver = await run(registry, [{"bad_signature": {"mode": mode}}])
    assert all(w.verdict.ok is False and reason in w.verdict.reason for w in receiver.received)
    assert store.attempts(1)[0]["injected"] == f"{mode} signature"


@pytest.mark.parametrize("offset", ["-10m", "+10m"])
async def test_stale_or_future_timestamp(registry, offset):
    spec = {"signing": {"scheme": "standard-webhooks"}, "signed_time": "now"}
    _summary, _, receiver = await run(registry, [{"timestamp": {"offset": offset}}], secret=WHSEC, **spec)
    for w in receiver.received:
        assert w.verdict.ok is True  # signed correctly, only the time is off
        late = verify("standard-webhooks", [WHSEC], w.body, w.headers, tolerance=300)
        assert late.ok is False and "away from now" in late.reason
        assert abs(int(w.headers["webhook-timestamp"]) - w.at - (600 if offset[0] == "+" else -600)) < 5


async def test_rotation_signs_with_both_secrets(registry):
    spec = {"signing": {"scheme": "standard-webhooks"}}
    old = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="
    _, _, receiver = await run(registry, [{"rotation": {"previous": old}}], secret=WHSEC, **spec)
    w = receiver.received[0]
    assert len(w.headers["webhook-signature"].split()) == 2
    assert verify("standard-webhooks", [old], w.body, w.headers).ok is True
    assert verify("standard-webhooks", [WHSEC], w.body, w.headers).ok is True


async def test_rotation_with_one_signature_signs_with_the_previous_secret(registry):
    _, _, receiver = await run(registry, [{"rotation": {"previous": "old-kc-secret"}}])
    w = receiver.received[0]
    assert w.verdict.ok is False  # the receiver knows only the new secret
    assert verify("keycloak-hmac", ["old-kc-secret"], w.body, w.headers).ok is True


async def test_malformed_json_is_signed_as_sent(registry):
    _, _, receiver = await run(registry, ["malformed_json"])
    for w in receiver.received:
        with pytest.raises(ValueError):
            json.loads(w.body)
        assert w.verdict.ok is True and w.id is None


async def test_truncated_in_transit(registry):
    summary, store, receiver = await run(registry, [{"truncate": {"at": 0.5}}])
    bodies = [e["body"] for e in store.events(summary.run)]
    for w, body in zip(receiver.received, bodies, strict=True):
        assert w.body == body[: len(body) // 2] and w.verdict.ok is False


async def test_wrong_content_type(registry):
    _, _, receiver = await run(registry, [{"content_type": {"value": "text/plain"}}])
    assert {w.headers["Content-Type"] for w in receiver.received} == {"text/plain"}


async def test_oversized_body(registry):
    _, _, receiver = await run(registry, [{"oversize": {"size": "2MB", "events": ["LOGIN"]}}])
    big = receiver.received[0]
    assert len(big.body) >= 2 * 1024 * 1024 - 64 and big.json()["padding"].startswith("xxx")
    assert big.verdict.ok is True and big.id is not None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["dupliate"], "unknown fault 'dupliate'; did you mean 'duplicate'?"),
        ([{"duplicate": {"copies": 0}}], "faults[0].duplicate.copies: a whole number from 1 to 100"),
        ([{"delay": {"fixed": "2s", "uniform": ["1s", "2s"]}}], "give one of fixed"),
        ([{"drop": {"probability": 2}}], "probability: a number from 0 to 1"),
        ([{"oversize": {"size": "1TB"}}], "expected a size such as 10MB"),
        ([{"rotation": {}}], "the previous secret"),
        ([{"truncate": {"at": 1}}], "from 0 up to"),
        ([{"reorder": {"windw": 3}}], "unknown setting 'windw'"),
    ],
)
def test_bad_faults_are_explained(raw, message):
    with pytest.raises(
        FaultError, match=message.replace("(", r"\(").replace("?", r"\?").replace("[", r"\[").replace("]", r"\]")
    ):
        parse_faults(raw)


def test_a_target_with_a_bad_fault_names_it(registry):
    with pytest.raises(Problem, match="target 't': faults\\[0\\]: unknown fault"):
        build_target({"name": "t", "url": "http://127.0.0.1:9/", "vendor": "keycloak", "faults": ["nope"]}, registry)


def test_the_previous_secret_is_not_stored(registry):
    t = build_target(
        {
            "name": "t",
            "url": "http://127.0.0.1:9/",
            "vendor": "keycloak",
            "faults": [{"rotation": {"previous": "old!"}}],
        },
        registry,
    )
    assert "old!" not in json.dumps(t.stored)


# -- targets that the vendor disables ------------------------------------------------------
async def test_410_gone_disables_the_target(registry):
    receiver = WebhookReceiver("keycloak", registry=registry)
    await receiver.start()
    receiver.respond(410, per_event=False)
    spec = {"name": "t", "url": receiver.url, "vendor": "keycloak", "concurrency": 1, "retry": "keycloak-strict"}
    t = build_target({**spec, "disable_on_gone": True}, registry)
    store = Store()
    summary = await deliver_run(load_scenario_text(MANY), [t], store, 1, NOW, 0.001, registry=registry)
    await receiver.stop()
    assert len(receiver.received) == 1 and summary.failed == summary.events == 40 and summary.attempts == 1
    refused = store.deliveries(summary.run)[-1]
    assert refused["last_error"] == "not sent: the target is disabled (the receiver answered 410 Gone)"
    assert store.targets(summary.run)["t"]["disabled"] == "the receiver answered 410 Gone"


async def test_failures_in_a_row_disable_the_target_until_a_resend(registry):
    from emulator.delivery.runner import resume

    receiver = WebhookReceiver("keycloak", registry=registry)
    await receiver.start()
    receiver.respond(500, per_event=False, then=500)
    spec = {
        "name": "t",
        "url": receiver.url,
        "vendor": "keycloak",
        "concurrency": 1,
        "retry": "none",
        "disable_after": 3,
    }
    store = Store()
    summary = await deliver_run(
        load_scenario_text(MANY), [build_target(spec, registry)], store, 1, NOW, 0, registry=registry
    )
    assert len(receiver.received) == 3 and summary.failed == 40
    assert store.targets(summary.run)["t"]["disabled"] == "3 failed deliveries in a row"
    receiver.respond(then=200)
    store.requeue_failed(summary.run)
    [again] = await resume(store, registry, time_scale=0)
    await receiver.stop()
    assert again.delivered == 40 and "disabled" not in store.targets(summary.run)["t"]


def test_idaas_disables_after_100_failures_in_a_row(registry):
    t = build_target({"name": "t", "url": "http://127.0.0.1:9/", "vendor": "idaas"}, registry)
    assert t.disable_after == 100 and t.disable_on_gone


STEP_FAULTS = """\
name: step-faults
actors: {alice: {}}
steps:
  - login: {actor: alice}
  - login: {actor: alice}
    faults: [{duplicate: {copies: 1}}, {bad_signature: {mode: missing}}]
"""


async def test_a_scenario_step_can_ask_for_faults(registry):
    summary, store, receiver = await run(registry, [], STEP_FAULTS)
    played = [e.id for e in render_events(load_scenario_text(STEP_FAULTS), "keycloak", 1, NOW, registry)]
    second = played[2:]
    assert sorted(receiver.duplicates()) == sorted(second)  # only the faulty step's events came twice
    for w in receiver.received:
        assert (w.verdict.ok is False) == (w.id in second)
    assert all(store.events(summary.run)[i]["faults"] is None for i in range(2))


def test_validate_reports_bad_step_faults_at_their_step(tmp_path, capsys):
    from emulator.cli import main

    path = tmp_path / "bad.yaml"
    path.write_text(STEP_FAULTS.replace("duplicate", "duplicat"))
    assert main(["validate", str(path)]) == 1
    assert f"{path}:6:13: faults[0]: unknown fault 'duplicat'; did you mean 'duplicate'?" in capsys.readouterr().out


# -- what a review found --------------------------------------------------------------------
async def test_a_wrong_signature_never_verifies_even_with_two_secrets(registry):
    old = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="
    faults = [{"rotation": {"previous": old}}, {"bad_signature": {"mode": "wrong"}}]
    _, _, receiver = await run(registry, faults, MANY, secret=WHSEC, signing={"scheme": "standard-webhooks"})
    for w in receiver.received:
        assert verify("standard-webhooks", [WHSEC], w.body, w.headers).ok is False
        assert verify("standard-webhooks", [old], w.body, w.headers).ok is False


async def test_reorder_depends_on_the_seed_not_on_the_store(registry):
    receiver = WebhookReceiver("keycloak", registry=registry)
    await receiver.start()
    spec = {"name": "t", "url": receiver.url, "vendor": "keycloak", "faults": [{"reorder": {"window": 5}}],
            "concurrency": 1, "ordering": "unordered"}  # fmt: skip
    store = Store()  # one store for both runs: delivery ids differ, the order must not
    orders = []
    for _ in range(2):
        receiver.received.clear()
        await deliver_run(load_scenario_text(MANY), [build_target(spec, registry)], store, 1, NOW, 0, registry=registry)
        orders.append([w.id for w in receiver.received])
    await receiver.stop()
    assert orders[0] == orders[1]


async def test_held_back_rows_never_block_admission(registry, monkeypatch):
    monkeypatch.setattr("emulator.delivery.dispatcher.MAX_OPEN", 8)
    import asyncio

    summary, _, receiver = await asyncio.wait_for(
        run(registry, [{"reorder": {"window": 1000}}], MANY, ordering="unordered"), 20
    )
    assert summary.delivered == 40 and len(receiver.received) == 40


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([{"duplicate": 5}], "settings are a mapping"),
        ([{"duplicate": [1, 2]}], "settings are a mapping"),
        ([{"drop": {"events": [1]}}], "a list of event-type globs"),
        ([{"drop": {"events": "user.*"}}], "a list of event-type globs"),
    ],
)
def test_fault_settings_of_the_wrong_type(raw, message):
    with pytest.raises(FaultError, match=message):
        parse_faults(raw)


async def test_a_bad_fault_in_a_late_step_stops_the_run_before_anything_is_sent(registry):
    late = STEP_FAULTS.replace("duplicate: {copies: 1}", "dupicate: {}")
    with pytest.raises(ScenarioError, match="unknown fault 'dupicate'"):  # the scenario is refused as it is read
        await run(registry, [], late)
