"""Delivery benchmark: a real run's sustained deliveries per second against a bare aiohttp client.

The measured path is what ``idp-emulator run`` does for one target: ``deliver_run`` plays an
inline scenario (one actor logging in ``N`` times, a second apart), renders the vendor's events,
stores each batch in a SQLite outbox file (the store is on, as in every real run), signs every
attempt (Keycloak's HMAC by default), POSTs it with ``--concurrency`` workers and writes each
attempt back to the store. Its rate is deliveries divided by the wall time of the whole
``deliver_run`` call: playing, rendering, storing and signing are the point, not overhead.

The baseline is the least any emulator could do to put the same bytes on the wire: the same
events' bodies, rendered beforehand and kept in a list, POSTed by as many worker coroutines
over one ``aiohttp.ClientSession``, each reading its answer. Only the POSTing is timed. The
target is a run at 0.8 times the bare client's rate or better: the emulator's own work per
delivery (play, render, store, sign, record) should add at most a quarter to what the bare
client spends on putting it on the wire.

Both talk to one receiver in a separate process (a bare aiohttp server whose ``POST /hook``
reads the body and answers 200 with no body), so the receiver's work is not charged to either.
Machines are shared and noisy, so both run side by side in the same process, in interleaved
rounds (bare, run, bare, run, ...), and the median of the rounds is reported. Each round also
shows the CPU time per delivery and how busy this process and the receiver were: a side near
100% was bound by its own CPU; the receiver near 100% would mean it, not the client, set the
pace; both well below it means waiting on each other (latency, or another load on the machine).

``--memory N`` runs only the emulator, for ``N`` deliveries, and samples the process's resident
memory (VmRSS) every 2 seconds: the run stores and forgets, so memory should stay flat however
long the scenario; the target is a peak below 200 MB.

A benchmark, not a test: it always exits 0 and prints PASS or BELOW TARGET.

    .venv/bin/python bench/deliver.py                       # 20,000 deliveries, 3 rounds of each
    .venv/bin/python bench/deliver.py --deliveries 5000 --rounds 1   # a smoke run
    .venv/bin/python bench/deliver.py --memory 1000000      # memory over a long run (minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import math
import os
import platform
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from procstat import process_cpu, status_kb

from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.runner import Summary, body_bytes, deliver_run
from emulator.delivery.targets import DEFAULT_CONCURRENCY, Target, build_target
from emulator.errors import EmulatorError
from emulator.render import render_events
from emulator.scenario.loader import load_scenario_text
from emulator.scenario.model import Scenario
from emulator.store import Store
from emulator.vendors.registry import Registry

SEED = 1
START = datetime(2025, 1, 1, tzinfo=UTC)
TARGET = 0.8  # run / bare
MEMORY_TARGET_MB = 200.0  # peak resident memory of a long run
SAMPLE_SECONDS = 2.0
WARM_UP = 1_000  # deliveries of each kind before the timed rounds (imports, first connections)
HOST = "127.0.0.1"
PATH = "/hook"
SECRET = "bench-secret-for-hmac-and-hs256-jwt"  # 32+ bytes: PyJWT warns below that for HS256
JSON = {"Content-Type": "application/json"}
SCENARIO = """\
name: bench
actors: {{alice: {{}}}}
steps:
  - login: {{actor: alice}}
    repeat: {{count: {count}, every: 1s}}
"""


# the receiver (a separate process) ----------------------------------------------------------


# The receiver's program, run by a second interpreter (``python -c``): aiohttp's low-level server
# (no router, no middlewares, no access log) is its cheapest form. It imports nothing of the
# emulator, so its start-up is short and its work is only HTTP.
RECEIVER = """
import asyncio, sys
from aiohttp import web

HOST, PORT, PATH = sys.argv[1], int(sys.argv[2]), sys.argv[3]

async def handle(request):
    if request.method != "POST" or request.path != PATH:
        return web.Response(status=404)
    await request.read()
    return web.Response()

async def serve():
    runner = web.ServerRunner(web.Server(handle, access_log=None), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, HOST, PORT, backlog=1024).start()
    await asyncio.Event().wait()

