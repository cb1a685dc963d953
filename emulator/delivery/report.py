"""What a person sees during and after a run: a progress bar on a terminal, a summary table."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from typing import TextIO

from tqdm import tqdm

from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.runner import Summary


@contextlib.asynccontextmanager
async def progress(dispatcher_box: list[Dispatcher], out: TextIO, enabled: bool) -> AsyncIterator[None]:
    """Refresh a bar of sent / in flight / retrying / failed five times a second while the run lasts."""
    if not enabled:
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
                    f"sent {t.delivered + t.failed:,} · delivered {t.delivered:,} · in flight {t.in_flight}"
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


def summary_table(summaries: list[Summary], title: str = "") -> str:
    """The end-of-run table: one row per target, then the totals."""
    lines = []
    for s in summaries:
        head = f"run {s.run}"
        if title:
            head += f"  {title}"
        head += f"  {s.events:,} events · {s.attempts:,} attempts · {s.seconds:.1f} s"
        if s.dropped:
            head += f" · {s.dropped:,} dropped by a fault"
        if s.status != "finished":
            head += f"  ({s.status})"
        lines.append(head)
        width = max([len("target"), *(len(n) for n in s.targets)])
        lines.append(f"  {'target':<{width}}  {'delivered':>10}  {'failed':>7}  {'attempts':>9}")
        for name, t in s.targets.items():
            lines.append(f"  {name:<{width}}  {t['delivered']:>10,}  {t['failed']:>7,}  {t['attempts']:>9,}")
        for step in s.steps:
            if not step["committed"]:
                lines.append(
                    f"  not committed: {step['event']} ({step['action']}, {step['actor'] or '-'}): "
                    f"{step['succeeded']} of {step['webhooks']} webhooks answered 2xx, {step['transaction']} needs "
                    f"{step['needed']}; the caller got HTTP 504 [WebhookTransactionException]"
                )
    return "\n".join(lines) + "\n"
