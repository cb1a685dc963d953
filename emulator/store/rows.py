"""The store's rows as typed objects: what is written (dataclasses) and what is read (typed dicts).

Rows carry data only. The dispatcher's working state (faults drawn for a delivery, timers,
ordering queues) lives with the dispatcher; the read rows are plain JSON-ready mappings the API
and the pytest plugin hand on as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict


@dataclass(slots=True)
class EventRow:
    """One rendered event as the play stores it, with the columns an IdP's event console shows."""

    vendor: str
    event_id: str
    type: str
    time_ms: int
    action: str
    actor: str | None
    error: str | None
    body: bytes
    faults: str | None = None  # JSON
    user: str | None = None
    user_id: str | None = None
    ip: str | None = None
    client: str | None = None


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
class AttemptRow:
    delivery: int
    number: int
    at_ms: int
    scenario_ms: int
    duration_ms: float
    status: int | None
    error: str | None
    response_headers: dict[str, str] | None
    response_body: bytes | None
    next_delay_ms: int | None
    injected: str | None = None


@dataclass(slots=True)
class Outcome:
    """A delivery's state after an attempt: what ``record`` writes back."""

    delivery: int
    status: str  # pending (will retry), delivered, failed
    attempts: int
    elapsed_ms: int
    last_status: int | None
    last_error: str | None


class RunInfo(TypedDict):
    id: str
    scenario: str
    vendors: list[str]
    seed: int
    started_ms: int
    finished_ms: int | None
    status: str
    played: int
    play_done: int
    options: dict[str, Any]


class RunListing(TypedDict):
    run: str
    scenario: str
    vendors: str
    seed: int
    started_ms: int
    finished_ms: int | None
    status: str


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
    faults: str | None


class EventListing(TypedDict):
    """An event with the console's columns (user, time, type, error, IP address, client)."""

    id: int
    run: str
    vendor: str
    event_id: str
    type: str
    time_ms: int
    action: str
    actor: str | None
    error: str | None
    body: bytes
    user: str | None
    user_id: str | None
    ip: str | None
    client: str | None


class DeliveryListing(TypedDict):
    id: int
    run: str
    target: str
    event_id: str
    type: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None


class RunDelivery(TypedDict):
    id: int
    target: str
    event_id: str
    type: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    copy_of: int | None
    injected: str | None


class DeliveryInfo(TypedDict):
    id: int
    run: str
    target: str
    event_id: str
    type: str
    status: str
    attempts: int
    injected: str | None


class AttemptInfo(TypedDict):
    number: int
    at_ms: int
    scenario_ms: int
    duration_ms: float
    status: int | None
    error: str | None
    response_headers: dict[str, str] | None
    response_body: bytes | None
    next_delay_ms: int | None
    injected: str | None


class SavedTarget(TypedDict):
    name: str
    config: dict[str, Any]
    created_ms: int
    updated_ms: int
