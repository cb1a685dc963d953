"""FusionAuth's webhook transactions, end to end: five types, 1 to 3 webhooks, every mix of answers."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

import pytest

from emulator.delivery.runner import deliver_run
from emulator.delivery.targets import build_target
from emulator.render import load
from emulator.store import Store
from emulator.testing.receiver import WebhookReceiver

NOW = datetime.now(UTC).replace(microsecond=0)
NEEDED = {  # (type, webhooks) -> how many must answer 2xx, from FusionAuth's documented table
    **{("None", n): 0 for n in (1, 2, 3)},
    **{("Any", n): 1 for n in (1, 2, 3)},
    ("SimpleMajority", 1): 1, ("SimpleMajority", 2): 1, ("SimpleMajority", 3): 2,
    ("SuperMajority", 1): 1, ("SuperMajority", 2): 2, ("SuperMajority", 3): 2,
    **{("AbsoluteMajority", n): n for n in (1, 2, 3)},
}  # fmt: skip
CASES = [
    (kind, mix)
    for kind in ("None", "Any", "SimpleMajority", "SuperMajority", "AbsoluteMajority")
    for n in (1, 2, 3)
    for mix in itertools.product((True, False), repeat=n)
]


@pytest.fixture
async def receivers():
    started = [await WebhookReceiver("fusionauth").start() for _ in range(3)]
    yield started
    for r in started:
        await r.stop()


@pytest.mark.parametrize(
    ("kind", "mix"), CASES, ids=[f"{k}-{''.join('ok' if m else 'x' for m in mix)}" for k, mix in CASES]
)
async def test_transaction_table(registry, receivers, kind, mix):
    used = receivers[: len(mix)]
    for receiver, good in zip(used, mix, strict=True):
        receiver.received.clear()
        receiver.respond(then=200 if good else 500)
    targets = [
        build_target(
            {"name": f"w{i}", "url": r.url, "vendor": "fusionauth", "events": ["user.login.success"]}, registry
        )
        for i, r in enumerate(used)
    ]
    store = Store()
    summary = await deliver_run(load("login"), targets, store, 1, NOW, 0, registry=registry, transaction=kind)
    [step] = summary.steps
    succeeded, held = sum(mix), sum(mix) >= NEEDED[kind, len(mix)]
    assert (step["succeeded"], step["webhooks"], step["needed"], step["committed"]) == (
        succeeded, len(mix), NEEDED[kind, len(mix)], held,
    )  # fmt: skip
    retried = held and kind != "None"
    for receiver, good in zip(used, mix, strict=True):
        # a failed webhook gets FusionAuth's 3 more attempts only when the transaction held (and is not None)
        assert len(receiver.received) == (1 if good or not retried else 4)
    if not held:
        assert step["answer"].startswith('504 {"generalErrors":[{"code":"[WebhookTransactionException]"')
        assert (
            json.loads(step["answer"].split(" ", 1)[1])["generalErrors"][0]["code"] == "[WebhookTransactionException]"
        )


async def test_non_transactional_events_never_wait(registry, receivers):
    receiver = receivers[0]
    receiver.received.clear()
    receiver.respond(then=500)
    t = build_target({"name": "w", "url": receiver.url, "vendor": "fusionauth"}, registry)
    summary = await deliver_run(load("password-reset"), [t], Store(), 1, NOW, 0, registry=registry, transaction="Any")
    transactional = {s["event"] for s in summary.steps}
    assert "user.password.reset.send" not in transactional  # non-transactional: sent, never blocks
    assert summary.events > len(summary.steps)


def test_an_unknown_transaction_type_is_named(registry):
    import asyncio

    from emulator.errors import Problem

    t = build_target({"name": "w", "url": "http://127.0.0.1:9/", "vendor": "fusionauth"}, registry)
    with pytest.raises(Problem, match="transaction type 'Most' is not one of: None, Any"):
        asyncio.run(deliver_run(load("login"), [t], Store(), 1, NOW, 0, registry=registry, transaction="Most"))


STEP = """\
name: guarded-login
actors: {alice: {}}
steps:
  - login: {actor: alice}
    transaction: AbsoluteMajority
  - logout: {actor: alice}
