"""The store: runs, events, deliveries and attempts in one SQLite file (or in memory).

SQLite because it is embedded, durable and needs no service. Writes come in batches (one
transaction per batch of new deliveries, one per batch of finished attempts): a delivery is
committed before its first attempt, so a crash or ``kill -9`` can only cause an attempt to be
repeated, never a delivery to be lost. Secrets never reach this file: targets are stored as
their configuration with secrets replaced by the ``${VARIABLE}`` they came from, or removed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.errors import EmulatorError

SCHEMA_VERSION = 2
BODY_EXCERPT = 4096  # bytes of a response body kept per attempt

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    scenario TEXT NOT NULL,
    vendors TEXT NOT NULL,
    seed INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    status TEXT NOT NULL,            -- running (or crashed while running), finished, failed, cancelled
    played INTEGER NOT NULL DEFAULT 0,        -- events stored so far: where a resumed play goes on
    play_done INTEGER NOT NULL DEFAULT 0,     -- 1 once every event is stored (or the play cannot go on)
    options TEXT NOT NULL DEFAULT '{}'        -- what replaying needs: scenario text, start, templates
);
CREATE TABLE IF NOT EXISTS targets (
    run_id TEXT NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    config TEXT NOT NULL,            -- JSON, secrets as ${VARIABLE} references or left out
    disabled TEXT,                   -- why the target was disabled during the run (410, failures)
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    vendor TEXT NOT NULL,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT,
    error TEXT,
    body BLOB NOT NULL,
    faults TEXT,                     -- JSON: delivery faults the scenario's step asked for
    user TEXT,                       -- the actor's email (or username), as an IdP's event console shows it
    user_id TEXT,
    ip TEXT,
    client TEXT
);
CREATE INDEX IF NOT EXISTS events_by_run ON events(run_id, id);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    event INTEGER NOT NULL REFERENCES events(id),
    target TEXT NOT NULL,
    key TEXT,                        -- ordering key (the actor) when the target keeps order
    status TEXT NOT NULL,            -- pending, delivered, failed, dropped (a fault)
    copy_of INTEGER,                 -- a duplicate a fault made of this delivery
    injected TEXT,                   -- faults on the delivery: dropped, delayed, duplicated, reordered
    attempts INTEGER NOT NULL DEFAULT 0,
    base INTEGER NOT NULL DEFAULT 0,         -- attempts before the latest resend (a resend retries anew)
    elapsed_ms INTEGER NOT NULL DEFAULT 0,   -- scenario time spent waiting between attempts
    last_status INTEGER,
    last_error TEXT,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_by_run ON deliveries(run_id, status);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    delivery INTEGER NOT NULL REFERENCES deliveries(id),
    number INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,          -- wall-clock time the attempt started
    scenario_ms INTEGER NOT NULL,    -- the attempt's time in scenario time (signed headers use it)
    duration_ms REAL NOT NULL,
    status INTEGER,                  -- HTTP status, or NULL when no response came
    error TEXT,                      -- why it failed: network error, timeout, redirect, ...
    response_headers TEXT,
    response_body BLOB,
    next_delay_ms INTEGER,           -- the policy's wait before the next attempt, NULL when none
    injected TEXT                    -- faults on this attempt: bad signature, stale timestamp, ...
);
CREATE INDEX IF NOT EXISTS attempts_by_delivery ON attempts(delivery);
CREATE TABLE IF NOT EXISTS saved_targets (
    name TEXT PRIMARY KEY,           -- made through the API; runs name them
    config TEXT NOT NULL,            -- JSON, secrets as ${VARIABLE} references or <hidden>
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS scenarios (
    name TEXT PRIMARY KEY,           -- uploaded through the API (bundled ones live in the package)
    yaml TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
"""


class StoreError(EmulatorError):
    """The store cannot be opened or written (bad path, not a database, disk full, ...)."""


@dataclass(slots=True)
class EventRow:
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
    plan: Any = None  # the faults drawn for this delivery (in memory only)


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


