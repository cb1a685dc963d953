"""The store's writes committed in groups, each group's sync to disk off the event loop.

A file store syncs each commit to disk (``synchronous=FULL``), milliseconds in which the event loop
would answer nothing. A store opened with ``background_writes`` (``serve``, and the command line's
``run``, ``resume`` and ``resend``) therefore writes through its writer, once the first run makes
it, on a connection of its own (WAL: the loop's connection reads only what is committed), which
is then the only connection that writes, so no two wait on each other's write locks.

Group commit: every write handed over while the previous group was syncing goes into the next
group: one transaction, each write in a savepoint of its own (one that fails is undone alone and
reported to its caller; the others commit), and one COMMIT, run on a thread (SQLite releases the
GIL while it syncs) while the loop goes on. The statements themselves run on the loop: without
the sync they take microseconds, and a thread running them would wait for the GIL at each one. A
server with many runs at once pays one sync per group rather than one per write.

What a crash can lose, and why that is correct:

- New events and their deliveries: nothing. ``add`` returns only once their group has committed,
  and only then does the dispatcher see them: no delivery is attempted that the store does not
  hold, so ``resume`` finds every one. A run is the same: ``write`` returns after its commit, and
  the API answers that a run started only once it is stored.
- Attempts: the record of those not yet committed (the dispatcher flushes them at least every
  0.1 s, or 500 at a time, and groups commit in order). Their deliveries are still ``pending`` in
  the store, so ``resume`` sends them again, with the same event ids: a consumer may see such an
  event twice, never miss one. That is the at-least-once promise every webhook sender makes and
  every consumer dedupes for; a record written before the attempt happened would instead claim
  what may never have been sent.

Listeners hear of rows on the event loop, after their commit. An in-memory store (tests) writes
inline on its one connection. A write made through a plain store method outside a coroutine (an
API edit, a cancel) waits for a group being synced, then commits on its own, as before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from emulator.store import AttemptRow, DeliveryRow, EventRow, Outcome, Store
from emulator.store.schema import StoreError

T = TypeVar("T")
Batch = Sequence[tuple[EventRow, Sequence[tuple[str, str | None]]]]
Work = Callable[[Store], Any]
Outcome3 = tuple[asyncio.Future[Any], bool, Any]  # a write's future, whether it committed, its result or error
MAX_BACKLOG = 8  # writes handed over and not yet committed, at most, before a producer waits
MAX_GROUP = 1_000  # writes committed together, at most (a group's transaction stays short)


def writer_for(store: Store) -> Writer:
    """The store's writer, made when first needed and closed with the store."""
    if store.writer is None:
        store.writer = Writer(store)
    return store.writer  # type: ignore[no-any-return]