asyncio.run(serve())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Receiver:
    """Start the receiver process, wait until it accepts connections; kill it on the way out."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}{PATH}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Receiver:
        command = [sys.executable, "-c", RECEIVER, HOST, str(self.port), PATH]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the receiver exited (code {self.process.returncode})") from None
                if time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"the receiver did not listen on {HOST}:{self.port} within 30 s") from None
                time.sleep(0.01)  # poll again: the interpreter is still starting

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def cpu_seconds(self) -> float:
        """User and system CPU time of the receiver so far (from /proc)."""
        return process_cpu(self.process.pid if self.process else None)


def _mb(kb: float) -> str:
    return f"{kb / 1024:,.1f} MB"


# the two sides --------------------------------------------------------------------------------


def scenario_count(scenario: Scenario) -> int:
    """The logins a bench scenario repeats."""
    step = scenario.steps[0]
    return int(getattr(step, "count", 1))


def scenario_for(deliveries: int, per_login: float) -> Scenario:
    count = max(1, math.ceil(deliveries / per_login))
    return load_scenario_text(SCENARIO.format(count=count), "<bench>")


def events_per_login(vendor: str, registry: Registry) -> float:
    """How many events one login gives this vendor (counted, not assumed)."""
    logins = 4
    return sum(1 for _ in render_events(scenario_for(logins, 1), vendor, SEED, START, registry)) / logins


def target_for(url: str, vendor: str, concurrency: int, registry: Registry) -> Target:
    spec = {
        "name": "bench",
        "url": url,
        "vendor": vendor,
        "signing": {"secret": SECRET},
        "ordering": "unordered",
        "concurrency": concurrency,
        "retry": "none",
    }
    return build_target(spec, registry)


async def bare(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, int]:
    """Seconds to POST every body with ``concurrency`` workers over one session, and non-200s."""
    failed = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        pending = iter(bodies)

        async def worker() -> None:
            nonlocal failed
            for body in pending:
                async with session.post(url, data=body, headers=JSON) as response:
                    await response.read()
                    failed += response.status != 200

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - began, failed


async def run(
    scenario: Scenario,
    target: Target,
    registry: Registry,
    folder: Path,
    watch: Callable[[Dispatcher], None] | None = None,
) -> tuple[Summary, float]:
    """One ``deliver_run`` into a fresh SQLite store file; its summary and wall seconds."""
    path = folder / f"run-{time.monotonic_ns()}.sqlite"
    store = Store(path)
    try:
        began = time.perf_counter()
        summary = await deliver_run(
            scenario, [target], store, SEED, START, time_scale=0, pace=False, registry=registry, watch=watch
        )
        took = time.perf_counter() - began
    finally:
        store.close()
        for leftover in folder.glob(path.name + "*"):
            leftover.unlink()
    return summary, took


# comparison ------------------------------------------------------------------------------------


@dataclass
class Round:
    """One timed pass of one side: its rate, and how busy this process and the receiver were."""

    deliveries: int
    seconds: float
    cpu: float  # this process's CPU seconds
    receiver_cpu: float

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds

    def line(self, label: str) -> str:
        per_delivery = self.cpu / self.deliveries * 1e6
        busy, receiver = self.cpu / self.seconds, self.receiver_cpu / self.seconds
        return (
            f"{label} {self.rate:>7,.0f}/s in {self.seconds:4.1f}s | {per_delivery:4.0f} us CPU per delivery"
            f" | this process {busy:4.0%} busy, receiver {receiver:4.0%}"
        )


class Meter:
    """CPU of this process and of the receiver over a stretch of wall time."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        gc.collect()
        self.cpu, self.receiver_cpu = time.process_time(), receiver.cpu_seconds()

    def round(self, deliveries: int, seconds: float) -> Round:
        cpu, receiver_cpu = time.process_time() - self.cpu, self.receiver.cpu_seconds() - self.receiver_cpu
        return Round(deliveries, seconds, cpu, receiver_cpu)