def _upgrade_from_1(db: sqlite3.Connection) -> None:
    """Version 2 keeps each event's console columns (user, IP address, client); older events have none."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != 1:  # another process upgraded it meanwhile
            db.execute("ROLLBACK")
            return
        for column in ("user", "user_id", "ip", "client"):
            db.execute(f"ALTER TABLE events ADD COLUMN {column} TEXT")
        db.execute("PRAGMA user_version=2")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Store:
    """One connection to one store; used from a single thread (the event loop's)."""

    def __init__(self, path: str | os.PathLike[str] = ":memory:", create: bool = True) -> None:
        self.path = str(path)
        # called with ("event" | "attempt", record) after each commit: the server's live stream
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        if not create and self.path != ":memory:" and not Path(self.path).is_file():
            raise StoreError(f"{self.path}: no store here (nothing to resume); pass --db with the run's store")
        try:
            fresh = False
            if self.path != ":memory:":
                if Path(self.path).is_dir():
                    raise StoreError(
                        f"{self.path}: is a folder; give a file path for the store (e.g. {self.path}/emulator.db)"
                    )
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                fresh = not Path(self.path).exists()
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            if self.path != ":memory:" and fresh:
                os.chmod(self.path, 0o600)
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: written by a newer idp-emulator (store version {version})")
            if version == 0:  # new, or someone else's database: look before changing anything
                tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                others = sorted(
                    tables - {"runs", "targets", "events", "deliveries", "attempts", "scenarios", "saved_targets"}
                )
                if others:
                    self.db.close()
                    raise StoreError(
                        f"{self.path}: a SQLite database of something else (tables {', '.join(others[:5])});"
                        " give a new file for the store"
                    )
            self.db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed delivery survives a power cut too, and commits are batched
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA busy_timeout=10000")
            if version == 1:
                _upgrade_from_1(self.db)
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable idp-emulator store ({exc})") from None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open the store ({exc.strerror or exc})") from None

    def close(self) -> None:
        self.db.close()

    def _write(self, work: Any) -> Any:
        """Run ``work(cursor)`` in one immediate transaction; turn SQLite failures into StoreError."""
        try:
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                result = work(cur)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
            return result
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot write to the store ({exc})") from None

    # runs ---------------------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        scenario: str,
        vendors: Sequence[str],
        seed: int,
        targets: dict[str, dict[str, Any]],
        options: dict[str, Any] | None = None,
    ) -> None:
        def work(cur: sqlite3.Cursor) -> None:
            cur.execute(
                "INSERT INTO runs (id, scenario, vendors, seed, started_ms, status, options)"
                " VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (run_id, scenario, ",".join(vendors), seed, now_ms(), json.dumps(options or {})),
            )
            cur.executemany(
                "INSERT INTO targets (run_id, name, config) VALUES (?, ?, ?)",
                [(run_id, name, json.dumps(config)) for name, config in targets.items()],
            )

        self._write(work)

    def save_scenario(self, name: str, text: str) -> None:
        self._write(
            lambda cur: cur.execute(
                "INSERT INTO scenarios (name, yaml, updated_ms) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET yaml = excluded.yaml, updated_ms = excluded.updated_ms",
                (name, text, now_ms()),
            )
        )

    def scenario(self, name: str) -> str | None:
        row = self.db.execute("SELECT yaml FROM scenarios WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def scenario_names(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM scenarios ORDER BY name")]

    def delete_scenario(self, name: str) -> bool:
        return bool(self._write(lambda cur: cur.execute("DELETE FROM scenarios WHERE name = ?", (name,)).rowcount))

    def save_target(self, name: str, config: dict[str, Any]) -> None:
        """Keep a target made through the API (its config as ``stored_spec`` gives it: no literal secret)."""
        stamp = now_ms()
        self._write(
            lambda cur: cur.execute(
                "INSERT INTO saved_targets (name, config, created_ms, updated_ms) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET config = excluded.config, updated_ms = excluded.updated_ms",
                (name, json.dumps(config), stamp, stamp),
            )
        )

    def saved_targets(self) -> list[tuple[str, dict[str, Any], int, int]]:
        """Every saved target: name, config, created and updated (ms)."""
        rows = self.db.execute("SELECT name, config, created_ms, updated_ms FROM saved_targets ORDER BY name")
        return [(name, json.loads(config), created, updated) for name, config, created, updated in rows]

    def delete_target(self, name: str) -> bool:
        return bool(self._write(lambda cur: cur.execute("DELETE FROM saved_targets WHERE name = ?", (name,)).rowcount))

    def skip(self, run_id: str, count: int = 1) -> None:
        """Events the play passed over without storing (an action the IdP refused): still played."""
        self._write(lambda cur: cur.execute("UPDATE runs SET played = played + ? WHERE id = ?", (count, run_id)))

    def play_done(self, run_id: str) -> None:
        """Every event of the run is stored (or its play cannot go on): resume will not replay it."""
        self._write(lambda cur: cur.execute("UPDATE runs SET play_done = 1 WHERE id = ?", (run_id,)))

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        self._write(
            lambda cur: cur.execute(
                "UPDATE runs SET finished_ms = ?, status = ? WHERE id = ?", (now_ms(), status, run_id)
            )
        )

    def run(self, run_id: str) -> dict[str, Any] | None:
        cur = self.db.execute(
            "SELECT id, scenario, vendors, seed, started_ms, finished_ms, status, played, play_done, options"
            " FROM runs WHERE id = ?",
            (run_id,),
        )
        row = cur.fetchone()
        if row is None:
            return None
        info = dict(zip([c[0] for c in cur.description], row, strict=True))
        info["options"] = json.loads(info["options"])
        info["vendors"] = info["vendors"].split(",") if info["vendors"] else []
        return info

    def targets(self, run_id: str) -> dict[str, dict[str, Any]]:
        """A run's targets as stored (with ``disabled`` when the run disabled one)."""
        rows = self.db.execute("SELECT name, config, disabled FROM targets WHERE run_id = ? ORDER BY rowid", (run_id,))
        return {name: {**json.loads(config), **({"disabled": off} if off else {})} for name, config, off in rows}

    def disable_target(self, run_id: str, name: str, reason: str) -> None:
        self._write(
            lambda cur: cur.execute(
                "UPDATE targets SET disabled = ? WHERE run_id = ? AND name = ?", (reason, run_id, name)
            )
        )

    # deliveries ----------------------------------------------------------------------------

    def add(self, run_id: str, batch: Sequence[tuple[EventRow, Sequence[tuple[str, str | None]]]]) -> list[DeliveryRow]:
        """Store events and their deliveries (target name, ordering key) in one transaction.

        Ids are taken inside the transaction, so two processes sharing a store never collide.
        """

        def work(cur: sqlite3.Cursor) -> list[DeliveryRow]:
            event_id = cur.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
            delivery_id = cur.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0]
            stamp = now_ms()
            events: list[tuple[Any, ...]] = []
            rows: list[tuple[Any, ...]] = []
            out: list[DeliveryRow] = []
            for event, routes in batch:
                event_id += 1
                events.append(
                    (
                        event_id,
                        run_id,
                        event.vendor,
                        event.event_id,
                        event.type,
                        event.time_ms,
                        event.action,
                        event.actor,
                        event.error,
                        event.body,
                        event.faults,
                        event.user,
                        event.user_id,
                        event.ip,
                        event.client,
                    )
                )
                for target, key in routes:
                    delivery_id += 1
                    rows.append((delivery_id, run_id, event_id, target, key, stamp))
                    row = DeliveryRow(
                        delivery_id, run_id, target, event.event_id, event.type, event.time_ms, event.body, key
                    )
                    row.event_faults = event.faults
                    out.append(row)
            cur.executemany(
                "INSERT INTO events (id, run_id, vendor, event_id, type, time_ms, action, actor, error, body, faults,"
                " user, user_id, ip, client) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                events,
            )
            cur.execute("UPDATE runs SET played = played + ? WHERE id = ?", (len(events), run_id))
            cur.executemany(
                "INSERT INTO deliveries (id, run_id, event, target, key, status, updated_ms)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                rows,
            )
            return out

        rows = self._write(work)
        if self.listeners:
            for event, _ in batch:
                record = {"run": run_id, "vendor": event.vendor, "event_id": event.event_id, "type": event.type}
                self._tell("event", {**record, "time_ms": event.time_ms, "actor": event.actor, "error": event.error})
        return rows

    def _tell(self, kind: str, record: dict[str, Any]) -> None:
        for listener in self.listeners:
            try:
                listener(kind, record)
            except Exception:  # a listener's fault must not undo a commit
                continue

    def record(self, attempts: Iterable[AttemptRow], rows: Iterable[Outcome]) -> None:
        """Write finished attempts and the deliveries' new state in one transaction."""
        stamp = now_ms()

        def work(cur: sqlite3.Cursor) -> None:
            cur.executemany(
                "INSERT INTO attempts (delivery, number, at_ms, scenario_ms, duration_ms, status, error,"
                " response_headers, response_body, next_delay_ms, injected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        a.delivery,
                        a.number,
                        a.at_ms,
                        a.scenario_ms,
                        a.duration_ms,
                        a.status,
                        a.error,
                        None if a.response_headers is None else json.dumps(a.response_headers),
                        a.response_body,
                        a.next_delay_ms,
                        a.injected,
                    )
                    for a in attempts
                ],
            )
            cur.executemany(
                "UPDATE deliveries SET status = ?, attempts = ?, elapsed_ms = ?, last_status = ?, last_error = ?,"
                " updated_ms = ? WHERE id = ?",
                [(o.status, o.attempts, o.elapsed_ms, o.last_status, o.last_error, stamp, o.delivery) for o in rows],
            )

        self._write(work)
        if self.listeners:
            for a in attempts:
                record = {"delivery": a.delivery, "number": a.number, "status": a.status, "error": a.error}
                self._tell("attempt", {**record, "duration_ms": a.duration_ms, "injected": a.injected})

    def pending(self, run_id: str | None = None, page: int = 1000) -> Iterator[DeliveryRow]:
        """Every pending delivery, oldest first, read a page at a time (memory stays flat)."""
        after = 0
        while True:
            sql = (
                "SELECT d.id, d.run_id, d.target, e.event_id, e.type, e.time_ms, e.body, d.key, d.attempts,"
                " d.elapsed_ms, d.base, d.copy_of, d.injected, e.faults"
                " FROM deliveries d JOIN events e ON e.id = d.event"
                " WHERE d.status = 'pending' AND d.id > ?"
            )
            params: list[Any] = [after]
            if run_id is not None:
                sql += " AND d.run_id = ?"
                params.append(run_id)
            rows = self.db.execute(sql + " ORDER BY d.id LIMIT ?", (*params, page)).fetchall()
            if not rows:
                return
            for row in rows:
                yield DeliveryRow(*row)
            after = rows[-1][0]

    def unfinished_runs(self) -> list[str]:
        """Runs with pending deliveries, or whose play stopped without finishing (a crash)."""
        rows = self.db.execute(
            "SELECT id FROM runs WHERE status = 'running' OR play_done = 0"
            " OR id IN (SELECT DISTINCT run_id FROM deliveries WHERE status = 'pending') ORDER BY started_ms, id"
        )
        return [r[0] for r in rows]

    def copies(self, original: DeliveryRow, count: int, note: str) -> list[DeliveryRow]:
        """Store ``count`` duplicates of a delivery (a fault): the same event, sent again."""

        def work(cur: sqlite3.Cursor) -> list[DeliveryRow]:
            first = cur.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0] + 1
            event = cur.execute("SELECT event FROM deliveries WHERE id = ?", (original.id,)).fetchone()[0]
            stamp = now_ms()
            cur.executemany(
                "INSERT INTO deliveries (id, run_id, event, target, key, status, copy_of, injected, updated_ms)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                [
                    (first + i, original.run_id, event, original.target, None, original.id, note, stamp)
                    for i in range(count)
                ],
            )
            o = original
            return [
                DeliveryRow(
                    first + i,
                    o.run_id,
                    o.target,
                    o.event_id,
                    o.type,
                    o.time_ms,
                    o.body,
                    None,
                    copy_of=o.id,
                    event_faults=o.event_faults,
                )
                for i in range(count)
            ]

        return self._write(work)

    def note(self, delivery: int, injected: str, status: str | None = None) -> None:
        """Record a delivery-level fault (and a final status such as dropped)."""
        sql = (
            "UPDATE deliveries SET injected = ?, updated_ms = ?" + (", status = ?" if status else "") + " WHERE id = ?"
        )
        params = (injected, now_ms(), status, delivery) if status else (injected, now_ms(), delivery)
        self._write(lambda cur: cur.execute(sql, params))

    def requeue_failed(
        self,
        run_id: str | None = None,
        deliveries: Sequence[int] = (),
        since_ms: int | None = None,
        target: str | None = None,
    ) -> int:
        """Mark failed deliveries pending again (a resend keeps the event id); returns how many.

        ``since_ms`` keeps to deliveries that failed at or after that wall-clock time, ``target``
        to one target's.
        """
        where, params = ["status = 'failed'"], []
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        if deliveries:
            where.append(f"id IN ({','.join('?' * len(deliveries))})")
            params.extend(deliveries)
        if since_ms is not None:
            where.append("updated_ms >= ?")
            params.append(since_ms)
        if target is not None:
            where.append("target = ?")
            params.append(target)
        clause = " AND ".join(where)

        def work(cur: sqlite3.Cursor) -> int:
            # a resend means to try again: targets the run disabled take deliveries again
            cur.execute(
                "UPDATE targets SET disabled = NULL WHERE disabled IS NOT NULL AND (run_id, name) IN"
                f" (SELECT run_id, target FROM deliveries WHERE {clause})",
                params,
            )
            return cur.execute(
                "UPDATE deliveries SET status = 'pending', elapsed_ms = 0, base = attempts, updated_ms = ?"
                f" WHERE {clause}",
                (now_ms(), *params),
            ).rowcount

        return self._write(work)

    def delivery_targets(
        self, run_id: str, status: str, deliveries: Sequence[int] = (), target: str | None = None
    ) -> set[str]:
        """The targets a run's deliveries in ``status`` (of those ids, of that target) go to."""
        sql = "SELECT DISTINCT target FROM deliveries WHERE run_id = ? AND status = ?"
        params: list[Any] = [run_id, status]
        if deliveries:
            sql += f" AND id IN ({','.join('?' * len(deliveries))})"
            params.extend(deliveries)
        if target is not None:
            sql += " AND target = ?"
            params.append(target)
        return {r[0] for r in self.db.execute(sql, params)}

    def failed_runs(self, since_ms: int | None = None, target: str | None = None) -> list[str]:
        """Runs with failed deliveries (since a wall-clock time, to one target): what a replay touches."""
        sql = "SELECT DISTINCT run_id FROM deliveries WHERE status = 'failed'"
        params: list[Any] = []
        if since_ms is not None:
            sql += " AND updated_ms >= ?"
            params.append(since_ms)
        if target is not None:
            sql += " AND target = ?"
            params.append(target)
        return [r[0] for r in self.db.execute(sql + " ORDER BY run_id", params)]

    # reading -------------------------------------------------------------------------------

    def counts(self, run_id: str) -> dict[str, int]:
        """Deliveries by status, and attempts, for one run."""
        out = {"pending": 0, "delivered": 0, "failed": 0, "dropped": 0, "attempts": 0}
        for status, count, attempts in self.db.execute(
            "SELECT status, count(*), sum(attempts) FROM deliveries WHERE run_id = ? GROUP BY status", (run_id,)
        ):
            out[status] = count
            out["attempts"] += attempts or 0
        return out

    def attempts(self, delivery: int) -> list[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT number, at_ms, scenario_ms, duration_ms, status, error, response_headers, response_body,"
            " next_delay_ms, injected FROM attempts WHERE delivery = ? ORDER BY number, id",
            (delivery,),
        )
        keys = [c[0] for c in cur.description]
        rows = []
        for row in cur:
            item = dict(zip(keys, row, strict=True))
            if item["response_headers"] is not None:
                item["response_headers"] = json.loads(item["response_headers"])
            rows.append(item)
        return rows

    def deliveries(self, run_id: str) -> list[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT d.id, d.target, e.event_id, e.type, d.status, d.attempts, d.last_status, d.last_error,"
            " d.copy_of, d.injected FROM deliveries d JOIN events e ON e.id = d.event WHERE d.run_id = ? ORDER BY d.id",
            (run_id,),
        )
        keys = [c[0] for c in cur.description]
        return [dict(zip(keys, row, strict=True)) for row in cur]

    def events(self, run_id: str) -> list[dict[str, Any]]:
        """A run's events in the order they were played, with their exact bodies."""
        cur = self.db.execute(
            "SELECT vendor, event_id, type, time_ms, action, actor, error, body, faults FROM events"
            " WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
        keys = [c[0] for c in cur.description]
        return [dict(zip(keys, row, strict=True)) for row in cur]
