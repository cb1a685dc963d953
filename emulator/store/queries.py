"""The read queries: what the API, the CLI and the pytest plugin ask of the store.

Each query returns typed rows (``rows.py``). Filters are named by what a person filters on
(user, type, error, IP address, client, ...); which columns answer each name is decided here,
so no SQL leaves this package.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, cast

from emulator.store.connection import Connection, Where
from emulator.store.rows import (
    DELIVERY_STATUSES,
    AttemptInfo,
    DeliveryInfo,
    DeliveryListing,
    EventDelivery,
    EventListing,
    RunDelivery,
    RunInfo,
    RunListing,
    RunState,
    StoredEvent,
)

# What each event filter matches: a filter with several columns matches a row where any holds the value.
# In the order of an IdP's event console (user, type, error code, IP address, client), then ours.
EVENT_FILTERS: dict[str, tuple[str, ...]] = {
    "user": ("actor", "user", "username", "user_id"),  # the actor's name, email, username or id
    "type": ("type",),
    "error": ("error",),
    "ip": ("ip",),
    "client": ("client",),
    "vendor": ("vendor",),
    "run": ("run_id",),
    "actor": ("actor",),
}
DELIVERY_FILTERS: dict[str, tuple[str, ...]] = {"run": ("d.run_id",), "status": ("d.status",), "target": ("d.target",)}
# an event as the API lists it
_EVENT_COLUMNS = (
    "id, run_id AS run, vendor, event_id, type, time_ms, action, actor, error, body, faults, user, user_id, username,"
    " ip, client"
)


def _dicts(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    keys = [c[0] for c in cur.description]
    return [dict(zip(keys, row, strict=True)) for row in cur]


def _filtered(
    filters: Mapping[str, str], columns: Mapping[str, tuple[str, ...]], key: str, after: int, before: int | None
) -> Where:
    """Rows between two ids (keyset paging on the primary key, in either direction) that match ``filters``."""
    where = Where(f"{key} > ?")
    where.params.append(after)
    where.add(f"{key} < ?", before)
    for name, value in filters.items():
        where.any_of(columns[name], value)  # a KeyError here is a caller's bug: only known filters come this far
    return where


def _vendor_list(run: dict[str, Any]) -> None:
    """A run's vendors as a list (the store keeps them comma-separated)."""
    run["vendors"] = run["vendors"].split(",") if run["vendors"] else []


def _first(cur: sqlite3.Cursor) -> dict[str, Any] | None:
    found = _dicts(cur)
    return found[0] if found else None


