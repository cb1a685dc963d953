"""The outbox's batch writes on a thread of their own: the event loop sends while SQLite commits.

A file store syncs each commit to disk (``synchronous=FULL``), milliseconds in which the event loop
would send nothing. The writer thread has its own connection to the same file (WAL: the loop's
connection reads only what is committed, and SQLite releases the GIL while it works) and takes
the batches in the order they were handed over. What a crash can lose, and why that is correct:

- New events and their deliveries: nothing. ``add`` returns only once their transaction has
  committed, and only then does the dispatcher see them: no delivery is attempted that the store
  does not hold, so ``resume`` finds every one.
- Attempts: the record of those not yet committed (the dispatcher flushes them at least every
  0.1 s, or 500 at a time, and this thread writes them in order). Their deliveries are still
  ``pending`` in the store, so ``resume`` sends them again, with the same event ids: a consumer
  may see such an event twice, never miss one. That is the at-least-once promise every webhook
  sender makes and every consumer dedupes for; a record written before the attempt happened would
  instead claim what may never have been sent.

Listeners hear of rows on the event loop, after their commit. Only a store opened with
``background_writes`` (the command line's ``run``, ``resume`` and ``resend``: one run owns it)
gets the thread. A server's store is shared by many runs and the API: a second connection there
would make the two wait on each other's write locks (SQLite's busy handler sleeps), so its writes
run inline on its one connection, as does an in-memory store's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from emulator.store import AttemptRow, DeliveryRow, EventRow, Outcome, Store

T = TypeVar("T")
Batch = Sequence[tuple[EventRow, Sequence[tuple[str, str | None]]]]
MAX_BACKLOG = 8  # writes handed over and not yet committed, at most, before the producer waits


def writer_for(store: Store) -> Writer:
    """The store's writer, made when first needed and closed with the store."""
    if store.writer is None:
        store.writer = Writer(store)
    return store.writer  # type: ignore[no-any-return]


class Writer:
    """Writes batches for ``store``, off the event loop when ``store`` is a file."""

    def __init__(self, store: Store) -> None:
        self.store = store
        threaded = store.background_writes and store.path != ":memory:"
        self._thread = ThreadPoolExecutor(1, "idp-emulator-store") if threaded else None
        self._own: Store | None = None  # the thread's connection, opened by the thread
        self._last: asyncio.Future[None] | None = None  # writes finish in order: the latest is the last
        self.backlog = 0  # writes handed over, not yet done

    async def add(self, run_id: str, batch: Batch) -> list[DeliveryRow]:
        """Store events and their deliveries; returns once they are committed."""
        if self._thread is None:
            return self.store.add(run_id, batch)
        rows = await self._submit(lambda own: own.add(run_id, batch))
        self.store.tell_events(run_id, batch)
        return rows

    def record(
        self, attempts: list[AttemptRow], outcomes: list[Outcome], failed: Callable[[BaseException], None]
    ) -> None:
        """Write finished attempts in the background; ``failed`` hears of a write that did not commit
        (the caller keeps the rows to write again)."""
        if self._thread is None:
            try:
                self.store.record(attempts, outcomes)
            except Exception as exc:
                failed(exc)
            return
        future = self._submit(lambda own: own.record(attempts, outcomes))

        def done(f: asyncio.Future[None]) -> None:
            if f.cancelled():
                return
            exc = f.exception()
            if exc is not None:
                failed(exc)
            else:
                self.store.tell_attempts(attempts, outcomes)

        future.add_done_callback(done)

    async def settled(self) -> None:
        """Wait until everything handed over so far is written (or has failed)."""
        if self._last is not None:
            await asyncio.wait([self._last])

    def close(self) -> None:
        """Finish what was handed over, then close the thread's connection and the thread (``Store.close``)."""
        if self._thread is not None:
            self._thread.submit(self._close_own).result()
            self._thread.shutdown(wait=True)
            self._thread = None

    def _close_own(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None

    def _submit(self, work: Callable[[Store], T]) -> asyncio.Future[T]:
        assert self._thread is not None
        loop = asyncio.get_running_loop()

        def run() -> T:
            if self._own is None:
                self._own = Store(self.store.path, create=False)
            return work(self._own)

        future = loop.run_in_executor(self._thread, run)
        self.backlog += 1
        future.add_done_callback(self._one_less)
        self._last = future  # type: ignore[assignment]
        return future

    def _one_less(self, _: object) -> None:
        self.backlog -= 1
