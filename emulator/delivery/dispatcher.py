"""The dispatcher: stored deliveries in, attempts out, until each is delivered or failed.

Each target has a lane: a few workers (its concurrency) taking deliveries from a ready queue.
With ``ordering: actor`` an actor's next delivery waits until the previous one is final, so one
person's events arrive in the order they happened; it then joins the ready queue behind the other
actors' deliveries (round robin: the run's events leave in about the order they happened). A
failed attempt asks the target's retry policy for a wait, scaled by the time scale, and the
delivery re-enters the queue after it. Finished attempts are written to the store in batches, by the store's writer
thread when the store is a file (``emulator.store.writer`` says what a crash can lose, and why).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.delivery.batching import Batch, Batcher
from emulator.delivery.faults import Fault, Plan, plan, step_faults
from emulator.delivery.retry import Failure
from emulator.delivery.sender import Result, Sender
from emulator.delivery.targets import Target
from emulator.store import AttemptRow, DeliveryRow, Outcome, Store, StoreError, now_ms
from emulator.store.writer import MAX_BACKLOG, writer_for

FLUSH_SECONDS = 0.1  # finished attempts are written at least this often while attempts finish
FLUSH_ROWS = 5_000  # and at most this many per transaction (at the rates a run reaches, time comes first)
MAX_OPEN = 10_000  # deliveries held in memory at once (and one stored batch); the producer waits beyond this


def room_again() -> int:
    """Open deliveries at which a producer held at ``MAX_OPEN`` goes on: a tenth below it, so that
    it wakes once for many finished deliveries, not for every one (a play longer than ``MAX_OPEN``
    woke it, and stored one more, after each delivery that ended)."""
    return MAX_OPEN - max(1, MAX_OPEN // 10)


@dataclass
class Tally:
    """What a progress bar and a summary need, per target and in all."""

    delivered: int = 0
    failed: int = 0
    attempts: int = 0
    in_flight: int = 0
    retrying: int = 0
    queued: int = 0
    dropped: int = 0  # by a drop fault, on purpose


@dataclass
class _Lane:
    target: Target
    ready: asyncio.Queue[DeliveryRow] = field(default_factory=asyncio.Queue)
    busy: dict[str, deque[DeliveryRow]] = field(default_factory=dict)  # ordering key -> waiting behind it
    tally: Tally = field(default_factory=Tally)
    workers: list[asyncio.Task[None]] = field(default_factory=list)
    shuffle: list[DeliveryRow] = field(default_factory=list)  # held back by a reorder fault
    disabled: str = ""  # why the target takes nothing more (410 Gone, too many failures in a row)
    failures_in_a_row: int = 0
    batcher: Batcher | None = None  # a batching target's: deliveries go to it, its batches to ``ready``


class Dispatcher:
    """Delivers what it is given; ``drain`` returns once every delivery is final."""

    def __init__(
        self,
        store: Store,
        targets: Iterable[Target],
        time_scale: float = 1.0,
        seed: int = 0,
        sender: Sender | None = None,
        on_attempt: Callable[[DeliveryRow, Result], None] | None = None,
        transactional: dict[str, frozenset[str]] | None = None,
    ) -> None:
        """``transactional``: per vendor, the event types whose webhooks retry as a transaction that
        held does (the run's transaction type is not None); a resumed run finds them by type."""
        self.store = store
        self.writer = writer_for(store)  # batch writes: new deliveries (the producer's) and attempts
        self.time_scale = time_scale
        self.seed = seed
        self.rng = random.Random(f"{seed}:retries")
        self.lanes = {t.name: _Lane(t) for t in targets}
        for lane in self.lanes.values():
            lane.disabled = lane.target.disabled  # still disabled when a run is resumed
            target = lane.target
            if target.batch_size > 1:
                ordered = target.ordering == "actor"
                linger = target.batch_linger * time_scale
                send = lane.ready.put_nowait
                lane.batcher = Batcher(target.batch_size, linger, target.framing, ordered, send, target.batch_into)
        self.sender = sender or Sender()  # connections follow the lanes' workers: one per attempt in flight
        self.total = Tally()
        self._request_faults: dict[int, list[Fault]] = {}  # by delivery id: each attempt's request faults
        self.transactional = transactional or {}
        self._held: set[int] = set()  # deliveries whose transaction held: they retry as the transaction says
        # deliveries of a transaction of type None, by id: the verdict their first attempt counts in
        self._verdicts: dict[int, dict[str, Any]] = {}
        self.on_attempt = on_attempt
        self._attempts: list[AttemptRow] = []
        self._outcomes: list[Outcome] = []
        self._open = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._room = asyncio.Event()
        self._room.set()
        self._resume_at = room_again()  # read once: it is checked as every delivery ends
        self._timers: set[asyncio.TimerHandle] = set()
        self._retries: set[asyncio.TimerHandle] = set()  # the timers of attempts waiting to be retried
        # why deliveries failed, by target and last reason: what the summary explains
        self.reasons: Counter[tuple[str, str]] = Counter()
        self._flusher: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        for lane in self.lanes.values():
            lane.workers = [asyncio.create_task(self._work(lane)) for _ in range(lane.target.concurrency)]
        self._flusher = asyncio.create_task(self._flush_often())

    async def admit(self, rows: Iterable[DeliveryRow]) -> None:
        """Hand over stored deliveries; waits while too many are open (memory stays flat)."""
        if self.writer.backlog > MAX_BACKLOG:  # the disk is behind: attempts wait to be written
            await self.writer.settled()
        for row in rows:
            while self._open >= MAX_OPEN:
                for held in self.lanes.values():  # rows held for reordering must not block admission
                    if held.shuffle:
                        self._release(held)
                self._room.clear()
                await self._room.wait()
            self._raise_if_broken()
            lane = self.lanes[row.target]
            if lane.target.faults or row.event_faults:
                self._admit_with_faults(lane, row)
                continue
            self._open_row(lane)
            self._enqueue(lane, row)
        await asyncio.sleep(0)

    def _open_row(self, lane: _Lane) -> None:
        self._open += 1
        self._idle.clear()
        lane.tally.queued += 1
        self.total.queued += 1

    def _enqueue(self, lane: _Lane, row: DeliveryRow) -> None:
        if lane.batcher is not None:  # it keeps each actor's order across its batches
            lane.batcher.add(row)
            return
        key = row.key if lane.target.ordering == "actor" else None
        if key is not None:
            if key in lane.busy:
                lane.busy[key].append(row)
                return
            lane.busy[key] = deque()
        lane.ready.put_nowait(row)

    def _admit_with_faults(self, lane: _Lane, row: DeliveryRow) -> None:
        """Draw the delivery's faults and act on the delivery-level ones (drop, copies, delay, reorder)."""
        target = lane.target
        faults = target.faults + step_faults(row.event_faults)
        p = plan(faults, self.seed, target.name, row.event_id, row.type, row.copy_of is not None)
        self._keep_request_faults(row, p)
        fresh = row.injected is None and row.attempts == 0  # not drawn before a resume
        if (fresh and p.notes) or p.drop:
            self.store.note(row.id, "; ".join(p.notes), "dropped" if p.drop else None)
        if p.drop:
            self._verdicts.pop(row.id, None)
            lane.tally.dropped += 1
            self.total.dropped += 1
            return
        if p.reorder:
            row.key = None  # reordering is the point: no per-actor order for these
        if fresh and p.copies:
            copies = self.store.copies(row, len(p.copies), f"duplicate of delivery {row.id}")
            for copy, delay in zip(copies, p.copies, strict=True):
                self._keep_request_faults(copy, plan(faults, self.seed, target.name, copy.event_id, copy.type, True))
                self._open_row(lane)
                self._later_enqueue(delay + p.delay, lane, copy)
        self._open_row(lane)
        if p.delay and fresh:  # a delay is before the first attempt: not again after a resume
            self._later_enqueue(p.delay, lane, row)
        elif p.reorder and fresh:
            lane.shuffle.append(row)
            if len(lane.shuffle) >= p.reorder:
                self._release(lane)
        else:
            self._enqueue(lane, row)

    def count_first(self, delivery: int, verdict: dict[str, Any]) -> None:
        """Count this delivery's first attempt in ``verdict['succeeded']`` when it answers 2xx (a webhook
        of a transaction of type None, which nobody waits for)."""
        self._verdicts[delivery] = verdict

    def next_retry(self) -> float | None:
        """Seconds until the next retry is due (wall clock), or None when nothing waits to be retried."""
        if not self._retries:
            return None
        return max(0.0, min(h.when() for h in self._retries) - asyncio.get_running_loop().time())

    def _keep_request_faults(self, row: DeliveryRow, drawn: Plan) -> None:
        """The faults every attempt of this delivery applies, kept until the delivery is final."""
        if drawn.request and not drawn.drop:
            self._request_faults[row.id] = drawn.request

    def _later_enqueue(self, seconds: float, lane: _Lane, row: DeliveryRow) -> None:
        loop = asyncio.get_running_loop()

        def go() -> None:
            self._timers.discard(handle)
            self._enqueue(lane, row)

        handle = loop.call_later(seconds * self.time_scale, go)
        self._timers.add(handle)

    def _release(self, lane: _Lane) -> None:
        """Send what a reorder fault held back, in an order drawn from the seed."""
        held, lane.shuffle = lane.shuffle, []
        random.Random(f"{self.seed}:{lane.target.name}:{held[0].event_id}").shuffle(held)
        for row in held:
            self.store.note(row.id, "reordered")
            self._enqueue(lane, row)

    async def drain(self) -> None:
        """Wait until every admitted delivery is delivered or failed, then write everything."""
        for lane in self.lanes.values():
            if lane.shuffle:
                self._release(lane)
            if lane.batcher is not None:
                lane.batcher.drain()
        await self._idle.wait()
        self.flush()
        await self.writer.settled()
        self._raise_if_broken()

    async def close(self) -> None:
        """Stop workers and timers (pending deliveries stay pending in the store) and flush."""
        for handle in self._timers:
            handle.cancel()
        for lane in self.lanes.values():
            if lane.batcher is not None:
                lane.batcher.close()
        tasks = [t for lane in self.lanes.values() for t in lane.workers]
        if self._flusher:
            tasks.append(self._flusher)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.flush()
        await self.writer.settled()
        await self.sender.close()

    def flush(self) -> None:
        """Hand finished attempts to the writer; on a store failure keep them, stop admitting and report it."""
        if not (self._attempts or self._outcomes):
            return
        attempts, outcomes = self._attempts, self._outcomes
        self._attempts, self._outcomes = [], []

        def failed(exc: BaseException) -> None:
            self._attempts[:0], self._outcomes[:0] = attempts, outcomes
            if self._error is None:
                self._error = exc if isinstance(exc, StoreError) else StoreError(f"cannot record attempts ({exc})")
            self._idle.set()
            self._room.set()

        self.writer.record(attempts, outcomes, failed)

    # inside -------------------------------------------------------------------------------

    def _raise_if_broken(self) -> None:
        if self._error is not None:
            raise self._error

    async def _flush_often(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.flush()
            if self._error is not None:
                return

    async def _work(self, lane: _Lane) -> None:
        """Take deliveries from the ready queue. When one is final, its actor's next delivery joins the
        back of the queue, behind the other actors' ready ones, and the worker takes the front at once
        (no wait, no other worker woken): deliveries leave in about the order their events happened,
        each actor's in order, and one actor's next goes at once when nothing else is ready.

        A worker that went on with the same actor while others waited sent one actor's backlog
        before the next actor's first event; the store's updates were then spread over every page of
        the open deliveries, and round robin made a run 6 to 9% faster (``bench/pairs.py``)."""
        ready = lane.ready
        while True:
            row: DeliveryRow | None = await ready.get()
            while row is not None:
                after = self._refuse(lane, row) if lane.disabled else await self._attempt(lane, row)
                if after is not None and not ready.empty():
                    ready.put_nowait(after)
                    after = ready.get_nowait()
                row = after

    def _refuse(self, lane: _Lane, row: DeliveryRow) -> DeliveryRow | None:
        """A delivery to a disabled target: failed without an attempt, and the log says why."""
        if type(row) is Batch:
            for member in row.members:
                self._refuse(lane, member)
            assert lane.batcher is not None
            lane.batcher.done(row)
            return None
        error = f"not sent: the target is disabled ({lane.disabled})"
        self._verdicts.pop(row.id, None)
        self._outcomes.append(Outcome(row.id, "failed", row.attempts, row.elapsed_ms, None, error))
        return self._final(lane, row, "failed")

    def _disable(self, lane: _Lane, reason: str, run_id: str) -> None:
        if not lane.disabled:
            lane.disabled = reason
            with contextlib.suppress(Exception):  # a store failure shows at the next flush
                self.store.disable_target(run_id, lane.target.name, reason)

    async def _attempt(self, lane: _Lane, row: DeliveryRow) -> DeliveryRow | None:
        """One attempt; the same actor's next delivery when this one is final and one waits behind it."""
        tried = await self._try(lane, row)
        if type(row) is Batch:
            self._settle_batch(lane, row, *tried)
            return None
        return self._settle(lane, row, *tried)

    async def attempt_together(
        self, rows: list[DeliveryRow], decide: Callable[[list[Result]], bool], vendor_retries: bool = True
    ) -> list[Result]:
        """First attempts of one event's deliveries, all at once, then ``decide`` whether the transaction
        held: the failed ones are retried only then (FusionAuth). ``vendor_retries``: a held transaction's
        failures retry as the vendor retries after one (not under None, where a target retries only by
        its own ``retry`` setting)."""
        lanes = [self.lanes[r.target] for r in rows]
        sent: list[tuple[_Lane, DeliveryRow]] = []
        unsent: list[Result] = []
        for lane, row in zip(lanes, rows, strict=True):
            faults = lane.target.faults + step_faults(row.event_faults)
            p = plan(faults, self.seed, lane.target.name, row.event_id, row.type, False) if faults else None
            if p is not None:
                self._keep_request_faults(row, p)
            if lane.disabled or (p is not None and p.drop):
                # not sent: the transaction counts it as a failed webhook
                reason = (
                    f"not sent: the target is disabled ({lane.disabled})" if lane.disabled else "dropped by a fault"
                )
                self.store.note(row.id, reason, "failed" if lane.disabled else "dropped")
                unsent.append(Result(False, None, reason, 0.0))
                continue
            if p is not None and p.copies:
                for copy, delay in zip(
                    self.store.copies(row, len(p.copies), f"duplicate of delivery {row.id}"), p.copies, strict=True
                ):
                    drawn = plan(faults, self.seed, lane.target.name, copy.event_id, copy.type, True)
                    self._keep_request_faults(copy, drawn)
                    self._open_row(lane)
                    self._later_enqueue(delay, lane, copy)
            self._open_row(lane)
            sent.append((lane, row))
        tried = await asyncio.gather(*(self._try(lane, row, held=vendor_retries) for lane, row in sent))
        results = [t[0] for t in tried] + unsent
        retry = decide(results)
        if retry and vendor_retries:
            self._held.update(row.id for _, row in sent)
        for (lane, row), (result, wait, at, scenario_ms) in zip(sent, tried, strict=True):
            after = self._settle(lane, row, result, wait if retry else None, at, scenario_ms)
            if after is not None:
                lane.ready.put_nowait(after)
        return results

    async def _try(self, lane: _Lane, row: DeliveryRow, held: bool = False) -> tuple[Result, float | None, int, int]:
        """One attempt, and the wait the retry policy would ask for after it (None: no more).

        ``held``: the delivery belongs to a transaction that held (or is being decided), so it
        retries as the vendor retries after a transaction (FusionAuth: 3 more, back to back).
        """
        target = lane.target
        policy = target.retry
        if target.transaction_retry is not None and (
            held or row.id in self._held or row.type in self.transactional.get(target.vendor, ())
        ):
            policy = target.transaction_retry
        tally = lane.tally
        tally.in_flight += 1
        self.total.in_flight += 1
        at = now_ms()
        scenario_ms = row.time_ms + row.elapsed_ms
        signed_at = _signed_at(target, row, at)
        if row.key is not None and target.ordering == "actor" and lane.busy.get(row.key) and lane.ready.empty():
            # runs once this attempt waits on the network: the actor's next delivery, signed meanwhile.
            # Only when nothing else is ready: the loop would wait then (one actor's events, each
            # behind the one before); with other deliveries ready it has work, and signing ahead
            # would only add the scheduling, and a signature made twice when a second passes
            asyncio.get_running_loop().call_soon(self._sign_ahead, lane, lane.busy[row.key][0])
        try:
            faults = self._request_faults.get(row.id, ())
            result = await self.sender.attempt(target, row.event_id, row.body, signed_at, faults)
        except Exception as exc:  # a fault of ours must not leave a delivery hanging: record it
            result = Result(
                False, None, f"internal error: {type(exc).__name__}: {exc}", 0.0, failure=Failure(kind="internal")
            )
        tally.in_flight -= 1
        self.total.in_flight -= 1
        row.attempts += 1
        tally.attempts += 1
        self.total.attempts += 1
        wait = None
        if not result.ok:
            try:
                failure = result.failure or Failure(kind="internal")
                wait = policy.next_wait(row.attempts - row.base, row.elapsed_ms / 1000, failure, self.rng)
            except Exception:
                wait = None
        return result, wait, at, scenario_ms

    def _sign_ahead(self, lane: _Lane, row: DeliveryRow) -> None:
        """Sign a delivery before its turn (one whose attempts draw no request faults)."""
        target = lane.target
        if row.id in self._request_faults:
            return
        try:  # not contextlib.suppress: this runs for every delivery, and a context manager costs more
            self.sender.sign_ahead(target, row.event_id, row.body, _signed_at(target, row, now_ms()))
        except Exception:  # its own attempt signs it then, and says what went wrong
            return

    def _settle(
        self, lane: _Lane, row: DeliveryRow, result: Result, wait: float | None, at: int, scenario_ms: int
    ) -> DeliveryRow | None:
        """Record the attempt, then finish the delivery (returning the actor's next one that waited
        behind it, if any) or schedule its next attempt."""
        status = "delivered" if result.ok else ("failed" if wait is None else "pending")
        wait_ms = None if wait is None else round(wait * 1000)
        self._attempts.append(result.attempt_row(row.id, row.attempts, at, scenario_ms, wait_ms))
        if wait_ms is not None:
            row.elapsed_ms += wait_ms
        self._outcomes.append(Outcome(row.id, status, row.attempts, row.elapsed_ms, result.status, result.error))
        self._recorded(lane, (row,), result, status, row.run_id)
        if wait is None:
            return self._final(lane, row, status)
        self._later(wait * self.time_scale, lane, row)
        return None

    def _settle_batch(
        self, lane: _Lane, batch: Batch, result: Result, wait: float | None, at: int, scenario_ms: int
    ) -> None:
        """A batch's attempt is an attempt of each delivery it carries: recorded for each, then final for
        all of them at once (their actors' next events go into the next batch), or retried as a whole."""
        status = "delivered" if result.ok else ("failed" if wait is None else "pending")
        attempts, outcomes = batch.record(result, at, None if wait is None else round(wait * 1000), status)
        self._attempts += attempts
        self._outcomes += outcomes
        more = len(batch.members) - 1  # the summary counts attempts per delivery, as the store does
        lane.tally.attempts += more
        self.total.attempts += more
        self._recorded(lane, batch.members, result, status, batch.run_id)
        if wait is None:
            for member in batch.members:
                self._final(lane, member, status)
            assert lane.batcher is not None
            lane.batcher.done(batch)
            return
        self._later(wait * self.time_scale, lane, batch)

    def _recorded(self, lane: _Lane, carried: Sequence[DeliveryRow], result: Result, status: str, run_id: str) -> None:
        """What follows an attempt recorded for the deliveries it carried (one, or a batch's): the
        verdicts of their transactions, a 410 Gone, a flush when enough wait, the listener, the reason
        a failed delivery failed."""
        target = lane.target
        if self._verdicts:
            for row in carried:
                verdict = self._verdicts.pop(row.id, None)
                if verdict is not None and result.ok:
                    verdict["succeeded"] += 1
        if result.status == 410 and target.disable_on_gone:
            self._disable(lane, "the receiver answered 410 Gone", run_id)
        if len(self._attempts) >= FLUSH_ROWS:
            self.flush()
        if self.on_attempt is not None:
            for row in carried:
                with contextlib.suppress(Exception):
                    self.on_attempt(row, result)
        if status == "failed":
            self.reasons[(target.name, result.error or "no reason given")] += len(carried)

    def _later(self, seconds: float, lane: _Lane, row: DeliveryRow) -> None:
        """Attempt ``row`` (a delivery or a batch) again after ``seconds``, counted as retrying meanwhile."""
        lane.tally.retrying += 1
        self.total.retrying += 1
        loop = asyncio.get_running_loop()

        def again() -> None:
            self._timers.discard(handle)
            self._retries.discard(handle)
            lane.tally.retrying -= 1
            self.total.retrying -= 1
            lane.ready.put_nowait(row)

        handle = loop.call_later(seconds, again)
        self._timers.add(handle)
        self._retries.add(handle)

    def _final(self, lane: _Lane, row: DeliveryRow, status: str) -> DeliveryRow | None:
        """Count a final delivery; returns the same actor's next delivery, now free to go (the caller
        sends it or queues it)."""
        self._request_faults.pop(row.id, None)
        self._held.discard(row.id)
        tally = lane.tally
        tally.queued -= 1
        self.total.queued -= 1
        if status == "delivered":
            tally.delivered += 1
            self.total.delivered += 1
            lane.failures_in_a_row = 0
        else:
            tally.failed += 1
            self.total.failed += 1
            lane.failures_in_a_row += 1
            limit = lane.target.disable_after
            if limit and lane.failures_in_a_row >= limit and not lane.disabled:
                self._disable(lane, f"{lane.failures_in_a_row} failed deliveries in a row", row.run_id)
        after = None
        key = row.key if lane.target.ordering == "actor" else None
        if key is not None:
            waiting = lane.busy.get(key)
            if waiting:
                after = waiting.popleft()
            else:
                lane.busy.pop(key, None)
        self._open -= 1
        if self._open <= self._resume_at:
            self._room.set()
        if self._open == 0:
            self._idle.set()
        return after


def _signed_at(target: Target, row: DeliveryRow, now: int) -> int:
    """The time (Unix seconds) an attempt made at ``now`` (ms) signs: the scenario's, or the wall clock's."""
    if target.signed_time == "scenario":
        return (row.time_ms + row.elapsed_ms) // 1000
    return now // 1000
