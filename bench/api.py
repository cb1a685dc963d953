"""API benchmark: many concurrent clients start runs and read their events from ``idp-emulator serve``.

Issue 4 asks that two hundred concurrent API clients starting runs and reading events for a minute
see no errors and lose no events. This starts the real server (``python -m emulator serve --port 0``
with a fresh SQLite file in a temporary folder) as a separate process, learns its port from the first
line it prints, and runs ``--clients`` client coroutines (default 200) over one
``aiohttp.ClientSession`` for ``--seconds`` (default 60). Each client loops:

1. ``POST /api/runs``: the bundled ``login`` scenario, vendor ``keycloak``, time scale 0, one target,
   the server's own sink ``/sink/c<client>`` (the server keeps 100 sinks: client 100 shares c0's);
2. ``GET /api/runs/<run>`` every 50 ms until the run is no longer ``running`` (a load generator, not a
   test: the polls are part of the load);
3. ``GET /api/events?run=<run>``: the run's events, which must all be there (a Keycloak login is 3
   events: LOGIN, CODE_TO_TOKEN, LOGOUT); fewer counts as lost.

When the time is up every client finishes the run it is in, then the benchmark reads every client's
sink (``GET /api/sinks/c<n>``), which must have received 3 requests per run its clients started.
Every request's latency is recorded; any answer other than 2xx, any exception and any run that does
not finish is an error. It prints requests, requests per second, p50/p99 latency, runs, events
expected and found, sink requests expected and found, errors, and how busy the server process was.

A benchmark, not a test: it always exits 0 and prints PASS or BELOW TARGET against the target
"no errors, no lost events, and a p99 latency under 250 ms".

    .venv/bin/python bench/api.py                  # 200 clients for 60 s
    .venv/bin/python bench/api.py --seconds 20     # a shorter run
    .venv/bin/python bench/api.py --clients 20 --seconds 5   # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from procstat import process_cpu, status_kb

from emulator.server.sinks import NAMES

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "login"
VENDOR = "keycloak"
EVENTS_PER_RUN = 3  # a Keycloak login: LOGIN, CODE_TO_TOKEN, LOGOUT
POLL = 0.05  # seconds between polls of a run's status
RUN_DEADLINE = 60.0  # a run still running after this long is an error
START_DEADLINE = 30.0  # seconds for the server to print its address
BANNER = "serving on "

P99_MS = 250  # issue 18: every request, all routes together
SINK_NAMES = NAMES


class Server:
    """``python -m emulator serve --port 0`` in a temporary folder; its base URL from its first line."""

    def __init__(self, folder: Path, profile: str | None = None, db: str | None = None) -> None:
        self.folder = folder
        self.profile = profile
        self.db = db
        self.base = ""
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Server:
        self.err = (self.folder / "server.err").open("w")
        command = [
            sys.executable,
            "-m",
            "emulator",
            "serve",
            "--port",
            "0",
            "--db",
            self.db or str(self.folder / "b.db"),
        ]
        if self.profile:  # cProfile writes the file when the server stops on SIGINT
            command[1:1] = ["-m", "cProfile", "-o", self.profile]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
            start_new_session=True,
        )
        self.err.close()  # the server holds its own copy
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until the server listens (or exits)
        if BANNER not in line:
            self.__exit__()
            raise RuntimeError(f"the server did not start: {line.strip() or self.errors() or 'no output'}")
        self.base = line.split(BANNER, 1)[1].split()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            if self.profile:
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(30)
                    return
                except subprocess.TimeoutExpired:
                    pass
            self.process.kill()
            self.process.wait()

    def errors(self) -> str:
        try:
            return (self.folder / "server.err").read_text()
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        return process_cpu(self.process.pid if self.process else None)

    def rss_mb(self, key: str = "VmRSS") -> float:
        return status_kb(key, self.process.pid if self.process else 0) / 1024


@dataclass
class Tally:
    """What all clients saw: latencies per route, errors, runs and events."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: dict[str, str] = field(default_factory=dict)
    runs_started: Counter[int] = field(default_factory=Counter)  # per client
    runs_finished: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    events_expected: int = 0
    events_found: int = 0
    lost_runs: int = 0

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        self.error_examples.setdefault(kind, detail[:300])


