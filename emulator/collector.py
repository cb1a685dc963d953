"""The garbage collector set for a stream (a render, a delivery run) or a server: what is loaded is
left alone, young objects are collected less often (``frozen``; ``serve`` sets it with numbers of
its own, ``emulator/server/serve.py``).

A render makes a few dicts and texts per event and drops them: reference counting frees them, and
none of them form cycles. Python's cyclic collector still runs every 700 allocations and, now and
then, walks every object the process holds (the vendors' compiled templates, Faker's locale data):
a render of the tour spends about a fifth of its CPU time there (``bench/render.py``), for nothing
found. Freezing what is loaded before the stream starts takes it out of every collection, and a
young generation of 50,000 objects makes collections rare; cycles are still collected, later.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG = 50_000  # allocations between young collections (Python's default is 700)


@contextlib.contextmanager
def frozen(young: int, later: tuple[int, int] = (20, 20), collect: bool = True) -> Iterator[None]:
    """What exists now frozen out of every collection, ``young`` new objects between young
    collections and ``later`` (young ones per middle one, middle ones per full one) after; then
    the collector as it was (a command or a server may run inside a test).

    ``collect``: collect what is garbage before freezing the rest. Not in a process just forked: a
    full collection writes to every object it walks, so the child would copy each page of the
    parent's heap it shares (tens of milliseconds before its first event, for garbage that costs a
    short-lived child nothing to keep). Nor before a delivery run: its first attempt would wait as
    long, for the little garbage that loading left."""
    thresholds = gc.get_threshold()
    if collect:
        gc.collect()
    gc.freeze()
    gc.set_threshold(young, *later)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def streaming(collect: bool = True) -> contextlib.AbstractContextManager[None]:
    """The collector set for a stream of short-lived events, from once what the stream needs is
    loaded (registry, scenario) to its end (``frozen``, young collections every ``YOUNG``)."""
    return frozen(YOUNG, collect=collect)
