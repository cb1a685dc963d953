"""Batching: several deliveries to one target carried by one request, as Auth0's log streams send them.

A target with ``batch: {size: N, linger: D}`` (or its vendor's ``delivery.batch``) and a framing that
holds several events (``array``, ``lines``) hands its deliveries to a ``Batcher`` instead of its lane's
ready queue. The batcher gathers them and sends a ``Batch`` when N wait, when the first of them has
waited D (scaled by the run's time scale, as every wait of the sender is), or at once when the run
drains. A batch is one delivery to the dispatcher: one body (the events joined in the target's
framing), signed once, attempted and retried as a whole; each event it carries is recorded as having
had that attempt, with that outcome.

Nothing recorded is lost: every delivery a batch carries is in the outbox, pending, before the batch
is made, and stays pending until the batch's attempt is recorded; a run cut short resumes its pending
deliveries into new batches (the consumer may see an event twice, in another batch: the at-least-once
promise every sender makes).

Per-actor order holds across batches: an actor's events may share a batch (in their order), but while
a batch carrying one of them is in flight the actor's next events wait, and go into the next batch
once it is final.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.delivery.framing import BATCHING, join
from emulator.store import AttemptRow, DeliveryRow, Outcome

if TYPE_CHECKING:
    from emulator.delivery.sender import Result

MAX_BATCH = 10_000  # events one request may carry at most (the schema's bound)


def batch_schema() -> dict[str, Any]:
    """The ``batch`` setting of a target, as JSON Schema (emulator.yaml's schema and the API read this)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "Several events in one request (default: the vendor's; Auth0's log streams and Okta's event "
        "hooks batch): sent when 'size' wait, when the first has waited 'linger', or when the run ends; one delivery, "
        f"signed once and retried as a whole. Needs format {' or '.join(repr(f) for f in BATCHING)}, unless the "
        "vendor's one JSON object lists its events (Okta's data.events).",
        "properties": {
            "size": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_BATCH,
                "description": "Events one request carries at most (1: one per request).",
            },
            "linger": {
                "$ref": "#/$defs/duration",
                "description": "How long the first event of a batch waits for more (scaled by time_scale).",
            },
        },
    }


@dataclass(slots=True)
class Batch(DeliveryRow):
    """Deliveries sent as one: the dispatcher's work item for a batching target.

    Its id, event id and request faults are its first delivery's (what a signature names); its body is
    the members' bodies joined in the target's framing; its scenario time the latest member's. Its
    attempts count from the most tried member's (a resumed delivery keeps its count)."""

    members: list[DeliveryRow] = field(default_factory=list)

    def record(
        self, result: Result, at: int, wait_ms: int | None, status: str
    ) -> tuple[list[AttemptRow], list[Outcome]]:
        """The batch's attempt as each member's attempt: the rows the store writes, each member's
        count and waited time moved on as the batch's."""
        attempts: list[AttemptRow] = []
        outcomes: list[Outcome] = []
        if wait_ms is not None:
            self.elapsed_ms += wait_ms
        for member in self.members:
            member.attempts += 1
            attempts.append(
                result.attempt_row(member.id, member.attempts, at, member.time_ms + member.elapsed_ms, wait_ms)
            )
            if wait_ms is not None:
                member.elapsed_ms += wait_ms
            outcomes.append(Outcome(member.id, status, member.attempts, member.elapsed_ms, result.status, result.error))
        return attempts, outcomes


def make_batch(members: list[DeliveryRow], framing: str, into: str = "") -> Batch:
    """One batch of ``members`` (in their order) for a target framing them as ``framing`` (or, in one
    object, in the vendor's list of events at ``into``)."""
    first = members[0]
    return Batch(
        id=first.id,
        run_id=first.run_id,
        target=first.target,
        event_id=first.event_id,
        type=first.type,
        time_ms=max(m.time_ms for m in members),
        body=join([m.body for m in members], framing, into),
        key=None,  # the batcher keeps each actor's order; the lane has none to keep
        attempts=max(m.attempts - m.base for m in members),
        elapsed_ms=max(m.elapsed_ms for m in members),
        members=members,
    )


class Batcher:
    """Gathers one target's deliveries into batches and hands each to ``send`` (the lane's queue)."""

    def __init__(
        self, size: int, linger: float, framing: str, ordered: bool, send: Callable[[Batch], None], into: str = ""
    ) -> None:
        """``linger``: real seconds the first delivery of a batch may wait for others (already scaled);
        ``ordered``: keep each actor's events in order (the target's ``ordering: actor``); ``into``:
        where the vendor's one object lists its events (``emulator.delivery.framing.join``)."""
        self.size = size
        self.linger = linger
        self.framing = framing
        self.into = into
        self.ordered = ordered
        self.send = send
        self.open: list[DeliveryRow] = []  # the batch being gathered
        self.flying: set[str] = set()  # actors with an event in a batch sent and not yet final
        self.waiting: dict[str, deque[DeliveryRow]] = {}  # their next events, in order
        self.draining = False  # the run has nothing more to give: no batch waits for more
        self._timer: asyncio.TimerHandle | None = None

    def add(self, row: DeliveryRow) -> None:
        """Take a stored delivery: into the open batch, or behind its actor's event in flight."""
        key = row.key if self.ordered else None
        if key is not None and (key in self.flying or key in self.waiting):
            self.waiting.setdefault(key, deque()).append(row)
            return
        self.open.append(row)
        if len(self.open) >= self.size:
            self.flush()
        elif self._timer is None:
            delay = 0.0 if self.draining else self.linger
            self._timer = asyncio.get_running_loop().call_later(delay, self.flush)

    def flush(self) -> None:
        """Send the open batch now (nothing when none is open)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.open:
            return
        rows, self.open = self.open, []
        if self.ordered:
            self.flying.update(r.key for r in rows if r.key is not None)
        self.send(make_batch(rows, self.framing, self.into))

    def done(self, batch: Batch) -> None:
        """A batch is final: its actors' next events go into the next batch, in their order."""
        keys = [m.key for m in batch.members if m.key is not None] if self.ordered else []
        for key in dict.fromkeys(keys):
            self.flying.discard(key)
            for row in self.waiting.pop(key, ()):
                self.add(row)
        if self.draining:
            self.flush()

    def drain(self) -> None:
        """The run has given everything: send what is open, and from now on never wait for more."""
        self.draining = True
        self.flush()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