async def call(
    session: aiohttp.ClientSession, tally: Tally, route: str, method: str, url: str, **kwargs: Any
) -> Any | None:
    """One request, timed; its JSON on a 2xx, else None with the error counted."""
    began = time.perf_counter()
    try:
        async with session.request(method, url, **kwargs) as response:
            body = await response.read()
            took = time.perf_counter() - began
            tally.latencies.setdefault(route, []).append(took)
            if not 200 <= response.status < 300:
                tally.error(f"{route} HTTP {response.status}", body.decode("utf-8", "replace"))
                return None
            return await response.json(content_type=None)
    except Exception as exc:  # every failure is a figure here
        tally.latencies.setdefault(route, []).append(time.perf_counter() - began)
        tally.error(f"{route} {type(exc).__name__}", str(exc) or repr(exc))
        return None


async def client(number: int, session: aiohttp.ClientSession, base: str, stop: float, tally: Tally) -> None:
    # the server keeps SINK_NAMES sinks: clients beyond share them (the warm-up, -1, has its own)
    sink = f"c{number % SINK_NAMES}" if number >= 0 else "warm-up"
    start = {"scenario": SCENARIO, "vendor": VENDOR, "targets": [f"{base}/sink/{sink}"], "time_scale": 0}
    first = True
    while first or time.perf_counter() < stop:  # at least one run, then more until the time is up
        first = False
        started = await call(session, tally, "POST /api/runs", "POST", f"{base}/api/runs", json=start)
        if started is None:
            await asyncio.sleep(POLL)
            continue
        run_id = started["run"]
        tally.runs_started[number] += 1
        deadline = time.perf_counter() + RUN_DEADLINE
        status = "running"
        while True:
            info = await call(session, tally, "GET /api/runs/{run}", "GET", f"{base}/api/runs/{run_id}")
            if info is not None:
                status = info["status"]
                if status != "running":
                    break
                if "error" in info:
                    tally.error("run error", f"{run_id}: {info['error']}")
            if time.perf_counter() > deadline:
                tally.error("run did not finish", f"{run_id} still {status} after {RUN_DEADLINE:g}s")
                break
            await asyncio.sleep(POLL)
        tally.statuses[status] += 1
        if status == "finished":
            tally.runs_finished += 1
        elif status != "running":
            tally.error(f"run {status}", run_id)
        page = await call(session, tally, "GET /api/events", "GET", f"{base}/api/events", params={"run": run_id})
        found = len(page["events"]) if page is not None else 0
        tally.events_expected += EVENTS_PER_RUN
        tally.events_found += min(found, EVENTS_PER_RUN)
        if found < EVENTS_PER_RUN:
            tally.lost_runs += 1


