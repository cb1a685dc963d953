"""Render benchmark: the emulator's streamed render against a bare per-event Faker loop.

The measured path is what ``idp-emulator render SCENARIO --vendor NAME --seed 1`` does: play a
bundled scenario (its steps repeated until there are at least ``--events`` events), turn every
occurrence into the vendor's events and serialize each one as a JSON Lines record, into a sink
that counts the bytes and throws the text away.

The baseline is what a naive emulator does for every event: ask Faker for the fields of a login
event (three uuids, a first and last name, an email, a public IPv4, a user agent and an ISO
timestamp) and put them in a dict (no JSON at all). The emulator makes its actors once per run,
so it should beat that loop by a wide margin: the target is at least 5 times as many events per
second. A second, per-vendor loop is printed beside it: one Faker call for every uuid, email,
IP address, timestamp, user agent and person name found in the vendor's own payloads (read off
one rendered pass). It counts repeated values (the same user id three times) and is dominated by
cheap uuid4 calls, so it is a stricter yardstick for id-heavy payloads and a looser one for
FusionAuth's and Strivacity's larger ones.

Machines are shared and noisy, so both run side by side in the same process, in interleaved
rounds (the Faker loop, then each vendor, then again), timed by the process's CPU time (which
other load disturbs less than the wall clock; ``--wall`` for the wall clock), and the median of
the rounds is reported. The garbage collector is set as ``render`` sets it (``emulator/collector.py``)
before the first round, for both. If the rounds would take longer than ``--budget``, later rounds are
dropped; the event count never is.

Memory is traced separately, since tracemalloc slows everything down: in one streamed render,
the peak of traced memory once the first tenth of the events is written (10,000 by default,
the same as a render of 10,000 events) against the peak over all of them. Streaming means the
two stay close; memory that grew per event would make the second about ten times the first.

A benchmark, not a test: it always exits 0 and prints PASS or BELOW TARGET.

    .venv/bin/python bench/render.py              # 100,000 events, up to 3 rounds, every vendor in the registry
    .venv/bin/python bench/render.py --quick      # 10,000 events, 1 round: a smoke run
    .venv/bin/python bench/render.py --vendor keycloak --rounds 5 --budget 0
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faker import Faker

from emulator.cli import write_events
from emulator.collector import streaming
from emulator.errors import EmulatorError
from emulator.play.player import Player
from emulator.render import load, render_events
from emulator.scenario.bundled import bundled_names
from emulator.scenario.model import Repeat, Scenario
from emulator.vendors.registry import Registry

Clock = Callable[[], float]
DEFAULT_SCENARIO = "tour"
# If the tour is not bundled (an older checkout), the richest of these stands in for it.
STAND_INS = ("sso-first-login", "sso-login", "login")
TARGET = 5.0
SEED = 1
# A streamed render's peak over all events within this factor of its peak over the first tenth
# counts as flat (10x would mean memory grows with the event count).
FLAT_FACTOR = 1.5
# How much slower a render runs under tracemalloc (measured: about 4x).
TRACE_COST = 4.0


class CountingSink:
    """A text stream that keeps nothing: it counts the UTF-8 bytes written to it."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode("utf-8"))
        return len(text)

    def flush(self) -> None:
        pass


@dataclass
class Subject:
    """One vendor's render of the repeated scenario."""

    vendor: str
    scenario: Scenario
    per_pass: int
    passes: int
    rates: list[float] = field(default_factory=list)
    recipe: list[tuple[str, ...]] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    events: int = 0
    bytes: int = 0


def repeated(scenario: Scenario, passes: int) -> Scenario:
    """The scenario with its steps played ``passes`` times in a row."""
    where = scenario.steps[0].location if scenario.steps else None
    return replace(scenario, steps=[Repeat(count=passes, every=None, steps=list(scenario.steps), location=where)])


def render_once(subject: Subject, registry: Registry, clock: Clock) -> tuple[int, int, float, float]:
    """Events, bytes, measured seconds and wall seconds for one streamed render."""
    sink = CountingSink()
    gc.collect()
    wall, start = time.perf_counter(), clock()
    count = write_events(render_events(subject.scenario, subject.vendor, SEED, registry=registry), sink)
    return count, sink.bytes, clock() - start, time.perf_counter() - wall


def faker_loop(fake: Faker, events: int, clock: Clock) -> float:
    """Seconds for the naive loop: Faker for every field of every event, no JSON."""
    gc.collect()
    start = clock()
    for _ in range(events):
        record: dict[str, Any] = {
            "id": fake.uuid4(),
            "user_id": fake.uuid4(),
            "session_id": fake.uuid4(),
            "first_name": fake.first_name(),
            "last_name": fake.last_name(),
            "email": fake.email(),
            "ip": fake.ipv4_public(),
            "user_agent": fake.user_agent(),
            "time": fake.iso8601(tzinfo=UTC),
        }
        del record
    return clock() - start


