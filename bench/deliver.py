"""Delivery benchmark: ``idp-emulator run`` as users run it, against a bare aiohttp client.

The measured paths are what the ``run`` command does: targets built by the command line's own
parser and ``command_targets`` (``--vendor V --target URL --secret S``, nothing else), the scenario
played by ``deliver_run`` into a SQLite store file, every event stored before its first attempt,
signed, POSTed and every attempt written back. The rate is deliveries divided by the wall time of
the whole ``deliver_run`` call: playing, rendering, storing, signing and recording are the point.

Four cases, each a vendor or a signing scheme with its own defaults: ``keycloak`` (X-Keycloak-
Signature HMAC, Keycloak's retry policy), ``fusionauth`` (a JWT per request, transaction type None),
``idaas`` (RFC 9421 with its signed ``created`` time) and ``standard-webhooks`` (Flip's events with
``--signing standard-webhooks``, a signed timestamp per attempt). For each, in interleaved rounds:

- **default**: the command line's defaults: per-actor ordering, the vendor's retry policy, time
  scale 1, concurrency 8, over a scenario in which 50 actors log in in turn (``--deliveries``
  events, 30,000 by default);
- **tuned**: the same with ``--ordering unordered --retry none``;
- **bare c8**: the same events' bodies, rendered beforehand and kept in a list, POSTed by 8
  worker coroutines over one ``aiohttp.ClientSession``, each reading its answer (only the POSTing
  is timed): the least any emulator could do to put those bytes on the wire;
- **single**: the default path for one actor's events (every delivery waits for the one before:
  per-actor ordering) against **bare c1**, a bare client with one worker.

Targets: the default and tuned paths at 1.0 times bare c8 or better, single at 0.8 times bare c1
or better (medians of the rounds). One receiver in a separate process (a bare aiohttp server
whose ``POST /hook`` reads the body and answers 200) serves both sides, so its work is charged to
neither. Each round also shows the CPU time per delivery (this process and its render process), split into
the event loop, the other threads, the render process and the receiver, how busy this process and
the receiver were (a side near 100% was bound by its own CPU; both well below it means waiting on
each other or on another load on the machine), and how long the loop waited for a core.

``--profile [ROWS]`` profiles one more default run per case with cProfile and prints the functions
with the most own time and the microseconds per delivery of each stage of the path.

``--memory N`` runs only the default keycloak path, for ``N`` deliveries, and samples the
process's resident memory (VmRSS) every 2 seconds: the run stores and forgets, so memory should
stay flat however long the scenario; the target is a peak below 200 MB.

A benchmark, not a test: it always exits 0 and prints PASS or BELOW TARGET.

    .venv/bin/python bench/deliver.py                                  # 4 cases, 30,000 deliveries, 3 rounds
    .venv/bin/python bench/deliver.py --case fusionauth --profile      # one case, then where the time goes
    .venv/bin/python bench/deliver.py --deliveries 5000 --rounds 1     # a smoke run
    .venv/bin/python bench/deliver.py --memory 1000000                 # memory over a long run (minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import gc
import math
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from procstat import status_kb, thread_times
from receiver import ReceiverProcess

from emulator.cli import _parser
from emulator.collector import streaming
from emulator.delivery.commands import _time_scale, command_targets
from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.runner import Summary, body_bytes, deliver_run
from emulator.delivery.targets import Target
from emulator.errors import EmulatorError
from emulator.render import render_events
from emulator.scenario.loader import load_scenario_text
from emulator.scenario.model import Scenario
from emulator.store import Store
from emulator.vendors.registry import Registry

SEED = 1
START = datetime(2025, 1, 1, tzinfo=UTC)
TARGET = 1.0  # default and tuned paths / bare client at the same concurrency
SINGLE_TARGET = 0.8  # one actor's events / bare client at concurrency 1
MEMORY_TARGET_MB = 200.0  # peak resident memory of a long run
SAMPLE_SECONDS = 2.0
WARM_UP = 1_000  # deliveries of each kind before the timed rounds (imports, first connections)
ACTORS = 50
PATH = "/hook"
SECRET = "bench-secret-for-hmac-and-hs256-jwt"  # 32+ bytes: PyJWT warns below that for HS256
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Case:
    """A vendor (or a signing scheme on a vendor's events) as the command line is told to deliver it."""

    name: str
    vendor: str
    flags: tuple[str, ...] = ()  # beyond --vendor, --target and --secret
    secret: str = SECRET


CASES = {
    c.name: c
    for c in (
        Case("keycloak", "keycloak"),
        Case("fusionauth", "fusionauth"),
        Case("idaas", "idaas"),
        Case(
            "standard-webhooks",
            "flip",
            ("--signing", "standard-webhooks"),
            "whsec_" + base64.b64encode(SECRET.encode()).decode(),
        ),
    )
}
TUNED = ("--ordering", "unordered", "--retry", "none")


def scenario_text(actors: int, logins: int) -> str:
    """``actors`` log in in turn, a second apart, until there are ``logins`` logins."""
    names = [f"a{i}" for i in range(actors)]
    rounds = max(1, math.ceil(logins / actors))
    lines = ["name: bench", "actors: {" + ", ".join(f"{n}: {{}}" for n in names) + "}", "steps:"]
    lines.append(f"  - repeat: {{count: {rounds}, every: {actors}s, steps: [")
    lines += [f"      {{login: {{actor: {n}}}}}," for n in names]
    lines.append("    ]}")
    return "\n".join(lines) + "\n"


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


class Receiver(ReceiverProcess):
    """The bare aiohttp receiver above, answering ``POST PATH``."""

    def __init__(self) -> None:
        super().__init__(RECEIVER, PATH, PATH)


def family_kb(receiver: Receiver) -> float:
    """Resident memory of this process and its children but the receiver (a long run's render process)."""
    total = status_kb("VmRSS")
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            if receiver.process is None or int(pid) != receiver.process.pid:
                total += status_kb("VmRSS", pid)
    return total


def _mb(kb: float) -> str:
    return f"{kb / 1024:,.1f} MB"


# the two sides ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One measured path: the command line's targets, its time scale, and the scenario it plays."""

    label: str
    scenario: Scenario
    targets: list[Target]
    time_scale: float
    pace: bool


def scenario_for(actors: int, deliveries: int, vendor: str, registry: Registry) -> Scenario:
    """A scenario of ``actors`` giving at least ``deliveries`` events of ``vendor`` (counted, not assumed)."""
    probe = load_scenario_text(scenario_text(actors, actors), "<bench>")
    per_login = sum(1 for _ in render_events(probe, vendor, SEED, START, registry)) / actors
    return load_scenario_text(scenario_text(actors, math.ceil(deliveries / per_login)), "<bench>")


def command_line(case: Case, url: str, registry: Registry, extra: tuple[str, ...] = ()) -> tuple[list[Target], Any]:
    """The targets ``idp-emulator run`` builds for these flags, and its parsed arguments."""
    words = ["run", "<bench>", "--vendor", case.vendor, "--target", url, "--secret", case.secret, *case.flags, *extra]
    args = _parser("run").parse_args(words)
    return command_targets(args, registry, None), args


def path_for(
    label: str, case: Case, url: str, scenario: Scenario, registry: Registry, extra: tuple[str, ...] = ()
) -> Measured:
    targets, args = command_line(case, url, registry, extra)
    return Measured(label, scenario, targets, _time_scale(args, None), bool(args.pace))


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
    path: Measured, registry: Registry, folder: Path, watch: Callable[[Dispatcher], None] | None = None
) -> tuple[Summary, float]:
    """One ``deliver_run`` as the ``run`` command calls it, into a fresh SQLite store file."""
    file = folder / f"run-{time.monotonic_ns()}.sqlite"
    store = Store(file, background_writes=True)  # as the run command opens it
    try:
        began = time.perf_counter()
        with streaming(collect=False):  # the collector as the run command sets it
            summary = await deliver_run(
                path.scenario, path.targets, store, SEED, START, path.time_scale, path.pace, registry, watch=watch
            )
        took = time.perf_counter() - began
    finally:
        store.close()
        for leftover in folder.glob(file.name + "*"):
            leftover.unlink()
    return summary, took


