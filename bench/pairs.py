"""Alternating pairs of ``bench/deliver.py``'s default run, without and with a change, in one process.

A change of a few percent drowns in the noise of a shared machine, where rounds of the same work
swing by a fifth. Pairs run back to back, in alternating order, see the same moment of the
machine; the median of the pairs' ratios is what the change is worth. The change is a Python
module (``--change MODULE``, found on ``PYTHONPATH``) with two functions: ``apply()``, which
patches the emulator (a constant, a function, a pragma), and ``undo()``, which puts it back. Side
A runs as the tree is, side B with the change applied; both render, store, sign and send exactly
as ``deliver.py``'s default path does, against the same receiver process.

Prints each run as ``deliver.py`` prints a round (CPU per delivery by part, how busy, how long
the loop waited for a core), each pair's rates and ratio, then per side the median rate and the
median CPU per delivery of the event loop, the other threads (the store writer) and the render
process, and the median of the pairs' ratios (above 1: the change is faster).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import deliver as bench

from emulator.vendors.registry import Registry


def cpu_parts(rounds: list[bench.Round]) -> str:
    """Median CPU per delivery of the loop, the other threads and the render process."""

    def us(part) -> float:
        return statistics.median(part(r) / r.deliveries * 1e6 for r in rounds)

    loop = us(lambda r: r.loop_cpu)
    threads = us(lambda r: r.threads_cpu)
    render = us(lambda r: r.children_cpu)
    return f"loop {loop:.1f} us, threads {threads:.1f} us, render {render:.1f} us per delivery"


async def pairs(args: argparse.Namespace) -> None:
    change = importlib.import_module(args.change)
    registry = Registry()
    case = bench.CASES[args.case]
    with bench.Receiver() as receiver, tempfile.TemporaryDirectory(prefix="bench-pairs-") as name:
        folder = Path(name)
        scenario = bench.scenario_for(bench.ACTORS, args.deliveries, case.vendor, registry)
        path = bench.path_for("default", case, receiver.url, scenario, registry)
        warm = bench.scenario_for(bench.ACTORS, bench.WARM_UP, case.vendor, registry)
        await bench.run(bench.path_for("warm", case, receiver.url, warm, registry), registry, folder)
        sides: dict[str, list[bench.Round]] = {"A": [], "B": []}
        for n in range(args.pairs):
            for side in ("A", "B") if n % 2 == 0 else ("B", "A"):
                if side == "B":
                    change.apply()
                try:
                    meter = bench.Meter(receiver)
                    summary, seconds = await bench.run(path, registry, folder)
                    sides[side].append(meter.round(summary.delivered, seconds))
                finally:
                    if side == "B":
                        change.undo()
            a, b = sides["A"][-1], sides["B"][-1]
            print(f"  {a.line('A')}\n  {b.line('B')}")
            print(f"pair {n + 1}: A {a.rate:,.0f}/s, B {b.rate:,.0f}/s, ratio {b.rate / a.rate:.3f}", flush=True)
        for side, label in (("A", "the tree"), ("B", f"with {args.change}")):
            rate = statistics.median(r.rate for r in sides[side])
            print(f"{side} ({label}): {rate:,.0f}/s; {cpu_parts(sides[side])}")
        ratios = [b.rate / a.rate for a, b in zip(sides["A"], sides["B"], strict=True)]
        print(f"median of the pairs' ratios B/A: {statistics.median(ratios):.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--change", required=True, help="a module with apply() and undo(), on PYTHONPATH")
    parser.add_argument("--case", choices=tuple(bench.CASES), default="keycloak", help="default keycloak")
    parser.add_argument("--deliveries", type=int, default=10_000, help="per run (default 10,000)")
    parser.add_argument("--pairs", type=int, default=6, help="pairs of runs (default 6)")
    args = parser.parse_args(argv)
    asyncio.run(pairs(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
