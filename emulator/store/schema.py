"""The store's tables, their version, and the upgrades from older versions.

Opening a store checks before it changes anything: a newer store, another program's database, a
folder or a file that is not SQLite is refused with a message, never written to.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from emulator.errors import EmulatorError

SCHEMA_VERSION = 5
DEFAULT_DB = ".idp-emulator/emulator.db"
TABLES = ("runs", "targets", "events", "deliveries", "attempts", "scenarios", "saved_targets")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    scenario TEXT NOT NULL,
    vendors TEXT NOT NULL,
    seed INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    status TEXT NOT NULL,            -- running (or crashed while running), interrupted, finished, failed, cancelled
    played INTEGER NOT NULL DEFAULT 0,        -- events stored or passed over (refused): where a resumed play goes on
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
    username TEXT,                   -- the actor's username (a filter by user matches either)
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
    status TEXT NOT NULL,            -- pending, delivered, failed, dropped (a fault), cancelled (with its run)
    copy_of INTEGER,                 -- a duplicate a fault made of this delivery
    injected TEXT,                   -- faults on the delivery: dropped, delayed, duplicated, reordered
    attempts INTEGER NOT NULL DEFAULT 0,
    base INTEGER NOT NULL DEFAULT 0,         -- attempts before the latest resend (a resend retries anew)
    elapsed_ms INTEGER NOT NULL DEFAULT 0,   -- scenario time spent waiting between attempts
    last_status INTEGER,
    last_error TEXT,
    updated_ms INTEGER NOT NULL
);
-- a run's deliveries by status: its counts, and what resume sends (its pending ones, in id order)
CREATE INDEX IF NOT EXISTS deliveries_by_run ON deliveries(run_id, status);
-- an event's deliveries (the console's status per event) without a scan of every delivery
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries(event);
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


# What each version adds to the one before it (older rows have NULL there).
UPGRADES: dict[int, tuple[str, ...]] = {
    2: tuple(f"ALTER TABLE events ADD COLUMN {c} TEXT" for c in ("user", "user_id", "ip", "client")),  # console
    3: ("ALTER TABLE events ADD COLUMN username TEXT",),  # a filter by user matches the username too
    # deliveries_by_event, the index that finds an event's deliveries (the console's status per event):
    # an index adds no column, so SCHEMA, which runs after the upgrades, makes it
    4: (),
    # the pending deliveries of every run in one index: kept up at every delivery's insert and first
    # outcome (a tenth of what the store's statements cost), for what deliveries_by_run finds per run
    5: ("DROP INDEX IF EXISTS deliveries_pending",),
}


def upgrade(db: sqlite3.Connection, version: int) -> None:
    """Bring a store of ``version`` up to date, one version per transaction; a version another process
    reached meanwhile is left as it is."""
    for target in range(version + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != target - 1:
                db.execute("ROLLBACK")
                continue
            for statement in UPGRADES[target]:
                db.execute(statement)
            db.execute(f"PRAGMA user_version={target}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def upgrade_from_1(db: sqlite3.Connection) -> None:
    """A version 1 store brought up to date (what a second process that read version 1 would do)."""
    upgrade(db, 1)


def open_database(path: str, create: bool = True) -> sqlite3.Connection:
    """A connection to the store at ``path`` with its tables in place (made or upgraded as needed)."""
    if not create and path != ":memory:" and not Path(path).is_file():
        raise StoreError(f"{path}: no store here (nothing to resume); pass --db with the run's store")
    try:
        fresh = False
        if path != ":memory:":
            if Path(path).is_dir():
                raise StoreError(f"{path}: is a folder; give a file path for the store (e.g. {path}/emulator.db)")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fresh = not Path(path).exists()
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if path != ":memory:" and fresh:
            os.chmod(path, 0o600)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path}: written by a newer idp-emulator (store version {version})")
        if version == 0:  # new, or someone else's database: look before changing anything
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            others = sorted(tables - set(TABLES))
            if others:
                db.close()
                raise StoreError(
                    f"{path}: a SQLite database of something else (tables {', '.join(others[:5])});"
                    " give a new file for the store"
                )
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed delivery survives a power cut too, and commits are batched
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=10000")
        if 0 < version < SCHEMA_VERSION:
            upgrade(db, version)
        if version < SCHEMA_VERSION:  # one transaction (one sync to disk), and none for a store up to date
            db.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a usable idp-emulator store ({exc})") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the store ({exc.strerror or exc})") from None
    return db
