"""A run: play a scenario, store each event's deliveries, and deliver them; or resume a store.

This is the glue between the two halves of the flow. Events are rendered lazily and stored in
small batches, each batch committed before any of its deliveries is attempted, so memory stays
flat however long the scenario and nothing is lost however the process ends.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from emulator.delivery.config import Config
from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.sender import Result
from emulator.delivery.targets import HIDDEN, Target, build_target, hidden_fields
from emulator.errors import Problem
from emulator.play.clock import epoch_ms
from emulator.render import render_events
from emulator.scenario.model import Scenario
from emulator.store.sqlite import DeliveryRow, EventRow, Store
from emulator.vendors.dialect import Event
from emulator.vendors.registry import Registry

BATCH = 256  # events stored per transaction
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


@dataclass
class Summary:
    """The end of a run (or a resume): what ``--json`` prints."""

    run: str
    delivered: int = 0
    failed: int = 0
    attempts: int = 0
    events: int = 0
    seconds: float = 0.0
    status: str = "finished"
    targets: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.status == "finished"

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "status": self.status,
            "events": self.events,
            "delivered": self.delivered,
            "failed": self.failed,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
            "targets": self.targets,
        }


def new_run_id() -> str:
    return "run_" + secrets.token_hex(6)


def body_bytes(event: Event) -> bytes:
    """The exact bytes on the wire: compact JSON, UTF-8, like the vendors' JSON libraries."""
    return _dumps(event.body).encode()


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
) -> Summary:
    """Play ``scenario`` once for every vendor the targets name and deliver to every target."""
    registry = registry or Registry()
    run_id = run_id or new_run_id()
    vendors = list(dict.fromkeys(t.vendor for t in targets))
    store.create_run(run_id, scenario.name, vendors, seed, {t.name: t.stored for t in targets})
    dispatcher = Dispatcher(store, targets, time_scale, seed, on_attempt=on_attempt)
    if watch is not None:
        watch(dispatcher)
    summary = Summary(run_id)
    began = time.perf_counter()
    dispatcher.start()
    status = "cancelled"
    try:
        streams = [render_events(scenario, v, seed, start, registry) for v in vendors]
        events: Iterator[Event] = heapq.merge(*streams, key=lambda e: e.time) if len(streams) > 1 else streams[0]
        routes = {v: [t for t in targets if t.vendor == v] for v in vendors}
        first_ms: int | None = None
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        batch: list[tuple[EventRow, list[tuple[str, str | None]]]] = []
        for event in events:
            ms = epoch_ms(event.time)
            if pace:
                first_ms = ms if first_ms is None else first_ms
                due = t0 + (ms - first_ms) / 1000 * time_scale
                if due > loop.time():
                    if batch:
                        await dispatcher.admit(store.add(run_id, batch))
                        batch = []
                    await asyncio.sleep(due - loop.time())
            bound = [
                (t.name, event.actor if t.ordering == "actor" else None)
                for t in routes[event.vendor]
                if t.wants(event.type)
            ]
            row = EventRow(
                event.vendor, event.id, event.type, ms, event.action, event.actor, event.error, body_bytes(event)
            )
            batch.append((row, bound))
            summary.events += 1
            if len(batch) >= BATCH:
                await dispatcher.admit(store.add(run_id, batch))
                batch = []
        if batch:
            await dispatcher.admit(store.add(run_id, batch))
        await dispatcher.drain()
        status = "finished"
    except Exception:
        status = "failed"
        raise
    finally:
        await dispatcher.close()
        store.finish_run(run_id, status)
        _fill(summary, dispatcher, began, status)
    return summary


async def resume(
    store: Store,
    registry: Registry | None = None,
    config: Config | None = None,
    secret: str | None = None,
    time_scale: float = 1.0,
    run_id: str | None = None,
    watch: Callable[[Dispatcher], None] | None = None,
) -> list[Summary]:
    """Deliver everything still pending in ``store`` (after a crash, a kill, a cancel)."""
    registry = registry or Registry()
    summaries = []
    runs = [run_id] if run_id else store.pending_runs()
    for rid in runs:
        info = store.run(rid)
        if info is None:
            raise Problem(f"no run {rid!r} in {store.path}")
        targets = _stored_targets(store, rid, registry, config, secret)
        dispatcher = Dispatcher(store, targets, time_scale, info["seed"])
        if watch is not None:
            watch(dispatcher)
        summary = Summary(rid)
        began = time.perf_counter()
        dispatcher.start()
        status = "cancelled"
        try:
            pending = store.pending(rid)
            while page := list(islice(pending, BATCH)):
                await dispatcher.admit(page)
            await dispatcher.drain()
            status = "finished"
        finally:
            await dispatcher.close()
            store.finish_run(rid, status)
            _fill(summary, dispatcher, began, status)
        summaries.append(summary)
    return summaries


def _stored_targets(
    store: Store, run_id: str, registry: Registry, config: Config | None, secret: str | None
) -> list[Target]:
    """Rebuild a run's targets: a config target of the same name wins, then ``--secret`` fills gaps."""
    fresh = {t["name"]: (i, t) for i, t in enumerate(config.targets)} if config else {}
    targets = []
    for name, spec in store.targets(run_id).items():
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


def _fill(summary: Summary, dispatcher: Dispatcher, began: float, status: str) -> None:
    summary.seconds = time.perf_counter() - began
    summary.status = status
    summary.delivered = dispatcher.total.delivered
    summary.failed = dispatcher.total.failed
    summary.attempts = dispatcher.total.attempts
    summary.targets = {
        name: {"delivered": lane.tally.delivered, "failed": lane.tally.failed, "attempts": lane.tally.attempts}
        for name, lane in dispatcher.lanes.items()
    }