async def compare(args: argparse.Namespace, receiver: Receiver, registry: Registry, folder: Path) -> None:
    per_login = events_per_login(args.vendor, registry)
    scenario = scenario_for(args.deliveries, per_login)
    bodies = [body_bytes(e) for e in render_events(scenario, args.vendor, SEED, START, registry)]
    target = target_for(receiver.url, args.vendor, args.concurrency, registry)
    print(
        f"{len(bodies):,} deliveries per round ({scenario_count(scenario):,} logins x {per_login:g} {args.vendor}"
        f" events), {sum(map(len, bodies)) // len(bodies):,} B per body, concurrency {args.concurrency},"
        f" signing {target.signing.scheme}, SQLite outbox file"
    )

    # warm both paths up (aiohttp's lazy imports, the first connections, SQLite), untimed
    await bare(receiver.url, bodies[:WARM_UP], args.concurrency)
    await run(scenario_for(WARM_UP, per_login), target, registry, folder)

    bares: list[Round] = []
    runs: list[Round] = []
    for n in range(1, args.rounds + 1):
        meter = Meter(receiver)
        seconds, failed = await bare(receiver.url, bodies, args.concurrency)
        bares.append(meter.round(len(bodies), seconds))
        if failed:
            print(f"  note: the bare client got {failed:,} answers other than 200")

        meter = Meter(receiver)
        summary, seconds = await run(scenario, target, registry, folder)
        runs.append(meter.round(summary.delivered, seconds))
        if summary.delivered != len(bodies) or summary.failed:
            print(
                f"  note: the run delivered {summary.delivered:,} of {summary.events:,} events,"
                f" {summary.failed:,} failed ({summary.status})"
            )
        print(f"  round {n}: {bares[-1].line('bare')}")
        print(f"           {runs[-1].line('run ')} | ratio {runs[-1].rate / bares[-1].rate:.2f}", flush=True)

    base = statistics.median(r.rate for r in bares)
    measured = statistics.median(r.rate for r in runs)
    ratio = measured / base
    verdict = "PASS" if ratio >= TARGET else "BELOW TARGET"
    print()
    print(f"median of {args.rounds} round{'s' if args.rounds != 1 else ''} (deliveries per second):")
    print(f"bare aiohttp client: {base:>8,.0f}/s")
    print(f"deliver_run:         {measured:>8,.0f}/s")
    print(f"ratio run/bare:      {ratio:8.2f}")
    print(f"target: ratio >= {TARGET:g} {verdict}")
    if args.profile:
        await profile_run(args.profile, scenario, target, registry, folder)


# Stages of the delivery path, by the function that does each (inclusive shares, so they nest).
STAGES = (
    ("play and render the events", "emulator/render.py", "render_events"),
    ("  serialize each body (JSON)", "emulator/delivery/runner.py", "body_bytes"),
    ("store new events and deliveries", "emulator/store/outbox.py", "add"),
    ("one attempt (dispatcher)", "emulator/delivery/dispatcher.py", "_attempt"),
    ("  one attempt (sender)", "emulator/delivery/sender.py", "attempt"),
    ("    sign", "emulator/delivery/signing.py", "sign"),
    ("    HTTP exchange (send, wait, parse)", "emulator/delivery/http.py", "post"),
    ("record attempts in the store", "emulator/store/outbox.py", "record"),
)


async def profile_run(rows: int, scenario: Scenario, target: Target, registry: Registry, folder: Path) -> None:
    """One more run under cProfile: the functions with the most own time, and the stages' shares."""
    profile = cProfile.Profile()
    profile.enable()
    summary, took = await run(scenario, target, registry, folder)
    profile.disable()
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in stats.values())
    print()
    print(
        f"profile of one more run ({summary.delivered:,} deliveries, {took:.1f}s under cProfile, which slows"
        " Python code more than C code), by own time:"
    )
    top = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:rows]
    for (file, line, name), (_, calls, own, cumulative, _) in top:
        where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else "built-in"
        print(f"  {own / total:6.1%} own {cumulative / total:6.1%} incl. {calls:>9,} calls  {name}  ({where})")
    print("stages (time inside each, callees included):")
    for label, suffix, function in STAGES:
        inside = sum(row[3] for (f, _, n), row in stats.items() if n == function and f.endswith(suffix))
        print(f"  {inside / total:6.1%}  {label}")


