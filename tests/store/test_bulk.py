"""Many rows per statement store exactly what one statement per row stores."""

from __future__ import annotations

import random
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.store import bulk

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
