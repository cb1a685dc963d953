"""Many rows in one statement: how the outbox writes a batch of events, deliveries or attempts.

``executemany`` runs its statement once per row: a reset, a round of binding and a step each
time. One ``INSERT ... VALUES (...), (...), ...`` of many rows does that work once, and values
are handed over in the forms SQLite binds without an adapter lookup (``bindable``). Together
they took the instructions spent inside the outbox's statements from 124,000 to 72,000 per
delivery (callgrind; events, deliveries, attempts and outcomes, COMMIT included), statements that
were a quarter of what the event loop did in a run.

A batch is cut into statements of a few fixed sizes (64, 16, 4 and 1 rows, fewer where the
SQLite build allows fewer variables), so only a handful of statement texts exist per table and
each stays in the connection's statement cache. An update of many rows joins them the same way
(``UPDATE ... FROM``), where the SQLite library is recent enough for it.
"""

from __future__ import annotations

import math
import sqlite3
from functools import cache
from typing import Any

SIZES = (64, 16, 4, 1)  # rows per statement, largest first
NULL = math.nan  # binds as NULL: SQLite stores no NaN (see ``bindable``)


@cache
def statement(head: str, width: int, rows: int, tail: str = "") -> str:
    """``head`` (``INSERT INTO t (a, b) VALUES``), ``rows`` groups of ``width`` placeholders, ``tail``."""
    group = "(" + ", ".join("?" * width) + ")"
    return f"{head} {', '.join([group] * rows)}{tail}"


def sizes(connection: sqlite3.Connection, width: int) -> tuple[int, ...]:
    """The statement sizes for rows of ``width`` values that this connection's SQLite accepts."""
    most = max(1, connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
    return tuple(dict.fromkeys(min(size, most) for size in SIZES))


def insert(cur: sqlite3.Cursor, table: str, columns: tuple[str, ...], values: list[Any]) -> None:
    """Insert rows into ``table`` given as one flat list: each row's values in ``columns``' order."""
    _run(cur, f"INSERT INTO {table} ({', '.join(columns)}) VALUES", "", len(columns), values)


# UPDATE ... FROM arrived in SQLite 3.33 (2020); an older library updates one row per statement
JOINED_UPDATE = sqlite3.sqlite_version_info >= (3, 33, 0)


def update(
    cur: sqlite3.Cursor, table: str, columns: tuple[str, ...], values: list[Any], joined: bool = JOINED_UPDATE
) -> None:
    """Set ``columns`` of the rows of ``table`` whose ``id`` comes first in each row of ``values``
    (flat: the id, then one value per column). Each id once: which of two would win is not said."""
    width = len(columns) + 1
    if not joined:
        _whole(width, values)
        values = bindable(values)
        rows = [values[i + 1 : i + width] + values[i : i + 1] for i in range(0, len(values), width)]
        cur.executemany(f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?", rows)
        return
    head = f"WITH v(id, {', '.join(columns)}) AS (VALUES"
    tail = f") UPDATE {table} SET {', '.join(f'{c} = v.{c}' for c in columns)} FROM v WHERE {table}.id = v.id"
    _run(cur, head, tail, width, values)


def bindable(values: list[Any]) -> list[Any]:
    """``values`` as Python's sqlite3 binds without looking for an adapter: None as NaN, which
    SQLite stores as NULL, and bytes as a bytearray, stored as the same BLOB.

    Python 3.11's sqlite3 binds an int, float, str or bytearray at once, but looks up an adapter
    for any other value, None and bytes included, and each lookup formats an AttributeError that
    it then discards: about a quarter of the instructions the outbox's statements took.
    """
    return [NULL if v is None else bytearray(v) if type(v) is bytes else v for v in values]


def _whole(width: int, values: list[Any]) -> None:
    if len(values) % width:
        raise ValueError(f"{len(values)} values do not make rows of {width}")


def _run(cur: sqlite3.Cursor, head: str, tail: str, width: int, values: list[Any]) -> None:
    """The statement ``head`` (groups of ``width`` placeholders) ``tail``, as few times as the sizes allow."""
    _whole(width, values)
    values = bindable(values)
    start, end = 0, len(values)
    for size in sizes(cur.connection, width):
        span = size * width
        if end - start < span:
            continue
        text = statement(head, width, size, tail)
        while end - start >= span:
            cur.execute(text, values[start : start + span])
            start += span
