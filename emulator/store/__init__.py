"""Persistence: runs, events, deliveries and attempts in one SQLite file (or in memory).

SQLite because it is embedded, durable and needs no service. The package is split by job:
``schema`` (tables, versions, upgrades), ``connection`` (transactions, listeners), ``outbox``
(what is owed and what was tried), ``library`` (what people keep through the API) and ``queries``
(what the API and CLI read), with typed rows in ``rows``. No SQL lives anywhere else. Secrets never
reach the store: targets are stored as their configuration with secrets replaced by the
``${VARIABLE}`` they came from, or removed.
"""

from __future__ import annotations

from emulator.store.connection import now_ms
from emulator.store.library import Library
from emulator.store.outbox import Outbox
from emulator.store.queries import DELIVERY_FILTERS, EVENT_FILTERS, Queries
from emulator.store.rows import DELIVERY_STATUSES, AttemptRow, DeliveryRow, EventRow, Outcome
from emulator.store.schema import SCHEMA_VERSION, StoreError

BODY_EXCERPT = 4096  # bytes of a response body kept per attempt


class Store(Outbox, Library, Queries):
    """One connection to one store; used from a single thread (the event loop's)."""


__all__ = [
    "BODY_EXCERPT",
    "DELIVERY_FILTERS",
    "DELIVERY_STATUSES",
    "EVENT_FILTERS",
    "SCHEMA_VERSION",
    "AttemptRow",
    "DeliveryRow",
    "EventRow",
    "Outcome",
    "Store",
    "StoreError",
    "now_ms",
]