# comparison ------------------------------------------------------------------------------------


@dataclass
class Round:
    """One timed pass of one side: its rate, and where its CPU went."""

    deliveries: int
    seconds: float
    cpu: float  # this process's CPU seconds (its threads and its finished children)
    receiver_cpu: float
    loop_cpu: float  # the main thread's: the event loop
    children_cpu: float  # finished children's: a run's render process
    waited: float  # seconds the main thread was runnable but had no core

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds

    @property
    def threads_cpu(self) -> float:
        """CPU seconds of this process's other threads: a run's store writer."""
        return max(0.0, self.cpu - self.loop_cpu - self.children_cpu)

    def line(self, label: str) -> str:
        def us(seconds: float) -> str:
            return f"{seconds / self.deliveries * 1e6:.0f}"

        threads = self.threads_cpu
        busy, receiver = self.cpu / self.seconds, self.receiver_cpu / self.seconds
        return (
            f"{label:<8} {self.rate:>7,.0f}/s in {self.seconds:4.1f}s | {us(self.cpu):>4} us CPU per delivery"
            f" (loop {us(self.loop_cpu)}, threads {us(threads)}, render {us(self.children_cpu)};"
            f" receiver {us(self.receiver_cpu)}) | this process {busy:4.0%} busy, receiver {receiver:4.0%},"
            f" loop waited for a core {self.waited / self.seconds:3.0%}"
        )


