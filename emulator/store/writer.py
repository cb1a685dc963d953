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
  0.1 s, or 5,000 at a time, and groups commit in order). Their deliveries are still ``pending`` in
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
import contextlib
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
        self._syncing: _Group | None = None  # the group whose COMMIT is under way on the thread
        self._last: asyncio.Future[Any] | None = None  # writes finish in order: the latest is the last
        self.backlog = 0  # writes handed over, not yet done
        self.groups = 0  # transactions committed in groups (what grouping saves is one per write)
        self.threads = 0  # threads started (its commit thread, from the first group synced there)

    async def write(self, work: Callable[[Store], T]) -> T:
        """``work(store)`` committed: its result once its group has committed (at once in memory)."""
        if not self.threaded:
            return work(self.store)
        result: T = await self._submit(work)
        return result

    def submit(self, work: Callable[[Store], T]) -> asyncio.Future[T]:
        """``work(store)`` handed over now (in memory: done now); the future is done once it is committed."""
        if self.threaded:
            return self._submit(work)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(work(self.store))
        except Exception as exc:
            future.set_exception(exc)
        return future

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
        (``Connection._write``) once the writer exists. What was handed over before it is
        committed first, so writes land in the order they were made (a cancel after its run)."""
        self._flush()
        return work(self._connection())

    async def settled(self) -> None:
        """Wait until everything handed over so far is written (or has failed)."""
        if self._last is not None:
            await asyncio.wait([self._last])

    def close(self) -> None:
        """Commit what was handed over, then close the writing connection and the thread (``Store.close``)."""
        if self._thread is None:
            return
        self._flush()
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
        if self._syncing is None:  # nothing being synced: this one goes at once, the next ones wait for it
            self._start_group(loop)
        return future

    def _one_less(self, _: object) -> None:
        self.backlog -= 1

    def _connection(self) -> Store:
        if self._own is None:
            self._own = Store(self.store.path, create=False)
        return self._own

    def _start_group(self, loop: asyncio.AbstractEventLoop) -> None:
        """Write what is queued in one transaction on this thread (quick: no sync) and hand its COMMIT
        to the writer's thread; when it is over, the loop settles the group and starts the next."""
        group = _Group(self._queue[:MAX_GROUP])
        del self._queue[:MAX_GROUP]
        own = self._connection()
        if not self._write_group(own, group):
            self._settle(group)
            if self._queue:
                self._start_group(loop)
            return
        assert self._thread is not None
        self._syncing = group
        group.syncing = self._thread.submit(own.db.execute, "COMMIT")
        self.threads = 1
        group.syncing.add_done_callback(lambda _: _call_on(loop, self._group_synced, loop, group))

    def _group_synced(self, loop: asyncio.AbstractEventLoop, group: _Group) -> None:
        """On the loop, once a group's COMMIT is over: its callers hear how it went; the next group goes."""
        if group.settled:  # closed meanwhile: settled already
            return
        self._synced()
        if self._queue and not loop.is_closed():
            self._start_group(loop)

    def _synced(self) -> None:
        """Wait (blocking) for the group being synced, then settle it."""
        group, self._syncing = self._syncing, None
        if group is None or group.syncing is None:
            return
        concurrent.futures.wait([group.syncing])
        exc = group.syncing.exception()
        if exc is None:
            self.groups += 1
        else:
            self._failed(self._connection(), group, exc)
        self._settle(group)

    def _flush(self) -> None:
        """Commit everything handed over, here and now (a plain write, or the store closing)."""
        self._synced()
        while self._queue:
            group = _Group(self._queue[:MAX_GROUP])
            del self._queue[:MAX_GROUP]
            own = self._connection()
            if self._write_group(own, group):
                try:
                    own.db.execute("COMMIT")
                    self.groups += 1
                except sqlite3.Error as exc:
                    self._failed(own, group, exc)
            self._settle(group)

    def _write_group(self, own: Store, group: _Group) -> bool:
        """Run the group's writes in one transaction, each in a savepoint: whether it is ready to commit."""
        try:
            own.db.execute("BEGIN IMMEDIATE")
            own.grouped = True
            try:
                for work, future in group.jobs:
                    own.db.execute("SAVEPOINT job")  # a write that fails is undone whole, and alone
                    try:
                        group.outcomes.append((future, True, work(own)))
                    except Exception as exc:
                        group.outcomes.append((future, False, exc))
                        if own.db.in_transaction:
                            own.db.execute("ROLLBACK TO job")
                    if not own.db.in_transaction:  # SQLite gave up the whole transaction (I/O error, disk full)
                        raise sqlite3.OperationalError("the transaction was rolled back")
                    own.db.execute("RELEASE job")
            finally:
                own.grouped = False
        except sqlite3.Error as exc:
            self._failed(own, group, exc)
            return False
        return True

    @staticmethod
    def _failed(own: Store, group: _Group, exc: BaseException) -> None:
        """Every write of a group that did not commit fails with the store's error."""
        if own.db.in_transaction:
            own.db.execute("ROLLBACK")
        error = StoreError(f"{own.path}: cannot write to the store ({exc})")
        group.outcomes = [(future, False, error) for _, future in group.jobs]

    @staticmethod
    def _settle(group: _Group) -> None:
        """Hand each write's result (or error) to whoever awaits it, then let go of what the group
        holds. Its COMMIT's callback holds the group, and the group held the COMMIT: a reference
        cycle, which kept every row of the group (events, deliveries, attempts) alive until the
        cycle collector came by, so a run's memory grew with how rarely it does."""
        group.settled = True
        outcomes, group.outcomes, group.jobs, group.syncing = group.outcomes, [], [], None
        for future, ok, value in outcomes:
            if future.done():
                continue
            try:
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
            except RuntimeError:  # its loop has closed: nobody waits for it any more
                continue


def _call_on(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    """``callback(*args)`` on ``loop``'s thread, unless the loop has closed (the store closing then commits)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


class _Group:
    """Writes committed together: each one's outcome, and the COMMIT under way on the thread."""

    def __init__(self, jobs: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        self.jobs = jobs
        self.outcomes: list[Outcome3] = []
        self.syncing: concurrent.futures.Future[Any] | None = None
        self.settled = False
