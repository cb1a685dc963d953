"""What a person sees during and after a run: a progress bar on a terminal, a summary table."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from typing import TextIO

from tqdm import tqdm

from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.runner import Summary


@contextlib.asynccontextmanager
async def progress(dispatcher_box: list[Dispatcher], out: TextIO, enabled: bool) -> AsyncIterator[None]:
    """Refresh a bar of finished / in flight / retrying / failed five times a second while the run lasts;
    outside a terminal, a line for each wave of retries instead (a run waiting must not look hung)."""
    if not enabled:
        async with retry_lines(dispatcher_box, out):
            yield
        return
    size = shutil.get_terminal_size((100, 20))  # some terminals report 0 x 0, which would hide the bar
    bar = tqdm(
        total=None, file=out, ncols=size.columns or 100, nrows=size.lines or 20, leave=False, bar_format="{desc}"
    )
    stop = asyncio.Event()

    async def refresh() -> None:
        while not stop.is_set():
            if dispatcher_box:
                t = dispatcher_box[0].total
                bar.set_description_str(
                    f"finished {t.delivered + t.failed:,} · delivered {t.delivered:,} · in flight {t.in_flight}"
                    f" · retrying {t.retrying} · failed {t.failed}"
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    await stop.wait()

    task = asyncio.create_task(refresh())
    try:
        yield
    finally:
        stop.set()
        await task
        bar.close()


MAX_REASONS = 8  # kinds of failure the table names (the JSON summary lists every one)


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


@contextlib.asynccontextmanager
async def retry_lines(dispatcher_box: list[Dispatcher], out: TextIO) -> AsyncIterator[None]:
    """One line per wave of retries: how many wait, and when the next attempt is (checked twice a second)."""
    stop = asyncio.Event()

    async def watch() -> None:
        announced: float | None = None  # when the announced wave's next attempt is due (loop time)
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if dispatcher_box:
                dispatcher = dispatcher_box[0]
                wait = dispatcher.next_retry()
                if wait is not None and (announced is None or loop.time() + wait > announced + 1.0):
                    announced = loop.time() + wait
                    at = time.strftime("%H:%M:%S", time.localtime(time.time() + wait))
                    t = dispatcher.total
                    print(
                        f"retrying {_count(t.retrying, 'delivery', 'deliveries')}: next attempt at {at}"
                        f" (in {wait:.0f} s) · delivered {t.delivered:,} · failed {t.failed:,}",
                        file=out,
                        flush=True,
                    )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await stop.wait()

    task = asyncio.create_task(watch())
    try:
        yield
    finally:
        stop.set()
        await task


def summary_table(summaries: list[Summary], title: str = "") -> str:
    """The end-of-run table: one row per target, then the totals."""
    lines = []
    for s in summaries:
        head = f"run {s.run}"
        if title:
            head += f"  {title}"
        head += f"  {_count(s.events, 'event')} · {_count(s.attempts, 'attempt')} · {s.seconds:.1f} s"
        if s.dropped:
            head += f" · {s.dropped:,} dropped by a fault"
        if s.status != "finished":
            head += f"  ({s.status})"
        lines.append(head)
        width = max([len("target"), *(len(n) for n in s.targets)])
        lines.append(f"  {'target':<{width}}  {'delivered':>10}  {'failed':>7}  {'attempts':>9}")
        for name, t in s.targets.items():
            lines.append(f"  {name:<{width}}  {t['delivered']:>10,}  {t['failed']:>7,}  {t['attempts']:>9,}")
        for failure in s.failures[:MAX_REASONS]:
            lines.append(
                f"  failed: {_count(failure['deliveries'], 'delivery', 'deliveries')} to {failure['target']}:"
                f" {failure['reason']}"
            )
        if len(s.failures) > MAX_REASONS:
            lines.append(f"  ... and {len(s.failures) - MAX_REASONS} more reasons (--json lists them all)")
        for step in s.steps:
            if not step["committed"]:
                lines.append(
                    f"  not committed: {step['event']} ({step['action']}, {step['actor'] or '-'}): "
                    f"{step['succeeded']} of {step['webhooks']} webhooks answered 2xx, {step['transaction']} needs "
                    f"{step['needed']}; the caller got HTTP 504 [WebhookTransactionException]"
                )
        unlisted = s.steps.unlisted["not_committed"]
        if unlisted:
            lines.append(f"  ... and {unlisted:,} more transactional events not committed (--json counts them)")
    return "\n".join(lines) + "\n"