class Queries(Connection):
    """Reading runs, events, deliveries and attempts."""

    def _rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return _dicts(self.db.execute(sql, params))

    def _row(self, sql: str, *params: Any) -> dict[str, Any] | None:
        return _first(self.db.execute(sql, params))

    def run(self, run_id: str) -> RunInfo | None:
        info = self._row(
            "SELECT id, scenario, vendors, seed, started_ms, finished_ms, status, played, play_done, options"
            " FROM runs WHERE id = ?",
            run_id,
        )
        if info is None:
            return None
        info["options"] = json.loads(info["options"])
        _vendor_list(info)
        return cast(RunInfo, info)

    def run_state(self, run_id: str) -> RunState | None:
        """What a client polling a run reads: its facts and how many events it played (not the
        options a resume reads, whose scenario text would be parsed at every poll)."""
        info = self._row(
            "SELECT scenario, vendors, seed, started_ms, finished_ms, status, played FROM runs WHERE id = ?", run_id
        )
        if info is None:
            return None
        _vendor_list(info)
        return cast(RunState, info)

    def runs(self, limit: int = 100) -> list[RunListing]:
        """The newest runs first."""
        sql = "SELECT id AS run, scenario, vendors, seed, started_ms, finished_ms, status FROM runs"
        rows = self._rows(sql + " ORDER BY started_ms DESC LIMIT ?", limit)
        for row in rows:
            _vendor_list(row)
        return cast(list[RunListing], rows)

    def targets(self, run_id: str) -> dict[str, dict[str, Any]]:
        """A run's targets as stored (with ``disabled`` when the run disabled one)."""
        rows = self.db.execute("SELECT name, config, disabled FROM targets WHERE run_id = ? ORDER BY rowid", (run_id,))
        return {name: {**json.loads(config), **({"disabled": off} if off else {})} for name, config, off in rows}

    def counts(self, run_id: str) -> dict[str, int]:
        """Deliveries by status, and attempts, for one run."""
        out = {**dict.fromkeys(DELIVERY_STATUSES, 0), "attempts": 0}
        for status, count, attempts in self.db.execute(
            "SELECT status, count(*), sum(attempts) FROM deliveries WHERE run_id = ? GROUP BY status", (run_id,)
        ):
            out[status] = count
            out["attempts"] += attempts or 0
        return out

    def attempts(self, delivery: int) -> list[AttemptInfo]:
        rows = self._rows(
            "SELECT number, at_ms, scenario_ms, duration_ms, status, error, response_headers, response_body,"
            " next_delay_ms, injected FROM attempts WHERE delivery = ? ORDER BY number, id",
            delivery,
        )
        for item in rows:
            if item["response_headers"] is not None:
                item["response_headers"] = json.loads(item["response_headers"])
        return cast(list[AttemptInfo], rows)

    def deliveries(self, run_id: str) -> list[RunDelivery]:
        return cast(
            list[RunDelivery],
            self._rows(
                "SELECT d.id, d.target, e.event_id, e.type, d.status, d.attempts, d.last_status, d.last_error,"
                " d.copy_of, d.injected FROM deliveries d JOIN events e ON e.id = d.event WHERE d.run_id = ?"
                " ORDER BY d.id",
                run_id,
            ),
        )

    def events(self, run_id: str) -> list[StoredEvent]:
        """A run's events in the order they were played, with their exact bodies."""
        sql = "SELECT vendor, event_id, type, time_ms, action, actor, error, body, faults FROM events WHERE run_id = ?"
        return cast(list[StoredEvent], self._rows(sql + " ORDER BY id", run_id))

    def event_page(
        self,
        filters: Mapping[str, str],
        after: int = 0,
        limit: int = 100,
        since_ms: int | None = None,
        until_ms: int | None = None,
        before: int | None = None,
        newest: bool = False,
    ) -> list[EventListing]:
        """Events with ids between ``after`` and ``before``, oldest first (newest first with ``newest``),
        matching ``filters`` (names of ``EVENT_FILTERS``) and a scenario-time range (``since_ms``
        included, ``until_ms`` not). Pages are keyed on the primary key: the next page starts past the
        last id of this one, so page 1,000 costs what page 1 does."""
        where = _filtered(filters, EVENT_FILTERS, "id", after, before)
        where.add("time_ms >= ?", since_ms).add("time_ms < ?", until_ms)
        rows = self._rows(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY id {'DESC' if newest else 'ASC'} LIMIT ?",
            *where.params,
            limit,
        )
        return cast(list[EventListing], rows)

    def event(self, event: int) -> EventListing | None:
        """One event by its id in the store."""
        return cast(EventListing | None, self._row(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", event))

    def event_deliveries(self, events: Sequence[int]) -> dict[int, list[EventDelivery]]:
        """The deliveries of these events (by event id), through the index on each delivery's event."""
        if not events:
            return {}
        where = Where().among("event", events)
        found: dict[int, list[EventDelivery]] = {event: [] for event in events}
        for row in self._rows(
            f"SELECT event, id, target, status, attempts, last_status FROM deliveries WHERE {where} ORDER BY id",
            *where.params,
        ):
            found[row.pop("event")].append(cast(EventDelivery, row))
        return found

    def delivery_page(
        self,
        filters: Mapping[str, str],
        after: int = 0,
        limit: int = 100,
        before: int | None = None,
        newest: bool = False,
    ) -> list[DeliveryListing]:
        """Deliveries with ids between ``after`` and ``before``, oldest first (newest first with
        ``newest``), matching ``filters`` (run, status, target)."""
        where = _filtered(filters, DELIVERY_FILTERS, "d.id", after, before)
        rows = self._rows(
            "SELECT d.id, d.run_id AS run, d.target, d.event, e.event_id, e.type, d.status, d.attempts,"
            " d.last_status, d.last_error, d.updated_ms FROM deliveries d JOIN events e ON e.id = d.event"
            f" WHERE {where} ORDER BY d.id {'DESC' if newest else 'ASC'} LIMIT ?",
            *where.params,
            limit,
        )
        return cast(list[DeliveryListing], rows)

    def delivery(self, delivery: int) -> DeliveryInfo | None:
        sql = "SELECT d.id, d.run_id AS run, d.target, d.event, e.event_id, e.type, d.status, d.attempts, d.injected"
        row = self._row(sql + " FROM deliveries d JOIN events e ON e.id = d.event WHERE d.id = ?", delivery)
        return cast(DeliveryInfo | None, row)