# memory -------------------------------------------------------------------------------------


async def memory(args: argparse.Namespace, receiver: Receiver, registry: Registry, folder: Path) -> None:
    per_login = events_per_login(args.vendor, registry)
    scenario = scenario_for(args.memory, per_login)
    target = target_for(receiver.url, args.vendor, args.concurrency, registry)
    print(
        f"memory over one run: {scenario_count(scenario):,} logins x {per_login:g} {args.vendor} events,"
        f" concurrency {args.concurrency}, signing {target.signing.scheme}, SQLite outbox file;"
        f" VmRSS every {SAMPLE_SECONDS:g}s"
    )
    gc.collect()
    start = status_kb("VmRSS")
    print(f"  RSS at start: {_mb(start)}")
    watched: list[Dispatcher] = []
    samples: list[int] = []
    began = time.perf_counter()

    async def sample() -> None:
        last, last_at = 0, began
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            rss, now = status_kb("VmRSS"), time.perf_counter()
            samples.append(rss)
            done = watched[0].total.delivered if watched else 0
            rate = (done - last) / (now - last_at)
            last, last_at = done, now
            print(f"  {now - began:6.0f}s  {done:>10,} delivered  {rate:>7,.0f}/s  RSS {_mb(rss):>10}", flush=True)

    sampler = asyncio.create_task(sample())
    try:
        summary, took = await run(scenario, target, registry, folder, watch=watched.append)
    finally:
        sampler.cancel()
    gc.collect()
    end = status_kb("VmRSS")
    peak = max([*samples, end, status_kb("VmHWM")])
    verdict = "PASS" if peak / 1024 < MEMORY_TARGET_MB else "BELOW TARGET"
    print()
    print(
        f"run: {summary.delivered:,} delivered, {summary.failed:,} failed of {summary.events:,} events in"
        f" {took:,.0f}s ({summary.delivered / took:,.0f}/s)"
    )
    print(
        f"RSS at start {_mb(start)} | peak {_mb(peak)} (kernel high-water mark, VmHWM) | end {_mb(end)}"
        f" | highest sample {_mb(max(samples, default=end))}"
    )
    print(f"target: peak < {MEMORY_TARGET_MB:g} MB {verdict}")


# main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=20_000, help="deliveries per round (default 20,000)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of each, interleaved, median reported (default 3)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"workers, the same for both sides (default {DEFAULT_CONCURRENCY}, a target's default)",
    )
    parser.add_argument("--vendor", default="keycloak", help="vendor whose events are delivered (default keycloak)")
    parser.add_argument(
        "--memory",
        type=int,
        default=None,
        metavar="N",
        help="only the run, N deliveries, sampling resident memory every 2 s (e.g. 1000000)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=25,
        default=0,
        metavar="ROWS",
        help="after the rounds, profile one more run with cProfile and print its top functions (default 25)",
    )
    args = parser.parse_args(argv)
    args.deliveries = max(10, args.deliveries)
    args.rounds = max(1, args.rounds)
    args.concurrency = min(1000, max(1, args.concurrency))

    registry = Registry()
    if args.vendor not in registry.names:
        print(f"error: no vendor {args.vendor!r}; expected one of: {', '.join(registry.names)}", file=sys.stderr)
        return 2
    print("delivery benchmark: deliver_run against a bare aiohttp client, one local receiver process")
    print(
        f"python {platform.python_version()}, aiohttp {aiohttp.__version__}, on {platform.machine()}"
        f" {platform.system()}, {os.cpu_count()} CPUs"
    )
    began = time.perf_counter()
    try:
        with Receiver() as receiver, tempfile.TemporaryDirectory(prefix="bench-deliver-") as folder:
            work = memory if args.memory else compare
            asyncio.run(work(args, receiver, registry, Path(folder)))
    except (EmulatorError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"took {time.perf_counter() - began:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