"""


@pytest.mark.parametrize("answer", [200, 500])
async def test_a_step_commits_only_if_its_webhooks_answer_2xx(registry, receivers, answer):
    from emulator.scenario.loader import load_scenario_text

    receiver = receivers[0]
    receiver.respond(then=answer)
    t = build_target({"name": "w", "url": receiver.url, "vendor": "keycloak", "retry": "none"}, registry)
    summary = await deliver_run(load_scenario_text(STEP), [t], Store(), 1, NOW, 0, registry=registry)
    if answer == 200:
        assert [s["event"] for s in summary.steps] == ["LOGIN", "CODE_TO_TOKEN"]  # the logout is not guarded
        assert all(s["committed"] for s in summary.steps)
    else:  # the login failed: the code was never exchanged
        [step] = summary.steps
        assert step["event"] == "LOGIN" and step["committed"] is False and step["not_sent"] == ["CODE_TO_TOKEN"]
        assert step["answer"] == "the IdP refused the action: not enough of its webhooks answered 2xx"


def test_an_unknown_step_transaction_is_named(tmp_path):
    from emulator.errors import ScenarioError
    from emulator.scenario.loader import load_scenario_text

    with pytest.raises(
        ScenarioError, match=r"s.yaml:5:18: unknown transaction type 'All'; expected one of: AbsoluteMajority, Any"
    ):
        load_scenario_text(STEP.replace("AbsoluteMajority", "All"), "s.yaml")


MANY = """
name: many-logins
actors: {alice: {}}
steps:
  - login: {actor: alice}
    repeat: {count: 6, every: 1m}
    transaction: AbsoluteMajority
"""


@pytest.mark.parametrize("kind", ["None", "AbsoluteMajority"])
async def test_a_long_run_lists_the_first_transactions_and_counts_the_rest(registry, receivers, monkeypatch, kind):
    """Under None every login is transactional: a long run lists the first ones and counts the rest,
    so memory and output stay bounded, and no uncommitted event goes uncounted."""
    from emulator.delivery import report, runner
    from emulator.scenario.loader import load_scenario_text

    monkeypatch.setattr(runner, "STEPS_LISTED", 2)
    receiver = receivers[0]
    receiver.respond(then=500)
    t = build_target({"name": "w", "url": receiver.url, "vendor": "keycloak", "retry": "none"}, registry)
    text = MANY if kind != "None" else MANY.replace("\n    transaction: AbsoluteMajority", "")
    scenario = load_scenario_text(text)
    fa = build_target(
        {"name": "f", "url": receiver.url, "vendor": "fusionauth", "events": ["user.login.success"]}, registry
    )
    targets = [fa] if kind == "None" else [t]
    summary = await deliver_run(scenario, targets, Store(), 1, NOW, 0, registry=registry, transaction=kind)
    assert len(summary.steps) == 2 and summary.steps.total == 6
    out = summary.as_dict()
    if kind == "None":  # FusionAuth commits whatever its webhooks answer
        assert out["transactions_unlisted"] == {"events": 4, "not_committed": 0}
        assert all(step["committed"] and step["succeeded"] == 0 for step in summary.steps)
    else:
        assert out["transactions_unlisted"] == {"events": 4, "not_committed": 4}
        assert "and 4 more transactional events not committed" in report.summary_table([summary])


MIXED = """
name: guarded-logins
actors: {alice: {}, bob: {}}
steps:
  - login: {actor: alice}
    transaction: AbsoluteMajority
  - login: {actor: bob}
    transaction: AbsoluteMajority
"""


async def test_a_refused_action_is_counted_played_only_after_what_was_played_before_it_is_stored(
    registry, receivers, monkeypatch
):
    """A resumed play skips the first ``played`` events: each event the IdP never sent is counted only
    once every event before it (another vendor's, waiting in a batch) is stored."""
    from emulator.delivery.runner import _Play
    from emulator.scenario.loader import load_scenario_text
    from emulator.store.outbox import Outbox

    refusing, answering = receivers[0], receivers[1]
    refusing.respond(then=500)
    answering.respond(then=200)
    scenario = load_scenario_text(MIXED)
    targets = [
        build_target({"name": "kc", "url": refusing.url, "vendor": "keycloak", "retry": "none"}, registry),
        # FusionAuth's logins go to no target: stored with the batch, in between Keycloak's events
        build_target(
            {"name": "fa", "url": answering.url, "vendor": "fusionauth", "events": ["user.login.failed"]}, registry
        ),
    ]
    seen: list[tuple[int, set[str]]] = []  # at each skip: played, and the events stored
    skip = Outbox.skip

    def recording(self: Outbox, run_id: str, count: int = 1) -> None:
        skip(self, run_id, count)
        [(played,)] = self.db.execute("SELECT played FROM runs WHERE id = ?", (run_id,)).fetchall()
        seen.append((played, {row[0] for row in self.db.execute("SELECT event_id FROM events")}))

    monkeypatch.setattr(Outbox, "skip", recording)
    store = Store()
    summary = await deliver_run(scenario, targets, store, 1, NOW, 0, registry=registry)
    info = store.run(summary.run)
    assert info is not None
    merged = [e.id for e in _Play(scenario, info["vendors"], 1, NOW, registry, pace=False, skip=0).events()]
    stored = {row["event_id"] for row in store.events(summary.run)}
    never = [e for e in merged if e not in stored]  # the refused actions' events
    assert seen and len(seen) == len(never)
    for played, held in seen:
        assert set(merged[:played]) == held | (set(never) & set(merged[:played]))
