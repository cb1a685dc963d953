"""A run: play a scenario, store each event's deliveries, and deliver them; or resume a store.

This is the glue between the two halves of the flow. Events are rendered ahead (a long play in a
child process, ``emulator.delivery.ahead``) and stored in batches (``stored_sizes``), each committed
before any of its deliveries is attempted, so memory stays flat however long the scenario and
nothing is lost however the process ends.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from emulator.delivery.ahead import Played, rendered
from emulator.delivery.ahead import body_bytes as body_bytes  # what the probe and the benches import
from emulator.delivery.config import Config
from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.faults import FaultError, step_faults
from emulator.delivery.sender import Result
from emulator.delivery.targets import HIDDEN, Target, build_target, hidden_fields, vendor_delivery
from emulator.delivery.transactions import Transactions, step_transaction, transactions_for
from emulator.errors import EmulatorError, Problem
from emulator.overrides import Override, apply_all, parse_overrides, stored
from emulator.render import check_overrides, dry_run, render_events
from emulator.scenario.loader import load_scenario_text
from emulator.scenario.model import MAX_ACTIONS, Scenario, check_size
from emulator.store import DeliveryRow, EventRow, Store
from emulator.store.writer import writer_for
from emulator.vendors.dialect import Event
from emulator.vendors.registry import Registry

PENDING_PAGE = 256  # pending deliveries read back at a time when a run resumes
FIRST_STORED = 128  # events the play stores in its first transaction; each next one stores twice as many,
MOST_STORED = 2_048  # up to this many (4,096 held 42 MB more at the peak of a 1,000,000-delivery run)


def stored_sizes() -> Iterator[int]:
    """How many events each of the play's transactions stores: few at first, so the first attempt
    goes out soon, then more, since every transaction costs the loop and the store writer's thread
    work of its own (its statements' set-up, the pages it writes again, the commit). Transactions of
    up to 2,048 events rather than 256, with attempts flushed by time rather than 500 at a time, made a
    run 7 to 9% faster (``bench/pairs.py``, keycloak and fusionauth)."""
    size = FIRST_STORED
    while True:
        yield size
        size = min(size * 2, MOST_STORED)


STEPS_LISTED = 1_000  # transactional events a summary lists one by one; the rest it counts


class Steps(list[dict[str, Any]]):
    """What the IdP did with each transactional event: the first ``STEPS_LISTED`` listed, all counted.

    Under FusionAuth's default type (None) every ``user.login.success`` is transactional, so a long
    run would otherwise keep a record per event in memory and print them all."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.not_committed = 0  # among all, listed or not

    @property
    def full(self) -> bool:
        """Whether the list is full: from now on a verdict is only counted (``tally``): none need be made."""
        return len(self) >= STEPS_LISTED

    def tally(self, committed: bool) -> None:
        """Count an event (listed or not): all a verdict past the list is kept as."""
        self.total += 1
        self.not_committed += not committed

    def record(self, verdict: dict[str, Any]) -> bool:
        """Count a verdict (final but for a None type's ``succeeded``); whether it is listed."""
        self.tally(verdict["committed"])
        if self.full:
            return False
        self.append(verdict)
        return True

    @property
    def unlisted(self) -> dict[str, int]:
        """The events past the list: how many, and how many of them did not commit."""
        listed_not = sum(1 for step in self if not step["committed"])
        return {"events": self.total - len(self), "not_committed": self.not_committed - listed_not}


@dataclass
class Summary:
    """The end of a run (or a resume): what ``--json`` prints."""

    run: str
    delivered: int = 0
    failed: int = 0
    dropped: int = 0  # by a drop fault
    attempts: int = 0
    events: int = 0
    seconds: float = 0.0
    status: str = "finished"
    targets: dict[str, dict[str, int]] = field(default_factory=dict)
    steps: Steps = field(default_factory=Steps)  # transactional events: committed or not
    # why deliveries failed: {target, reason, deliveries}, the commonest first
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.status == "finished"

    def as_dict(self) -> dict[str, Any]:
        counts = ("run", "status", "events", "delivered", "failed", "dropped", "attempts")
        out: dict[str, Any] = {name: getattr(self, name) for name in counts}
        out |= {"seconds": round(self.seconds, 3), "targets": self.targets}
        if self.steps:
            out["transactions"] = self.steps
            if self.steps.total > len(self.steps):
                out["transactions_unlisted"] = self.steps.unlisted
        if self.failures:
            out["failures"] = self.failures
        return out


def new_run_id() -> str:
    return "run_" + secrets.token_hex(6)


async def deliver_run(
    scenario: Scenario,
    targets: Sequence[Target],
    store: Store,
    seed: int,
    start: datetime | None = None,
    time_scale: float = 1.0,
    pace: bool = False,
    registry: Registry | None = None,
    run_id: str | None = None,
    watch: Callable[[Dispatcher], None] | None = None,
    on_attempt: Callable[[DeliveryRow, Result], None] | None = None,
    transaction: str | None = None,
    max_actions: int = MAX_ACTIONS,
    overrides: Sequence[Override] = (),
    created: asyncio.Future[None] | None = None,
) -> Summary:
    """Play ``scenario`` once for every vendor the targets name and deliver to every target.

    ``transaction`` is the tenant's webhook transaction type (FusionAuth: None, Any, SimpleMajority,
    SuperMajority, AbsoluteMajority): transactional events then commit only when enough webhooks
    answer 2xx, and ``Summary.steps`` says, event by event, what the IdP did. ``overrides``
    (``--set``, ``--unset``) change the events before they are stored and signed; one that matches
    nothing stops the run before anything is stored. ``created``: the run's creation, already
    handed over by ``create_run`` with the same arguments (the API's caller waits for it alone).
    """
    registry = registry or Registry()
    start = start or datetime.now(UTC).replace(microsecond=0)
    run_id = run_id or new_run_id()
    if created is None:
        created = create_run(
            scenario, targets, store, seed, start, registry, run_id, transaction, max_actions, overrides
        )
    await created
    vendors = list(dict.fromkeys(t.vendor for t in targets))
    play = _Play(scenario, vendors, seed, start, registry, pace, skip=0, transaction=transaction, overrides=overrides)
    return await _deliver(
        store, run_id, targets, time_scale, seed, play, False, watch, on_attempt, registry, transaction
    )


def create_run(
    scenario: Scenario,
    targets: Sequence[Target],
    store: Store,
    seed: int,
    start: datetime,
    registry: Registry,
    run_id: str,
    transaction: str | None = None,
    max_actions: int = MAX_ACTIONS,
    overrides: Sequence[Override] = (),
) -> asyncio.Future[None]:
    """Check a run and hand its creation to the store's writer at once (no await): done once the
    store holds the run, what ``deliver_run`` then plays and delivers."""
    check_size(scenario, max_actions)
    vendors = list(dict.fromkeys(t.vendor for t in targets))
    dry_run(scenario, vendors, seed, start, registry, overrides)
    options: dict[str, Any] = {
        "scenario_text": scenario.text,
        "scenario_file": scenario.source,
        "start": start.isoformat(),
        "templates": [str(d) for d in registry.template_dirs],
        "transaction": transaction,
    }
    if overrides:
        options["overrides"] = stored(overrides)
    kept = {t.name: t.stored for t in targets}
    return writer_for(store).submit(lambda own: own.create_run(run_id, scenario.name, vendors, seed, kept, options))


async def deliver_events(
    name: str,
    events: Sequence[Event],
    targets: Sequence[Target],
    store: Store,
    vendor: str,
    registry: Registry,
    run_id: str | None = None,
    watch: Callable[[Dispatcher], None] | None = None,
) -> Summary:
    """Deliver events made elsewhere (a live login's protocol step) as a run of their own: stored,
    routed, signed, retried and recorded exactly as a scenario's. The run keeps no scenario, so a
    resume sends what is pending and never plays anything."""
    run_id = run_id or new_run_id()
    seed = secrets.randbits(32)
    kept = {t.name: t.stored for t in targets}
    await writer_for(store).write(lambda own: own.create_run(run_id, name, [vendor], seed, kept, {"live": True}))
    given = _Given([vendor], registry, list(events))
    return await _deliver(store, run_id, targets, 1.0, seed, given, False, watch, None, registry, None)


async def resume(
    store: Store,
    registry: Registry | None = None,
    config: Config | None = None,
    secret: str | None = None,
    time_scale: float = 1.0,
    run_id: str | None = None,
    watch: Callable[[Dispatcher], None] | None = None,
) -> list[Summary]:
    """Deliver everything still pending in ``store``; a run whose play was cut short (a crash,
    a ``kill -9``) also plays on from its last stored event, with the same seed and start."""
    summaries = []
    for rid in [run_id] if run_id else store.unfinished_runs():
        info = store.run(rid)
        if info is None:
            raise Problem(f"no run {rid!r} in {store.path}")
        options = info["options"]
        run_registry = registry or Registry(options.get("templates", []))
        # a finished play needs only the targets something is still pending for: another target
        # whose secret is not at hand does not hold them up
        only = store.delivery_targets(rid, "pending") if info["play_done"] else None
        targets = stored_targets(store, rid, run_registry, config, secret, only)
        play = None
        # a cancelled run never plays on (a resend of its failed deliveries only sends those)
        if not info["play_done"] and options.get("scenario_text") and info["status"] != "cancelled":
            scenario = load_scenario_text(options["scenario_text"], options.get("scenario_file") or "<scenario>")
            start = datetime.fromisoformat(options["start"])
            play = _Play(
                scenario,
                info["vendors"],
                info["seed"],
                start,
                run_registry,
                pace=False,
                skip=info["played"],
                transaction=options.get("transaction"),
                overrides=parse_overrides(*(options.get("overrides") or {}).values()),
            )
        kind = options.get("transaction")
        summaries.append(
            await _deliver(store, rid, targets, time_scale, info["seed"], play, True, watch, None, run_registry, kind)
        )
    return summaries


@dataclass
class _Play:
    """What to play: the scenario's events for each vendor, skipping those already played (stored, or
    passed over in an action the IdP refused)."""

    scenario: Scenario
    vendors: Sequence[str]  # in the run's order: events at the same time interleave the same way on replay
    seed: int
    start: datetime
    registry: Registry
    pace: bool
    skip: int
    transaction: str | None = None  # the tenant's webhook transaction type (FusionAuth), when set
    overrides: Sequence[Override] = ()  # --set and --unset, applied to every vendor's events

    @property
    def actions(self) -> int:
        """How many actions the play performs (whether rendering ahead in a child pays)."""
        return self.scenario.size

    def events(self) -> Iterator[Event]:
        streams = [render_events(self.scenario, v, self.seed, self.start, self.registry) for v in self.vendors]
        merged = heapq.merge(*streams, key=lambda e: e.time) if len(streams) > 1 else streams[0]
        if self.overrides:
            check_overrides(self.overrides, self.vendors, self.registry)
            merged = apply_all(merged, self.overrides)
        return islice(merged, self.skip, None)


@dataclass
class _Given:
    """Events already made, to be delivered like a play's (the same shape as ``_Play`` to ``_produce``)."""

    vendors: Sequence[str]
    registry: Registry
    given: list[Event]
    pace: bool = False
    transaction: str | None = None

    @property
    def actions(self) -> int:
        return len(self.given)

    def events(self) -> Iterator[Event]:
        return iter(self.given)


async def _deliver(
    store: Store,
    run_id: str,
    targets: Sequence[Target],
    time_scale: float,
    seed: int,
    play: _Play | _Given | None,
    pending: bool,
    watch: Callable[[Dispatcher], None] | None,
    on_attempt: Callable[[DeliveryRow, Result], None] | None,
    registry: Registry,
    transaction: str | None,
) -> Summary:
    transactional = {}
    for vendor in dict.fromkeys(t.vendor for t in targets):
        rules = vendor_transactions(registry, vendor, transaction)
        if rules is not None and rules.retries:
            transactional[vendor] = rules.events
    dispatcher = Dispatcher(store, targets, time_scale, seed, on_attempt=on_attempt, transactional=transactional)
    if watch is not None:
        watch(dispatcher)
    summary = Summary(run_id)
    began = time.perf_counter()
    dispatcher.start()
    status = "interrupted"  # stopped from outside (Ctrl-C, a shutdown): resume goes on from here
    try:
        if pending:
            rows = store.pending(run_id)
            while page := list(islice(rows, PENDING_PAGE)):
                await dispatcher.admit(page)
        if play is not None:
            try:
                summary.events = await _produce(store, run_id, targets, play, time_scale, dispatcher, summary.steps)
            except EmulatorError:
                # the scenario cannot be played further: resume must not retry it
                await dispatcher.writer.write(lambda own: own.play_done(run_id))
                raise
            await dispatcher.writer.write(lambda own: own.play_done(run_id))
        await dispatcher.drain()
        status = "finished"
    except Exception:
        status = "failed"
        raise
    finally:
        await dispatcher.close()
        await dispatcher.writer.write(lambda own: own.finish_run(run_id, status))
        _fill(summary, dispatcher, began, status)
    return summary


async def _transaction(
    dispatcher: Dispatcher, rows: list[DeliveryRow], rules: Transactions, event: Played
) -> dict[str, Any]:
    """Send one transactional event's webhooks together and report what the IdP would have done."""
    verdict: dict[str, Any] = {}

    def decide(results: list[Result]) -> bool:
        verdict.update(_verdict(rules, event, len(results), sum(1 for r in results if r.ok)))
        return bool(verdict["committed"])

    await dispatcher.attempt_together(rows, decide, vendor_retries=rules.retries)
    return verdict


def _verdict(rules: Transactions, event: Played, webhooks: int, succeeded: int) -> dict[str, Any]:
    """What the IdP did with one transactional event, given how many of its webhooks answered 2xx."""
    held = rules.holds(succeeded, webhooks)
    verdict: dict[str, Any] = {
        "event": event.type,
        "id": event.id,
        "action": event.action,
        "actor": event.actor,
        "transaction": rules.kind,
        "webhooks": webhooks,
        "succeeded": succeeded,
        "needed": rules.needed(webhooks),
        "committed": held,
    }
    if not held:
        verdict["answer"] = rules.answer
    return verdict


async def _produce(
    store: Store,
    run_id: str,
    targets: Sequence[Target],
    play: _Play | _Given,
    time_scale: float,
    dispatcher: Dispatcher,
    steps: Steps,
) -> int:
    """Render, route and store events in batches, handing each stored batch to the dispatcher."""
    routes = {v: [t for t in targets if t.vendor == v] for v in play.vendors}
    transactions = {v: vendor_transactions(play.registry, v, play.transaction) for v in play.vendors}
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    first_ms: int | None = None
    count = 0
    batch: list[tuple[EventRow, list[tuple[str, str | None]]]] = []
    sizes = stored_sizes()
    size = next(sizes)
    refused: tuple[str, int] | None = None  # (vendor, action) the IdP refused
    counted: dict[str, dict[str, Any]] = {}  # event id -> the verdict its first attempts fill in (None)
    last: dict[str, Any] = {}  # the verdict of the last transaction the IdP waited for

    async def admit() -> None:
        """Store the batch (committed before any of it is attempted) and hand it to the dispatcher."""
        nonlocal size
        size = next(sizes)
        rows = await dispatcher.writer.add(run_id, batch)
        if counted:
            for row in rows:
                verdict = counted.get(row.event_id)
                if verdict is not None:
                    dispatcher.count_first(row.id, verdict)
            counted.clear()
        batch.clear()
        await dispatcher.admit(rows)

    async def route(event: Played) -> tuple[str, int] | None:
        """Store and hand on one event (a transactional one at once); the action the IdP refused, if it did."""
        if play.pace:
            nonlocal first_ms
            first_ms = event.time_ms if first_ms is None else first_ms
            due = t0 + (event.time_ms - first_ms) / 1000 * time_scale
            if due > loop.time():
                if batch:
                    await admit()
                await asyncio.sleep(due - loop.time())
        actor = event.actor
        bound = [
            (t.name, actor if t.ordering == "actor" else None) for t in routes[event.vendor] if t.wants(event.type)
        ]
        row: EventRow = {  # a literal: calling the TypedDict takes three times as long, for every event
            "vendor": event.vendor, "event_id": event.id, "type": event.type, "time_ms": event.time_ms,
            "action": event.action, "actor": actor, "error": event.error, "body": event.body,
            "faults": _step_faults(event.faults) if event.faults else None, "user": event.user,
            "user_id": event.user_id, "username": event.username, "ip": event.ip, "client": event.client,
        }  # fmt: skip
        rules = transactions.get(event.vendor)
        if event.transaction:
            rules = step_transaction(event.transaction, vendor_delivery(play.registry, event.vendor))
        if rules is not None and bound and rules.applies(event.type) and not rules.waits:
            # None: the IdP waits on nothing, so neither does the play; the webhooks go with the batch
            # (in each actor's order) and the verdict counts their first attempts as they end
            if steps.full:  # past the listed ones: counted, and no verdict made (FusionAuth's every login)
                steps.tally(rules.holds(0, len(bound)))
            else:
                verdict = _verdict(rules, event, len(bound), 0)
                if steps.record(verdict):  # only a listed one is worth counting attempts into
                    counted[event.id] = verdict
        elif rules is not None and bound and rules.applies(event.type):
            # the IdP waits for these webhooks before it answers: send them now, together
            if batch:
                await admit()
            rows = await dispatcher.writer.add(run_id, [(row, [(name, None) for name, _ in bound])])
            nonlocal last
            last = await _transaction(dispatcher, rows, rules, event)
            steps.record(last)
            # an IdP that answered an error: the rest of the action never happens
            return refused if last["committed"] else (event.vendor, event.seq)
        batch.append((row, bound))
        if len(batch) >= size:
            await admit()
        return refused

    chunks = aiter(rendered(play.events, play.actions * len(play.vendors), dispatcher.writer))
    while True:
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            break
        except EmulatorError:  # the play cannot go on: what it played before is stored, then delivered
            if batch:
                await admit()
            raise
        for event in chunk:
            if (event.vendor, event.seq) == refused:
                last.setdefault("not_sent", []).append(event.type)
                if batch:  # the events played before it are stored first: a resumed play skips a prefix
                    await admit()
                await dispatcher.writer.write(lambda own: own.skip(run_id))  # played, so a resumed play stays in step
                continue
            count += 1
            refused = await route(event)
    if batch:
        await admit()
    return count


def vendor_transactions(registry: Registry, vendor: str, kind: str | None) -> Transactions | None:
    """The transaction rules a vendor applies in a run: the run's type, else the vendor's default
    (FusionAuth's tenants default to None since 1.36: fire and forget, no retries)."""
    delivery = vendor_delivery(registry, vendor)
    return transactions_for(delivery, kind or (delivery.get("transactions") or {}).get("default"), vendor)


def stored_targets(
    store: Store,
    run_id: str,
    registry: Registry,
    config: Config | None,
    secret: str | None,
    only: set[str] | None = None,
) -> list[Target]:
    """Rebuild a run's targets (``only`` those names): a config target of the same name wins, then
    ``--secret`` fills gaps."""
    fresh = {t["name"]: (i, t) for i, t in enumerate(config.targets)} if config else {}
    targets = []
    for name, spec in store.targets(run_id).items():
        if only is not None and name not in only:
            continue
        where = None
        if name in fresh:
            index, spec = fresh[name]
            where = config.where(index) if config else None
        elif secret is not None and isinstance(spec.get("signing"), dict) and spec["signing"].get("secret") == HIDDEN:
            spec = {**spec, "signing": {**spec["signing"], "secret": secret}}
        missing = hidden_fields(spec)
        if missing:
            raise Problem(
                f"run {run_id}, target {name!r}: {', '.join(missing)} was given literally and is not stored;"
                " pass --config with this target, or --secret (or use ${VARIABLE} references next time)"
            )
        targets.append(
            build_target(spec, registry, spec.get("vendor"), where) if where else build_target(spec, registry)
        )
    return targets


def _step_faults(raw: tuple[Any, ...]) -> str:
    """A step's faults checked now (a mistake stops the run at its start) and kept as JSON."""
    text = json.dumps(list(raw), sort_keys=True)
    try:
        step_faults(text)
    except FaultError as exc:
        raise Problem(f"a step's faults: {exc}") from None
    return text


def _fill(summary: Summary, dispatcher: Dispatcher, began: float, status: str) -> None:
    summary.seconds = time.perf_counter() - began
    summary.status = status
    summary.delivered = dispatcher.total.delivered
    summary.failed = dispatcher.total.failed
    summary.dropped = dispatcher.total.dropped
    summary.attempts = dispatcher.total.attempts
    summary.targets = {
        name: {"delivered": lane.tally.delivered, "failed": lane.tally.failed, "attempts": lane.tally.attempts}
        for name, lane in dispatcher.lanes.items()
    }
    summary.failures = [
        {"target": target, "reason": reason, "deliveries": count}
        for (target, reason), count in dispatcher.reasons.most_common()
    ]
