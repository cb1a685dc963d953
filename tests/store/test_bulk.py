"""Many rows per statement store exactly what one statement per row stores."""

from __future__ import annotations

import random
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.store import EventRow, Outcome, Store, bulk

POOL = (None, 0, -1, 2**63 - 1, -(2**63), 1.5, "", "é", "pending", b"", b"\x00body")


def _table(width: int, limit: int | None) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    if limit is not None:
        db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    columns = ", ".join(f"c{i}" for i in range(width))
    db.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {columns})")
    return db


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    width=st.integers(1, 6),
    rows=st.integers(0, 150),
    limit=st.sampled_from([None, 7, 40, 999]),
    seed=st.integers(0, 2**32),
)
def test_a_batch_in_a_few_statements_stores_what_one_statement_per_row_stores(
    width: int, rows: int, limit: int | None, seed: int
) -> None:
    limit = None if limit is not None and limit < width else limit
    draw = random.Random(seed)
    table = [tuple(draw.choice(POOL) for _ in range(width)) for _ in range(rows)]
    columns = ", ".join(f"c{i}" for i in range(width))
    head = f"INSERT INTO t ({columns}) VALUES"
    one_by_one, together = _table(width, None), _table(width, limit)
    one_by_one.executemany(f"{head} ({', '.join('?' * width)})", table)
    names = tuple(f"c{i}" for i in range(width))
    bulk.insert(together.cursor(), "t", names, [value for row in table for value in row])
    read = "SELECT * FROM t ORDER BY id"
    assert together.execute(read).fetchall() == one_by_one.execute(read).fetchall()


def test_statements_come_in_a_few_sizes_within_what_the_build_allows() -> None:
    db = sqlite3.connect(":memory:")
    assert bulk.sizes(db, 16) == (64, 16, 4, 1)
    db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    assert bulk.sizes(db, 16) == (62, 16, 4, 1)
    db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)
    assert bulk.sizes(db, 16) == (1,)


def test_values_that_do_not_make_whole_rows_are_refused() -> None:
    db = _table(3, None)
    with pytest.raises(ValueError, match="7 values do not make rows of 3"):
        bulk.insert(db.cursor(), "t", ("c0", "c1", "c2"), list(range(7)))


@settings(max_examples=100, derandomize=True, deadline=None)
@given(
    rows=st.integers(0, 150),
    limit=st.sampled_from([None, 7, 40]),
    joined=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_an_update_of_many_rows_sets_what_one_statement_per_row_sets(
    rows: int, limit: int | None, joined: bool, seed: int
) -> None:
    draw = random.Random(seed)
    stored = [(n, *(draw.choice(POOL) for _ in range(3))) for n in range(1, 200)]
    chosen = draw.sample(range(1, 220), rows)  # some ids are not stored: nothing to update there
    changes = [(n, *(draw.choice(POOL) for _ in range(3))) for n in chosen]
    one_by_one, together = _table(3, None), _table(3, limit)
    for db in (one_by_one, together):
        db.executemany("INSERT INTO t (id, c0, c1, c2) VALUES (?, ?, ?, ?)", stored)
    one_by_one.executemany("UPDATE t SET c0 = ?, c1 = ?, c2 = ? WHERE id = ?", [(*c[1:], c[0]) for c in changes])
    bulk.update(together.cursor(), "t", ("c0", "c1", "c2"), [v for c in changes for v in c], joined=joined)
    read = "SELECT * FROM t ORDER BY id"
    assert together.execute(read).fetchall() == one_by_one.execute(read).fetchall()


def test_of_two_outcomes_of_one_delivery_in_one_record_the_later_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    """A retry that ends before the flush gives its delivery two outcomes. One statement updates
    every delivery of a record, and which of two rows for one id SQLite takes is arbitrary, so the
    store hands each delivery over once, with its later outcome (either order)."""
    updated: list[list[object]] = []
    real = bulk.update

    def update(cur: sqlite3.Cursor, table: str, columns: tuple[str, ...], values: list[object]) -> None:
        updated.append(values[:: len(columns) + 1])  # the ids
        real(cur, table, columns, values)

    monkeypatch.setattr(bulk, "update", update)
    store = Store()
    store.create_run("r", "login", ["keycloak"], 1, {})
    event: EventRow = {
        "vendor": "keycloak", "event_id": "e1", "type": "LOGIN", "time_ms": 0, "action": "login", "actor": "a",
        "error": None, "body": b"{}", "faults": None, "user": None, "user_id": None, "username": None, "ip": None,
        "client": None,
    }  # fmt: skip
    first, second = store.add("r", [(event, [("hook", None)]), ({**event, "event_id": "e2"}, [("hook", None)])])
    retried = Outcome(first.id, "pending", 1, 500, 503, None)
    store.record([], [retried, Outcome(first.id, "delivered", 2, 500, 200, None)])
    store.record([], [Outcome(second.id, "delivered", 1, 0, 200, None), Outcome(second.id, "failed", 2, 0, 410, None)])
    rows = store.db.execute("SELECT id, status, attempts, last_status FROM deliveries ORDER BY id").fetchall()
    assert rows == [(first.id, "delivered", 2, 200), (second.id, "failed", 2, 410)]
    assert updated == [[first.id], [second.id]]
