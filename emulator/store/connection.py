"""One connection to one store, and the way every write goes through it.

Writes come in batches, each in one immediate transaction, so a crash leaves either all of a
batch or none of it. Listeners (the server's live stream) hear of rows after they are committed.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from emulator.store.schema import StoreError, open_database

T = TypeVar("T")
Listener = Callable[[str, dict[str, Any]], None]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Connection:
    """Used from a single thread (the event loop's)."""

    def __init__(self, path: str | os.PathLike[str] = ":memory:", create: bool = True) -> None:
        self.path = str(path)
        # called with ("event" | "attempt", record) after each commit: the server's live stream
        self.listeners: list[Listener] = []
        self.db = open_database(self.path, create)

    def close(self) -> None:
        self.db.close()

    def _write(self, work: Callable[[sqlite3.Cursor], T]) -> T:
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

    def _tell(self, kind: str, record: dict[str, Any]) -> None:
        for listener in self.listeners:
            try:
                listener(kind, record)
            except Exception:  # a listener's fault must not undo a commit
                continue