def _counted(events: Iterable[Any], mark: int, peaks: dict[str, int]) -> Iterator[Any]:
    """Pass events through; note tracemalloc's peak once ``mark`` events have gone by."""
    for n, event in enumerate(events, 1):
        yield event
        if n == mark:
            peaks["mark"] = tracemalloc.get_traced_memory()[1]


def memory(subject: Subject, registry: Registry, mark: int) -> tuple[int, int, int]:
    """Peak traced bytes after ``mark`` events and after all of them, and the event count."""
    gc.collect()
    peaks: dict[str, int] = {}
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        events = render_events(subject.scenario, subject.vendor, SEED, registry=registry)
        count = write_events(_counted(events, mark, peaks), CountingSink())
        total = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peaks.get("mark", total) - base, total - base, count


def _occurrences_per_pass(scenario: Scenario) -> int:
    """How many occurrences one pass of the scenario plays (the player numbers them from 1)."""
    return sum(1 for _ in Player(scenario, SEED).occurrences())


def choose_scenario(name: str) -> tuple[str, Scenario, str]:
    """The scenario to repeat, and a note when a stand-in replaces the missing tour."""
    names = bundled_names()
    if name == DEFAULT_SCENARIO and name not in names:
        for stand_in in STAND_INS:
            if stand_in in names:
                return stand_in, load(stand_in), f"'{name}' is not bundled yet; using '{stand_in}' instead"
    return name, load(name), ""


def _kb(n: int) -> str:
    return f"{n / 1024:,.0f} KiB"


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def field_recipe(events: Iterable[Any], names: set[str]) -> list[tuple[str, ...]]:
    """Per event, the Faker providers a naive emulator would call: one per generated value."""
    recipe = []
    for event in events:
        kinds: list[str] = []
        stack = [event.body]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, bool):
                continue
            elif isinstance(value, int) and value > 10**12:
                kinds.append("unix_time")
            elif isinstance(value, str):
                if _UUID.match(value):
                    kinds.append("uuid4")
                elif _ISO.match(value):
                    kinds.append("iso8601")
                elif _IPV4.match(value):
                    kinds.append("ipv4_public")
                elif "@" in value:
                    kinds.append("email")
                elif value.startswith(("Mozilla/", "Opera/")):
                    kinds.append("user_agent")
                elif value in names:
                    kinds.append("first_name")
        recipe.append(tuple(kinds))
    return recipe


def per_field_loop(fake: Faker, recipe: list[tuple[str, ...]], events: int, clock: Clock) -> float:
    """Seconds for the naive loop over the vendor's own fields: one Faker call per generated value."""
    calls = [[getattr(fake, kind) for kind in kinds] for kinds in recipe]
    gc.collect()
    start = clock()
    for i in range(events):
        record = [call() for call in calls[i % len(calls)]]
        del record
    return clock() - start