class Meter:
    """CPU of this process (its loop, its other threads, its finished children) and of the receiver
    over a stretch of wall time."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        gc.collect()
        self.cpu, self.receiver_cpu = self.own(), receiver.cpu_seconds()
        self.children = self.reaped()
        self.loop, self.waited = thread_times()

    @staticmethod
    def own() -> float:
        """CPU seconds of this process and of its finished children (a run's render process, reaped at
        its end; the receiver runs on until the end, so it is not among them)."""
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    @staticmethod
    def reaped() -> float:
        """CPU seconds of this process's finished children."""
        t = os.times()
        return t.children_user + t.children_system

    def round(self, deliveries: int, seconds: float) -> Round:
        cpu, receiver_cpu = self.own() - self.cpu, self.receiver.cpu_seconds() - self.receiver_cpu
        loop, waited = thread_times()
        children = self.reaped() - self.children
        return Round(deliveries, seconds, cpu, receiver_cpu, loop - self.loop, children, waited - self.waited)


@dataclass
class Result:
    """A case's rounds, side by side."""

    case: str
    rounds: dict[str, list[Round]] = field(default_factory=dict)

    def median(self, side: str) -> float:
        return statistics.median(r.rate for r in self.rounds[side])

    def ratio(self, side: str, base: str) -> float:
        return self.median(side) / self.median(base)


async def measure_bare(label: str, url: str, bodies: list[bytes], concurrency: int, receiver: Receiver) -> Round:
    meter = Meter(receiver)
    seconds, failed = await bare(url, bodies, concurrency)
    if failed:
        print(f"  note: the bare client got {failed:,} answers other than 200")
    done = meter.round(len(bodies), seconds)
    print(f"  {done.line(label)}", flush=True)
    return done


async def measure_run(path: Measured, registry: Registry, folder: Path, receiver: Receiver, base: Round) -> Round:
    meter = Meter(receiver)
    summary, seconds = await run(path, registry, folder)
    if summary.failed or summary.delivered != summary.events:
        print(
            f"  note: {path.label} delivered {summary.delivered:,} of {summary.events:,} events,"
            f" {summary.failed:,} failed ({summary.status})"
        )
    done = meter.round(summary.delivered, seconds)
    print(f"  {done.line(path.label)} | ratio {done.rate / base.rate:.2f}", flush=True)
    return done


async def compare_case(
    case: Case, args: argparse.Namespace, receiver: Receiver, registry: Registry, folder: Path
) -> Result:
    url = receiver.url
    many = scenario_for(ACTORS, args.deliveries, case.vendor, registry)
    one = scenario_for(1, args.deliveries, case.vendor, registry)
    bodies = [body_bytes(e) for e in render_events(many, case.vendor, SEED, START, registry)]
    single_bodies = [body_bytes(e) for e in render_events(one, case.vendor, SEED, START, registry)]
    default = path_for("default", case, url, many, registry)
    tuned = path_for("tuned", case, url, many, registry, TUNED)
    single = path_for("single", case, url, one, registry)
    target = default.targets[0]
    print()
    print(
        f"== {case.name}: {len(bodies):,} deliveries from {ACTORS} actors, {sum(map(len, bodies)) // len(bodies):,} B"
        f" per body; signing {target.signing.scheme}, retry {target.retry.describe()}, ordering {target.ordering},"
        f" concurrency {target.concurrency}, time scale {default.time_scale:g}, SQLite store file;"
        f" single: {len(single_bodies):,} deliveries from 1 actor"
    )
    # warm both paths up (lazy imports, the first connections, SQLite), untimed
    await bare(url, bodies[:WARM_UP], target.concurrency)
    await run(
        path_for("warm", case, url, scenario_for(ACTORS, WARM_UP, case.vendor, registry), registry), registry, folder
    )
    result = Result(case.name, {side: [] for side in ("bare c8", "default", "tuned", "bare c1", "single")})
    for n in range(1, args.rounds + 1):
        print(f" round {n}")
        base = await measure_bare("bare c8", url, bodies, target.concurrency, receiver)
        result.rounds["bare c8"].append(base)
        result.rounds["default"].append(await measure_run(default, registry, folder, receiver, base))
        result.rounds["tuned"].append(await measure_run(tuned, registry, folder, receiver, base))
        base1 = await measure_bare("bare c1", url, single_bodies, 1, receiver)
        result.rounds["bare c1"].append(base1)
        result.rounds["single"].append(await measure_run(single, registry, folder, receiver, base1))
    if args.profile:
        await profile_run(args.profile, default, registry, folder)
    return result


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio >= target else "BELOW TARGET"


