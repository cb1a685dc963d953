"""One connection to one store, and the way every write goes through it.

Writes come in batches, each in one immediate transaction, so a crash leaves either all of a
batch or none of it. Listeners (the server's live stream) hear of rows after they are committed.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from emulator.store.schema import StoreError, open_database

T = TypeVar("T")
Listener = Callable[[str, dict[str, Any]], None]


class Where:
    """A WHERE clause built from the filters that are given (the others leave it alone)."""

    def __init__(self, *always: str) -> None:
        self.parts: list[str] = list(always)
        self.params: list[Any] = []

    def add(self, sql: str, value: Any) -> Where:
        """``sql`` (with one ``?``) when ``value`` is given (not None)."""
        if value is not None:
            self.parts.append(sql)
            self.params.append(value)
        return self

    def among(self, column: str, values: Sequence[Any]) -> Where:
        """``column`` is one of ``values``, when there are any."""
        if values:
            self.parts.append(f"{column} IN ({','.join('?' * len(values))})")
            self.params.extend(values)
        return self

    def any_of(self, columns: Sequence[str], value: Any) -> Where:
        """One of ``columns`` holds ``value`` (a filter a person names once, the store keeps in several)."""
        self.parts.append("(" + " OR ".join(f"{column} = ?" for column in columns) + ")")
        self.params.extend([value] * len(columns))
        return self

    def __str__(self) -> str:
        return " AND ".join(self.parts) or "1"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Connection:
    """Used from a single thread (the event loop's)."""

    def __init__(
        self, path: str | os.PathLike[str] = ":memory:", create: bool = True, background_writes: bool = False
    ) -> None:
        """``background_writes``: writes are committed by a thread of their own, in groups (``store.writer``),
        once the first run makes it; from then on that thread's connection is the only one that writes."""
        self.path = str(path)
        self.background_writes = background_writes
        # called with ("event" | "attempt", record) after each commit: the server's live stream
        self.listeners: list[Listener] = []
        self.db = open_database(self.path, create)
        self.writer: Any = None  # the batch writer on a thread of its own (``store.writer``), once a run needs it
        self.grouped = False  # the writer's own store building a group: each write is a savepoint of it

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self.db.close()

    def _write(self, work: Callable[[sqlite3.Cursor], T]) -> T:
        """Run ``work(cursor)`` in one immediate transaction; turn SQLite failures into StoreError.

        Once the store has a writer (``store.writer``), the writer's connection is the only one that
        writes: a write made here goes there (and is committed before this returns). On the writer's
        own store, while it builds a group (``grouped``), each write is a savepoint of that group."""
        if self.writer is not None and self.writer.threaded:
            return self.writer.wait(lambda own: own._write(work))  # type: ignore[no-any-return]
        try:
            cur = self.db.cursor()
            cur.execute("SAVEPOINT write" if self.grouped else "BEGIN IMMEDIATE")
            try:
                result = work(cur)
            except BaseException:
                cur.execute("ROLLBACK TO write" if self.grouped else "ROLLBACK")
                if self.grouped:
                    cur.execute("RELEASE write")
                raise
            cur.execute("RELEASE write" if self.grouped else "COMMIT")
            return result
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot write to the store ({exc})") from None

    def _tell(self, kind: str, record: dict[str, Any]) -> None:
        for listener in self.listeners:
            try:
                listener(kind, record)
            except Exception:  # a listener's fault must not undo a commit
                continue