class Writer:
    """Writes for ``store``, committed in groups off the event loop when ``store`` is a file."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.threaded = store.background_writes and store.path != ":memory:"
        self._thread = ThreadPoolExecutor(1, "idp-emulator-store") if self.threaded else None
        self._own: Store | None = None  # the connection that writes, opened with the first write
        self._queue: list[tuple[Work, asyncio.Future[Any]]] = []  # handed over, not yet in a group
        self._committer: asyncio.Task[None] | None = None
        self._syncing: concurrent.futures.Future[Any] | None = None  # a group's COMMIT on the thread
        self._last: asyncio.Future[Any] | None = None  # writes finish in order: the latest is the last
        self.backlog = 0  # writes handed over, not yet done
        self.groups = 0  # transactions committed in groups (what grouping saves is one per write)

    async def write(self, work: Callable[[Store], T]) -> T:
        """``work(store)`` committed: its result once its group has committed (at once in memory)."""
        if not self.threaded:
            return work(self.store)
        result: T = await self._submit(work)
        return result

    async def add(self, run_id: str, batch: Batch) -> list[DeliveryRow]:
        """Store events and their deliveries; returns once they are committed."""
        if not self.threaded:
            return self.store.add(run_id, batch)
        rows: list[DeliveryRow] = await self._submit(lambda own: own.add(run_id, batch))
        self.store.tell_events(run_id, batch)
        return rows

    def record(
        self, attempts: list[AttemptRow], outcomes: list[Outcome], failed: Callable[[BaseException], None]
    ) -> None:
        """Write finished attempts in the background; ``failed`` hears of a write that did not commit
        (the caller keeps the rows to write again)."""
        if not self.threaded:
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

    def wait(self, work: Callable[[Store], T]) -> T:
        """``work(store)`` in a transaction of its own, committed before this returns (the caller
        waits, as for any commit): how a store method called outside a coroutine writes
        (``Connection._write``) once the writer exists. It waits for a group being synced first."""
        self._synced()
        return work(self._connection())

    async def settled(self) -> None:
        """Wait until everything handed over so far is written (or has failed)."""
        if self._last is not None:
            await asyncio.wait([self._last])

    def close(self) -> None:
        """Commit what was handed over, then close the writing connection and the thread (``Store.close``)."""
        if self._thread is None:
            return
        self._synced()
        while self._queue:  # the loop is stopping: what is left is committed here and now
            self._settle(self._group(self._connection(), self._take(), sync=True))
        if self._own is not None:
            self._own.close()
            self._own = None
        self._thread.shutdown(wait=True)
        self._thread = None
        self.threaded = False

    # groups ------------------------------------------------------------------------------------

    def _submit(self, work: Callable[[Store], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((work, future))
        self.backlog += 1
        future.add_done_callback(self._one_less)
        self._last = future
        if self._committer is None or self._committer.done():
            self._committer = loop.create_task(self._commit_groups())
        return future

    def _one_less(self, _: object) -> None:
        self.backlog -= 1

    def _connection(self) -> Store:
        if self._own is None:
            self._own = Store(self.store.path, create=False)
        return self._own

    def _take(self) -> list[tuple[Work, asyncio.Future[Any]]]:
        jobs, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
        return jobs

    def _synced(self) -> None:
        """Block until the COMMIT on the thread (if any) is over; a failed one leaves no transaction open."""
        syncing = self._syncing
        if syncing is not None:
            concurrent.futures.wait([syncing])
            own = self._own
            if syncing.exception() is not None and own is not None and own.db.in_transaction:
                own.db.execute("ROLLBACK")

    async def _commit_groups(self) -> None:
        """While writes are handed over: take them all, write them on the loop (SQLite's work without
        the sync is quick), and commit them with one sync on the thread while the loop goes on."""
        while self._queue:
            own, jobs = self._connection(), self._take()
            outcomes = self._group(own, jobs, sync=False)
            syncing = self._syncing
            if syncing is not None:
                try:  # shielded: a COMMIT under way is never abandoned, whoever is cancelled
                    await asyncio.shield(asyncio.wrap_future(syncing))
                except asyncio.CancelledError:
                    self._synced()
                    self._settle(self._after_commit(own, jobs, outcomes, syncing))
                    raise
                except Exception:  # _after_commit reports it
                    pass
                outcomes = self._after_commit(own, jobs, outcomes, syncing)
            self._settle(outcomes)

    def _group(self, own: Store, jobs: list[tuple[Work, asyncio.Future[Any]]], sync: bool) -> list[Outcome3]:
        """Run ``jobs`` in one transaction, each in a savepoint; commit it here (``sync``) or hand the
        COMMIT to the thread (``self._syncing``)."""
        self._syncing = None
        outcomes: list[Outcome3] = []
        try:
            own.db.execute("BEGIN IMMEDIATE")
            own.grouped = True
            try:
                for work, future in jobs:
                    own.db.execute("SAVEPOINT job")  # a write that fails is undone whole, and alone
                    try:
                        outcomes.append((future, True, work(own)))
                    except Exception as exc:
                        outcomes.append((future, False, exc))
                        if own.db.in_transaction:
                            own.db.execute("ROLLBACK TO job")
                    if not own.db.in_transaction:  # SQLite gave up the whole transaction (I/O error, disk full)
                        raise sqlite3.OperationalError("the transaction was rolled back")
                    own.db.execute("RELEASE job")
            finally:
                own.grouped = False
            if sync:
                own.db.execute("COMMIT")
                self.groups += 1
            else:
                assert self._thread is not None
                self._syncing = self._thread.submit(own.db.execute, "COMMIT")
        except sqlite3.Error as exc:
            return self._failed(own, jobs, exc)
        return outcomes

    def _after_commit(
        self,
        own: Store,
        jobs: list[tuple[Work, asyncio.Future[Any]]],
        outcomes: list[Outcome3],
        syncing: concurrent.futures.Future[Any],
    ) -> list[Outcome3]:
        """The group's outcomes once its COMMIT on the thread is over: all failed if it failed."""
        if self._syncing is syncing:
            self._syncing = None
        exc = syncing.exception()
        if exc is None:
            self.groups += 1
            return outcomes
        return self._failed(own, jobs, exc)

    def _failed(self, own: Store, jobs: list[tuple[Work, asyncio.Future[Any]]], exc: BaseException) -> list[Outcome3]:
        """Every write of a group that did not commit fails with the store's error."""
        if own.db.in_transaction:
            own.db.execute("ROLLBACK")
        error = StoreError(f"{own.path}: cannot write to the store ({exc})")
        return [(future, False, error) for _, future in jobs]

    @staticmethod
    def _settle(outcomes: list[Outcome3]) -> None:
        """Hand each write's result (or error) to whoever awaits it."""
        for future, ok, value in outcomes:
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