def table(results: list[Result], rounds: int) -> None:
    print()
    print(
        f"medians of {rounds} interleaved round{'s' if rounds != 1 else ''}, deliveries per second; ratio = path / bare"
    )
    print(
        f"{'case':<18} {'bare c8':>8} {'default':>8} {'ratio':>6} {'tuned':>8} {'ratio':>6}"
        f" {'bare c1':>8} {'single':>8} {'ratio':>6}"
    )
    for r in results:
        m = {side: r.median(side) for side in r.rounds}
        print(
            f"{r.case:<18} {m['bare c8']:>8,.0f} {m['default']:>8,.0f} {r.ratio('default', 'bare c8'):>6.2f}"
            f" {m['tuned']:>8,.0f} {r.ratio('tuned', 'bare c8'):>6.2f}"
            f" {m['bare c1']:>8,.0f} {m['single']:>8,.0f} {r.ratio('single', 'bare c1'):>6.2f}"
        )
    print()
    for r in results:
        checks = [
            ("default", r.ratio("default", "bare c8"), TARGET),
            ("tuned", r.ratio("tuned", "bare c8"), TARGET),
            ("single", r.ratio("single", "bare c1"), SINGLE_TARGET),
        ]
        said = ", ".join(f"{side} {ratio:.2f} >= {goal:g} {verdict(ratio, goal)}" for side, ratio, goal in checks)
        print(f"target {r.case}: {said}")


async def compare(args: argparse.Namespace, receiver: Receiver, registry: Registry, folder: Path) -> None:
    results = [await compare_case(CASES[name], args, receiver, registry, folder) for name in args.case]
    table(results, args.rounds)


# Stages of the delivery path, by the function that does each (inclusive, so they nest).
STAGES = (
    ("play and render the events", "emulator/render.py", "render_events"),
    ("  serialize each body (JSON)", "emulator/delivery/ahead.py", "body_bytes"),
    ("store new events and deliveries", "emulator/store/outbox.py", "add"),
    ("one attempt (dispatcher)", "emulator/delivery/dispatcher.py", "_attempt"),
    ("  one attempt (sender)", "emulator/delivery/sender.py", "attempt"),
    ("    sign", "emulator/delivery/signing/__init__.py", "sign"),
    ("    HTTP exchange (send, wait, parse)", "emulator/delivery/http.py", "post"),
    ("record attempts in the store", "emulator/store/outbox.py", "record"),
)


async def profile_run(rows: int, path: Measured, registry: Registry, folder: Path) -> None:
    """One more run under cProfile: the functions with the most own time, and each stage per delivery."""
    profile = cProfile.Profile(time.process_time)  # CPU time: waiting for the receiver is not a cost
    profile.enable()
    summary, took = await run(path, registry, folder)
    profile.disable()
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in stats.values())
    n = max(1, summary.delivered)
    print()
    print(
        f" profile of one more {path.label} run ({summary.delivered:,} deliveries, {took:.1f}s under cProfile, which"
        " slows Python code more than C code), by own time:"
    )
    top = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:rows]
    for (file, line, name), (_, calls, own, cumulative, _) in top:
        where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else "built-in"
        print(f"  {own / total:6.1%} own {cumulative / total:6.1%} incl. {calls:>9,} calls  {name}  ({where})")
    print(
        " stages (CPU time inside each, callees included, per delivery, under cProfile; this thread only: a long"
        " play renders in a child process and a file store is written by its own thread, so 0 there is off the loop):"
    )
    for label, suffix, function in STAGES:
        inside = sum(row[3] for (f, _, name), row in stats.items() if name == function and f.endswith(suffix))
        print(f"  {inside / total:6.1%} {inside / n * 1e6:7.1f} us  {label}")
    print(f"  100.0% {total / n * 1e6:7.1f} us  the whole run")