def percentile(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


async def bench(args: argparse.Namespace, server: Server) -> bool:
    base = server.base
    tally = Tally()
    limit = max(100, args.clients + 10)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit), timeout=timeout) as session:
        # one run untimed first: the server's first scenario load, imports, the first connection
        warm = Tally()
        await client(-1, session, base, time.perf_counter() + 0.001, warm)
        if warm.errors:
            kind, detail = next(iter(warm.error_examples.items()))
            print(f"  note: the warm-up run had an error: {kind}: {detail}")

        cpu = server.cpu_seconds()
        began = time.perf_counter()
        stop = began + args.seconds
        await asyncio.gather(*(client(n, session, base, stop, tally) for n in range(args.clients)))
        took = time.perf_counter() - began
        server_cpu = server.cpu_seconds() - cpu

        # every sink got 3 requests per run its client started (runs are finished by now)
        sinks_expected = sinks_found = short_sinks = resent = 0
        for n in range(min(args.clients, SINK_NAMES)):
            sharing = range(n, args.clients, SINK_NAMES)
            expected = sum(tally.runs_started[c] for c in sharing) * EVENTS_PER_RUN
            page = await call(session, Tally(), "GET /api/sinks/{name}", "GET", f"{base}/api/sinks/c{n}")
            # distinct bodies: an attempt that timed out under load is sent again (at least once)
            found = len({json.dumps(r["body"], sort_keys=True) for r in page["requests"]}) if page else 0
            if page is None:
                tally.error("GET /api/sinks/{name} failed", f"c{n}")
            sinks_expected += expected
            sinks_found += found
            resent += len(page["requests"]) - found if page else 0
            short_sinks += found != expected

    requests = sum(len(v) for v in tally.latencies.values())
    every = [x for v in tally.latencies.values() for x in v]
    errors = sum(tally.errors.values())
    lost = tally.events_expected - tally.events_found
    print(f"{args.clients} clients for {took:.1f}s (asked {args.seconds:g}s; clients finish the run they are in)")
    print(f"requests:        {requests:>10,}")
    print(f"requests/s:      {requests / took:>10,.0f}")
    print(f"latency p50:     {percentile(every, 0.50) * 1000:>10,.1f} ms")
    print(f"latency p99:     {percentile(every, 0.99) * 1000:>10,.1f} ms")
    print(f"latency max:     {max(every, default=math.nan) * 1000:>10,.1f} ms")
    for route, values in sorted(tally.latencies.items()):
        print(
            f"  {route:<22} {len(values):>9,} requests  p50 {percentile(values, 0.5) * 1000:7.1f} ms"
            f"  p99 {percentile(values, 0.99) * 1000:7.1f} ms"
        )
    started = sum(tally.runs_started.values())
    print(f"runs started:    {started:>10,} ({started / took:,.1f}/s)")
    print(f"runs finished:   {tally.runs_finished:>10,}  statuses: {dict(tally.statuses)}")
    print(f"events expected: {tally.events_expected:>10,}")
    print(f"events found:    {tally.events_found:>10,}  (lost {lost:,}, in {tally.lost_runs:,} runs)")
    print(
        f"sink events:     {sinks_found:>10,} of {sinks_expected:,} expected"
        f" ({short_sinks} sinks off, {resent:,} resent)"
    )
    print(f"errors:          {errors:>10,}")
    for kind, count in tally.errors.most_common():
        print(f"  {count:>8,}  {kind}: {tally.error_examples[kind]}")
    print(
        f"server: {server_cpu / took:.0%} of one CPU busy, RSS {server.rss_mb():,.0f} MB"
        f" (peak {server.rss_mb('VmHWM'):,.0f} MB)"
    )
    # what a request costs the server whatever else the machine runs (its sinks' webhooks and the runs included)
    per_request = server_cpu / max(1, requests) * 1000
    print(f"server CPU per request: {per_request:.2f} ms  (load average {os.getloadavg()[0]:.1f})")
    complaints = [line for line in server.errors().splitlines() if line.strip()]
    if complaints:
        print(f"server stderr: {len(complaints)} lines, the first ones:")
        for line in complaints[:10]:
            print(f"  {line}")
    p99 = percentile(every, 0.99) * 1000
    ok = errors == 0 and lost == 0 and sinks_found == sinks_expected and p99 < P99_MS
    verdict = "PASS" if ok else "BELOW TARGET"
    print(f"target: no errors, no lost events, p99 under {P99_MS} ms ({p99:,.0f} ms) {verdict}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="concurrent API clients (default 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients start runs (default 60)")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile, writing FILE")
    parser.add_argument("--db", help="the server's store (default: a new file; ':memory:' shows what syncing costs)")
    args = parser.parse_args(argv)
    args.clients = max(1, args.clients)
    args.seconds = max(0.1, args.seconds)

    print("API benchmark: concurrent clients start runs and read events from idp-emulator serve")
    print(
        f"python {platform.python_version()}, aiohttp {aiohttp.__version__}, on {platform.machine()}"
        f" {platform.system()}, {os.cpu_count()} CPUs; scenario {SCENARIO}, vendor {VENDOR}, time scale 0"
    )
    began = time.perf_counter()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-api-") as folder,
            Server(Path(folder), args.profile, args.db) as server,
        ):
            print(f"server at {server.base} (store {folder}/b.db)", flush=True)
            asyncio.run(bench(args, server))
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"took {time.perf_counter() - began:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