def actor_names(scenario: Scenario) -> set[str]:
    names: set[str] = set()
    for actor in Player(scenario, SEED).actors.values():
        names.update(str(actor[k]) for k in ("first_name", "last_name", "full_name", "username") if actor.get(k))
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events per render (default 100,000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, median reported (default 3)")
    parser.add_argument(
        "--vendor",
        action="append",
        default=None,
        help="vendor to render, repeatable (default: all registered)",
    )
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO, help="bundled scenario name or file (default tour)")
    parser.add_argument("--quick", action="store_true", help="10,000 events, 1 round: a smoke run")
    parser.add_argument(
        "--budget",
        type=float,
        default=120.0,
        help="seconds the whole run may take; later rounds are dropped (never events) to stay within it; "
        "0 for no limit (default 120)",
    )
    parser.add_argument(
        "--wall",
        action="store_true",
        help="time with the wall clock instead of the process's CPU time (which other load on a shared "
        "machine disturbs less)",
    )
    parser.add_argument(
        "--memory",
        default=None,
        metavar="VENDOR|all|none",
        help="whose streamed render to trace for memory (default: the first vendor rendered; tracing is slow)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.rounds = 10_000, 1
    events_wanted = max(10, args.events)
    rounds = max(1, args.rounds)
    began = time.perf_counter()
    clock: Clock = time.perf_counter if args.wall else time.process_time

    registry = Registry()
    wanted = args.vendor or registry.names  # the registry owns the list: a new vendor is benchmarked too
    vendors = [v for v in wanted if v in registry.names]
    missing = [v for v in wanted if v not in registry.names]
    try:
        label, scenario, note = choose_scenario(args.scenario)
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    print(f"render benchmark: {label}, >= {events_wanted:,} events per render, seed {SEED}")
    print(f"events per second of {'wall-clock' if args.wall else 'CPU'} time")
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    if note:
        print(f"note: {note}")
    if missing:
        print(f"note: not in the registry yet, skipped: {', '.join(missing)}")

    subjects: list[Subject] = []
    names = actor_names(scenario)
    for vendor in vendors:
        try:
            # Two passes: the second one shows what repeating does (state carries over), and
            # rendering them compiles and caches the vendor's templates outside the timed runs.
            two = repeated(scenario, 2)
            seqs = [e.seq for e in render_events(two, vendor, SEED, registry=registry)]
        except EmulatorError as exc:
            print(f"note: {vendor} cannot render {label} yet, skipped: {exc}")
            continue
        occurrences = _occurrences_per_pass(scenario)
        first = sum(1 for q in seqs if q <= occurrences)
        per_pass = min(first, len(seqs) - first)
        if per_pass == 0:
            print(f"note: {label} gives no {vendor} events, skipped")
            continue
        passes = math.ceil(events_wanted / per_pass)
        subject = Subject(vendor, repeated(scenario, passes), per_pass, passes)
        subject.recipe = field_recipe(render_events(scenario, vendor, SEED, registry=registry), names)
        subjects.append(subject)
    if not subjects:
        print("nothing to render")
        return 0
    if args.memory == "none":
        traced: list[Subject] = []
    elif args.memory == "all":
        traced = subjects
    else:
        traced = [s for s in subjects if s.vendor == (args.memory or subjects[0].vendor)]
        if not traced:
            print(f"note: --memory {args.memory} is not among the rendered vendors; memory not measured")

    fake = Faker("en_US")
    fake.seed_instance(SEED)
    faker_loop(fake, 200, clock)  # warm Faker's providers up
    # the collector as ``render`` sets it once loaded; one process, so the Faker loop runs under it too
    with streaming():
        baseline: list[float] = []

        done = 0
        while done < rounds:
            round_start = time.perf_counter()
            baseline.append(events_wanted / faker_loop(fake, events_wanted, clock))
            for subject in subjects:
                subject.baseline.append(events_wanted / per_field_loop(fake, subject.recipe, events_wanted, clock))
                count, size, seconds, wall = render_once(subject, registry, clock)
                subject.rates.append(count / seconds)
                subject.seconds.append(wall)
                subject.events, subject.bytes = count, size
            done += 1
            took = time.perf_counter() - round_start
            rates = " | ".join(
                f"{s.vendor} {s.rates[-1]:,.0f} (its Faker loop {s.baseline[-1]:,.0f})" for s in subjects
            )
            print(f"  round {done}: fixed Faker loop {baseline[-1]:,.0f} ev/s | {rates} ({took:.1f}s)")
            spent = time.perf_counter() - began
            # Tracing memory makes a render about four times slower.
            reserve = sum(TRACE_COST * s.seconds[-1] for s in traced)
            if done < rounds and args.budget and spent + took + reserve > args.budget:
                print(f"  stopping after {done} of {rounds} rounds to stay within --budget {args.budget:.0f}s")
                break

        base = statistics.median(baseline)
        print()
        print(f"median of {done} round{'s' if done != 1 else ''} (events per second):")
        width = max(len(s.vendor) for s in subjects)
        verdicts = []
        for subject in subjects:
            rate = statistics.median(subject.rates)
            own = statistics.median(subject.baseline)
            ratio = rate / base
            verdict = "PASS" if ratio >= TARGET else "BELOW TARGET"
            verdicts.append(verdict)
            fields = sum(len(k) for k in subject.recipe) / len(subject.recipe)
            print(
                f"render {label} x {subject.vendor:<{width}}: {rate:>9,.0f} ev/s | bare Faker loop: {base:>9,.0f} ev/s"
                f" | ratio {ratio:4.1f}x (target >= {TARGET:g}x) {verdict}"
                f" | per-field loop ({fields:.1f} calls/event) {own:>8,.0f} ev/s, ratio {rate / own:4.1f}x"
                f"   [{subject.events:,} events, {subject.bytes // subject.events:,} B/event]"
            )

        if traced:
            mark = events_wanted // 10
            print()
            print(f"memory, streamed render (tracemalloc peak after {mark:,} events vs after all of them):")
            for subject in traced:
                early, late, count = memory(subject, registry, mark)
                growth = late / early if early else float("inf")
                flat = "flat" if growth <= FLAT_FACTOR else "GROWS"
                print(
                    f"render {label} x {subject.vendor:<{width}}: {_kb(early):>10} at {mark:,} | "
                    f"{_kb(late):>10} at {count:,} | ratio {growth:.2f}x ({flat}; 10x would mean it grows per event)"
                )

    overall = "PASS" if all(v == "PASS" for v in verdicts) else "BELOW TARGET"
    print()
    took = time.perf_counter() - began
    print(f"overall: {overall} (target: render >= {TARGET:g}x the bare Faker loop); took {took:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