# memory -------------------------------------------------------------------------------------


async def memory(args: argparse.Namespace, receiver: Receiver, registry: Registry, folder: Path) -> None:
    case = CASES["keycloak"]
    scenario = scenario_for(ACTORS, args.memory, case.vendor, registry)
    path = path_for("default", case, receiver.url, scenario, registry)
    target = path.targets[0]
    print(
        f"memory over one run: {args.memory:,} {case.vendor} deliveries from {ACTORS} actors, the command line's"
        f" defaults (ordering {target.ordering}, concurrency {target.concurrency}, signing {target.signing.scheme}),"
        f" SQLite store file; VmRSS every {SAMPLE_SECONDS:g}s"
    )
    gc.collect()
    start = status_kb("VmRSS")
    print(f"  RSS at start: {_mb(start)}")
    watched: list[Dispatcher] = []
    samples: list[float] = []
    families: list[float] = []  # this process and the render process it forks for a long play
    began = time.perf_counter()

    async def sample() -> None:
        last, last_at = 0, began
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            rss, family, now = status_kb("VmRSS"), family_kb(receiver), time.perf_counter()
            samples.append(rss)
            families.append(family)
            done = watched[0].total.delivered if watched else 0
            rate = (done - last) / (now - last_at)
            last, last_at = done, now
            print(
                f"  {now - began:6.0f}s  {done:>10,} delivered  {rate:>7,.0f}/s  RSS {_mb(rss):>10}"
                f"  with the render process {_mb(family):>10}",
                flush=True,
            )

    sampler = asyncio.create_task(sample())
    try:
        summary, took = await run(path, registry, folder, watch=watched.append)
    finally:
        sampler.cancel()
    gc.collect()
    end = status_kb("VmRSS")
    peak = max([*samples, end, status_kb("VmHWM")])
    print()
    print(
        f"run: {summary.delivered:,} delivered, {summary.failed:,} failed of {summary.events:,} events in"
        f" {took:,.0f}s ({summary.delivered / took:,.0f}/s)"
    )
    print(
        f"RSS at start {_mb(start)} | peak {_mb(peak)} (kernel high-water mark, VmHWM) | end {_mb(end)}"
        f" | highest sample {_mb(max(samples, default=end))}"
    )
    both = max(families, default=end)
    print(f"highest sample of this process and its render process together: {_mb(both)}")
    worst = max(peak, both) / 1024
    said = "PASS" if worst < MEMORY_TARGET_MB else "BELOW TARGET"
    print(f"target: peak < {MEMORY_TARGET_MB:g} MB (both processes) {said}")


# main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=30_000, help="deliveries per round and path (default 30,000)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of each, interleaved, median reported (default 3)"
    )
    parser.add_argument(
        "--case",
        action="append",
        choices=tuple(CASES),
        default=None,
        help=f"a case to measure, repeatable (default all: {', '.join(CASES)})",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=None,
        metavar="N",
        help="only the default keycloak path, N deliveries, sampling resident memory every 2 s (e.g. 1000000)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=25,
        default=0,
        metavar="ROWS",
        help="after each case's rounds, profile one more default run and print its top functions (default 25)",
    )
    args = parser.parse_args(argv)
    args.deliveries = max(10, args.deliveries)
    args.rounds = max(1, args.rounds)
    args.case = args.case or list(CASES)

    registry = Registry()
    print("delivery benchmark: idp-emulator run's paths against a bare aiohttp client, one local receiver process")
    print(
        f"python {platform.python_version()}, aiohttp {aiohttp.__version__}, on {platform.machine()}"
        f" {platform.system()}, {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    began = time.perf_counter()
    try:
        with Receiver() as receiver, tempfile.TemporaryDirectory(prefix="bench-deliver-") as folder:
            work = memory if args.memory else compare
            asyncio.run(work(args, receiver, registry, Path(folder)))
    except (EmulatorError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"took {time.perf_counter() - began:.0f}s, load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
