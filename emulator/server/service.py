"""What a running emulator holds: the store, the vendors, the runs in progress, the sinks."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from emulator.errors import ConflictError, EmulatorError, NotFoundError
from emulator.scenario.model import MAX_ACTIONS, Scenario
from emulator.server.sinks import SinkRequest, Sinks
from emulator.store import Store

if TYPE_CHECKING:  # the delivery stages are imported when the first run or target needs them
    from emulator.delivery.config import Config
    from emulator.delivery.dispatcher import Dispatcher
    from emulator.delivery.runner import Summary
    from emulator.delivery.targets import Target
    from emulator.overrides import Override
    from emulator.server.targets import SavedTargets
    from emulator.vendors.registry import Registry

KEEP_FINISHED = 1_000  # finished runs whose live details (transactions, errors) are kept in memory
WATCH_BUFFER = 10_000  # stream records buffered per watcher before it starts missing some
STREAM_END = "end"  # what a watcher hears when the server stops


@dataclass
class LiveRun:
    task: asyncio.Task[Any]  # a run's Summary, or a resumed run's list of them
    specs: list[dict[str, Any]] = field(default_factory=list)  # its targets as given, secrets included
    dispatcher: Dispatcher | None = None
    summary: Summary | None = None
    error: str | None = None
    created: asyncio.Future[None] | None = None  # the run's creation: done once the store holds it


@dataclass
class Service:
    store: Store
    registry: Registry
    token: str | None = None
    config: Config | None = None
    max_actions: int = MAX_ACTIONS
    runs: dict[str, LiveRun] = field(default_factory=dict)
    ended: dict[str, None] = field(default_factory=dict)  # runs whose task ended, the oldest first
    sinks: Sinks = field(default_factory=Sinks)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # kid -> public JWK of a signing key used
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    watchers: set[asyncio.Queue[tuple[str, dict[str, Any]]]] = field(default_factory=set)
    resuming: set[str] = field(default_factory=set)  # runs whose pending deliveries are being sent again
    testing: set[str] = field(default_factory=set)  # saved targets whose test event is on its way
    descriptions: dict[str, tuple[int, str]] = field(default_factory=dict)  # uploaded scenario: (text hash, text)
    oidc: Any = None  # the live fake IdP (emulator.oidc.http.Hub), made by its first request

    def __post_init__(self) -> None:
        self.store.listeners.append(self.publish)

    @cached_property
    def saved(self) -> SavedTargets:
        """The saved targets, read from the store (and their public keys published) when first needed."""
        from emulator.server.targets import SavedTargets

        saved = SavedTargets(self.store, self.registry, self.config, self.token)
        self.__dict__["saved"] = saved  # the keys below need it while this property is being read
        for name in saved.names():
            try:
                self.remember_saved(name)
            except Exception:  # a target that cannot be built says why when someone uses it
                continue
        return saved

    def signing_keys(self) -> dict[str, dict[str, Any]]:
        """The public keys of every signing key in use, saved targets' included (for the JWKS)."""
        self.saved  # noqa: B018 (reading it publishes the saved targets' keys)
        return self.keys

    def publish(self, kind: str, record: dict[str, Any]) -> None:
        """Hand a committed event or attempt to every live-stream watcher; a slow watcher misses some."""
        for queue in self.watchers:
            if queue.full():
                continue  # never let one slow client hold up the run
            queue.put_nowait((kind, record))

    def watch(self) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize=WATCH_BUFFER)
        self.watchers.add(queue)
        return queue

    def background(self, coro: Any) -> None:
        """Run ``coro`` (a resend's delivery, say) without waiting for it; keep it until it ends."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def start_run(
        self,
        scenario: Scenario,
        targets: list[Target],
        seed: int,
        time_scale: float,
        transaction: str | None,
        specs: list[dict[str, Any]] | None = None,
        overrides: Sequence[Override] = (),
    ) -> str:
        """Start a run in the background; its id comes back at once."""
        from emulator.delivery.runner import create_run, deliver_run, new_run_id

        run_id = new_run_id()
        self.remember(targets)
        live = LiveRun(task=None, specs=specs or [])  # type: ignore[arg-type]

        def watch(dispatcher: Dispatcher) -> None:
            live.dispatcher = dispatcher

        start = datetime.now(UTC).replace(microsecond=0)
        live.created = create_run(
            scenario, targets, self.store, seed, start, self.registry, run_id, transaction, self.max_actions, overrides
        )
        coro = deliver_run(
            scenario, targets, self.store, seed, start, time_scale, registry=self.registry, run_id=run_id,
            watch=watch, transaction=transaction, max_actions=self.max_actions, overrides=overrides,
            created=live.created,
        )  # fmt: skip
        live.task = asyncio.create_task(coro)
        live.task.add_done_callback(lambda task: self._done(run_id, live, task))
        self.runs[run_id] = live
        return run_id

    async def stored(self, run_id: str | None = None) -> None:
        """Wait until a run just started (any, without ``run_id``) is in the store. Its creation is
        committed off the event loop, in the next group, and ``start_run`` answers without waiting
        for it; a client that reads, lists or cancels runs at once waits here for those milliseconds."""
        lives = [self.runs.get(run_id)] if run_id is not None else list(self.runs.values())
        pending = [live.created for live in lives if live is not None and live.created and not live.created.done()]
        if pending:
            await asyncio.wait(pending)  # a creation that failed is the run's own error

    def remember_saved(self, name: str) -> None:
        """Publish a saved target's public key, once it has its secrets."""
        target = self.saved.ready(name)
        if target is not None:
            self.remember([target])

    def remember(self, targets: list[Target]) -> None:
        """Publish the public halves of the targets' asymmetric signing keys (only those: not the targets)."""
        from emulator.delivery.targets import signing_keys

        for jwk in signing_keys(targets):
            self.keys[jwk["kid"]] = jwk

    def _done(self, run_id: str, live: LiveRun, task: asyncio.Task[Any]) -> None:
        self.ended.pop(run_id, None)
        self.ended[run_id] = None
        while len(self.ended) > KEEP_FINISHED:  # the store keeps them; memory need not
            oldest = next(iter(self.ended))
            del self.ended[oldest]
            kept = self.runs.get(oldest)
            if kept is not None and kept.task.done():  # not one resumed or resent since
                del self.runs[oldest]
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            live.error = str(exc)
        else:
            result = task.result()
            live.summary = (result[-1] if result else None) if isinstance(result, list) else result

    async def resume_pending(self) -> list[Summary]:
        """What a crash left pending, delivered at start (as ``idp-emulator resume`` would), one run
        after another; each is a live run while it goes on, so it can be watched and cancelled."""
        pending = self.store.unfinished_runs()
        self.resuming.update(pending)
        summaries = []
        for i, run_id in enumerate(pending):
            try:
                info = self.store.run(run_id)
                if info is not None and info["status"] == "cancelled":  # cancelled while waiting its turn
                    continue
                summaries += await self._resumed(run_id, self._config_for(run_id), 1.0)
            except EmulatorError as exc:  # a run that cannot go on (a secret not kept) waits for a resend
                print(f"run {run_id} not resumed: {exc}", file=sys.stderr, flush=True)
            except asyncio.CancelledError:
                if _stopping():
                    self.resuming.difference_update(pending[i:])  # only those not reached: a resend may own others
                    raise
                # this run was cancelled by someone: the others go on
            finally:
                self.resuming.discard(run_id)
        return summaries

    async def _resumed(self, run_id: str, config: Config, time_scale: float) -> list[Summary]:
        """Resume one run as a live run of this server (listed, watched, cancellable)."""
        from emulator.delivery.runner import resume

        task = asyncio.create_task(resume(self.store, self.registry, config, time_scale=time_scale, run_id=run_id))
        live = LiveRun(task=task)
        self.runs[run_id] = live
        task.add_done_callback(lambda done: self._done(run_id, live, done))
        return await task

    def cancel(self, run_id: str) -> int:
        """Cancel a run for good (also one being resumed, or waiting to be): how many deliveries it
        still owed. A finished run has nothing to cancel."""
        info = self.store.run(run_id)
        if info is None:
            raise NotFoundError("Unknown run", f"no run {run_id!r}", "run")
        live = self.runs.get(run_id)
        running = live is not None and not live.task.done()
        if not running and info["status"] in ("finished", "failed") and not self.store.counts(run_id)["pending"]:
            raise ConflictError("Run finished", f"run {run_id} is {info['status']}: nothing is left to cancel", "run")
        owed = self.store.cancel_run(run_id)
        if live is not None and running:
            live.task.cancel()
        return owed

    def redeliver(
        self, run_id: str, deliveries: tuple[int, ...] = (), since_ms: int | None = None, target: str | None = None
    ) -> int:
        """Queue a finished run's failed deliveries again and send them in the background; how many."""
        from emulator.delivery.runner import stored_targets

        live = self.runs.get(run_id)
        if (live is not None and not live.task.done()) or run_id in self.resuming:
            raise ConflictError(
                "Run busy", f"run {run_id} is still delivering; resend once it is done", "run"
            )  # fmt: skip
        config = self._config_for(run_id)
        info = self.store.run(run_id)
        only = None
        if info is not None and info["play_done"]:  # the targets this resend will send to
            only = self.store.delivery_targets(run_id, "failed", deliveries, target)
            only |= self.store.delivery_targets(run_id, "pending")
        try:
            stored_targets(self.store, run_id, self.registry, config, None, only)  # their secrets are at hand
        except EmulatorError as exc:
            raise ConflictError("Secret needed", str(exc), "run") from None
        count = self.store.requeue_failed(run_id, deliveries, since_ms, target)
        if count:
            self.resuming.add(run_id)

            async def send() -> None:
                try:
                    await self._resumed(run_id, config, 1.0)
                except EmulatorError as exc:  # what was not sent stays pending for the next start
                    print(f"run {run_id}: resend stopped: {exc}", file=sys.stderr, flush=True)
                except asyncio.CancelledError:
                    if _stopping():
                        raise
                finally:
                    self.resuming.discard(run_id)

            self.background(send())
        return count

    def delivery_target(self, run_id: str, name: str) -> Target:
        """A run's target as it sends now, its secrets found as a resend finds them."""
        from emulator.delivery.runner import stored_targets

        try:
            found = stored_targets(self.store, run_id, self.registry, self._config_for(run_id), None, {name})
        except EmulatorError as exc:
            raise ConflictError("Secret needed", str(exc), "delivery") from None
        if not found:
            raise NotFoundError("Unknown target", f"run {run_id} has no target {name!r}", "delivery")
        return found[0]

    def _config_for(self, run_id: str) -> Config:
        """Where a run's targets get the secrets the store does not keep: the run itself while it is
        remembered, else the saved target of that name while it still sends to the same place the
        same way (the run keeps its own settings; only the secrets come from the saved target)."""
        from emulator.delivery.config import Config
        from emulator.server.targets import secrets_for

        live = self.runs.get(run_id)
        given = {s["name"]: s for s in live.specs} if live is not None else {}
        specs = []
        for name, stored in self.store.targets(run_id).items():
            stored.pop("disabled", None)
            if name in given:
                specs.append(given[name])
            elif name in self.saved.items:
                filled = secrets_for(stored, self.saved.items[name].spec)
                if filled is not None:
                    specs.append(filled)
        return Config(targets=specs)

    def sink(self, name: str, request: SinkRequest) -> None:
        self.sinks.add(name, request)

    async def close(self) -> None:
        for queue in self.watchers:  # live streams end now, not at their next keep-alive
            if queue.full():
                queue.get_nowait()
            queue.put_nowait((STREAM_END, {}))
        for live in self.runs.values():
            if not live.task.done():
                live.task.cancel()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(r.task for r in self.runs.values()), *self.tasks, return_exceptions=True)

    def progress(self, run_id: str) -> dict[str, Any] | None:
        live = self.runs.get(run_id)
        if live is None or live.dispatcher is None or live.task.done():
            return None
        t = live.dispatcher.total
        return {"delivered": t.delivered, "failed": t.failed, "in_flight": t.in_flight, "retrying": t.retrying}


def now() -> float:
    return time.time()


def _stopping() -> bool:
    """Whether the current task itself is being cancelled (the server stopping), not a task it awaited."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
