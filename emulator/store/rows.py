"""The store's rows as typed objects: typed dicts, each kind built on the one it extends.

Rows carry data only. The dispatcher's working state (faults drawn for a delivery, timers,
ordering queues) lives with the dispatcher; the rows read back are plain mappings the API and the
pytest plugin hand on as they are. ``DeliveryRow`` alone is a mutable object: the work item the
dispatcher moves from attempt to attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

# What a delivery can be: still owed, done, given up, dropped by a fault, cancelled with its run.
DELIVERY_STATUSES = ("pending", "delivered", "failed", "dropped", "cancelled")


@dataclass(slots=True)
class DeliveryRow:
    """One delivery as the sender needs it (also what ``resume`` reads back)."""

    id: int
    run_id: str
    target: str
    event_id: str
    type: str
    time_ms: int
    body: bytes
    key: str | None
    attempts: int = 0
    elapsed_ms: int = 0
    base: int = 0
    copy_of: int | None = None
    injected: str | None = None  # delivery faults already drawn and recorded (not again on resume)
    event_faults: str | None = None  # JSON: the step's faults for this event


@dataclass(slots=True)
class Outcome:
    """A delivery's state after an attempt: what ``record`` writes back."""

    delivery: int
    status: str  # pending (will retry), delivered, failed
    attempts: int
    elapsed_ms: int
    last_status: int | None
    last_error: str | None


class RunFacts(TypedDict):
    """What every answer about a run says of it: the story, who, the seed, when, how it ended."""

    scenario: str
    vendors: list[str]
    seed: int
    started_ms: int
    finished_ms: int | None
    status: str


class RunInfo(RunFacts):
    id: str
    played: int
    play_done: int
    options: dict[str, Any]


class RunState(RunFacts):
    played: int


class RunListing(RunFacts):
    run: str


class StoredEvent(TypedDict):
    """A run's event as the plugin's ``PlayResult`` shows it: the exact body, as bytes."""

    vendor: str
    event_id: str
    type: str
    time_ms: int
    action: str
    actor: str | None
    error: str | None
    body: bytes
    faults: str | None  # JSON: delivery faults the scenario's step asked for


class EventRow(StoredEvent):
    """One rendered event as the play stores it, with the columns an IdP's event console shows."""

    user: str | None
    user_id: str | None
    username: str | None
    ip: str | None
    client: str | None


class EventListing(EventRow):
    """An event as the API lists it: with its place in the store and its run."""

    id: int
    run: str


class AttemptInfo(TypedDict):
    number: int
    at_ms: int  # wall-clock time the attempt started
    scenario_ms: int  # the attempt's time in scenario time
    duration_ms: float
    status: int | None
    error: str | None
    response_headers: dict[str, str] | None
    response_body: bytes | None
    next_delay_ms: int | None
    injected: str | None


class AttemptRow(AttemptInfo):
    """One finished attempt as the dispatcher records it."""

    delivery: int


class DeliveryState(TypedDict):
    """Where one delivery stands."""

    id: int
    target: str
    status: str
    attempts: int


class EventDelivery(DeliveryState):
    """A delivery as its event lists it (the console's status column and detail panel)."""

    last_status: int | None


class DeliveryView(DeliveryState):
    event_id: str
    type: str


class DeliveryInfo(DeliveryView):
    run: str
    event: int  # the event's id in the store
    injected: str | None


class DeliveryListing(DeliveryView):
    run: str
    event: int
    last_status: int | None
    last_error: str | None
    updated_ms: int  # when its status last changed (a failure's time, for a replay since then)


class RunDelivery(DeliveryView):
    last_status: int | None
    last_error: str | None
    copy_of: int | None
    injected: str | None


class SavedTarget(TypedDict):
    name: str
    config: dict[str, Any]
    created_ms: int
    updated_ms: int
