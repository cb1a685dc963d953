"""What a Locust process does for the emulator besides its users: options, the plan, the tallies.

- Options: ``--scenario``, ``--vendor`` and the flags ``run`` shares (``delivery/flags.py``) join
  Locust's command line; each can also come from an ``IDP_EMULATOR_*`` variable. A master passes
  them on to its workers, as Locust passes every option of a locustfile.
- The plan is built where users run, when a test starts (a worker has its master's options only
  then); the master builds it at once too, so a mistake stops Locust before any worker starts.
- When a test stops, the master asks each worker to stop its users (each finishes the request it
  has in flight) and to send its tally; it waits for every answer, then prints the summary after
  Locust's own (``--load-summary FILE`` writes it as JSON instead, for ``idp-emulator load``).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

import gevent
import gevent.event
from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import StatsEntry

from emulator.delivery.flags import ENV_PREFIX, add_seed_flags, add_target_flags
from emulator.errors import EmulatorError
from emulator.load.plan import SCENARIO_HELP, VENDOR_HELP, LoadPlan, build_plan, describe
from emulator.load.tally import PERCENTILES, Tally, summary, summary_table
from emulator.scenario.durations import parse_duration

READY = "idp-emulator:ready"  # worker -> master: templates compiled, people made; users may start
STOP = "idp-emulator:stop"  # master -> workers: stop your users, send your tally
TALLY = "idp-emulator:tally"  # worker -> master: the tally
GRACE = 10.0  # seconds a master waits for tallies beyond the stop timeout
WARM_WAIT = 120.0  # seconds a master waits for its workers to be ready
logger = logging.getLogger("idp-emulator")


@dataclass
class LoadState:
    """One Locust process's part of a load test."""

    environment: Environment
    plan: LoadPlan | None = None
    tally: Tally = field(default_factory=Tally)
    numbers: Iterator[int] = field(default_factory=itertools.count)
    waiting: set[str] = field(default_factory=set)  # workers whose tally the master still waits for
    tallied: gevent.event.Event = field(default_factory=gevent.event.Event)
    ready_workers: set[str] = field(default_factory=set)
    warm: gevent.event.Event = field(default_factory=gevent.event.Event)
    workers: int = 1  # how many sent a tally (a process alone: itself)
    began: float = 0.0  # when users started (wall clock), and when they were told to stop
    ended: float = 0.0
    built_from: tuple[Any, ...] = ()  # the options the plan was built from

    def ready(self) -> LoadPlan:
        if self.plan is None:
            self.build()
        assert self.plan is not None
        return self.plan

    def build(self) -> None:
        """The plan from the options as they are now, unless it was built from the same ones."""
        options = self.environment.parsed_options or argparse.Namespace()
        url = str(self.environment.host or getattr(options, "host", "") or "")
        if self.plan is None and _WARM:
            self.plan, self.built_from = _WARM[0]
        self.plan, self.built_from = _plan(options, url, self.plan, self.built_from)


def _plan(
    options: argparse.Namespace, url: str, plan: LoadPlan | None = None, built_from: tuple[Any, ...] = ()
) -> tuple[LoadPlan, tuple[Any, ...]]:
    """A plan for these options, warmed up: ``plan`` itself if it was built from the same ones."""
    key = (url, *sorted((k, repr(v)) for k, v in vars(options).items() if k in _OWN))
    if plan is not None and key == built_from:
        return plan, key
    began = time.perf_counter()
    fresh = build_plan(options, url, plan.registry if plan is not None else None)
    fresh.warm()
    logger.debug("idp-emulator's plan built in %.3f s", time.perf_counter() - began)
    return fresh, key


_STATES: WeakKeyDictionary[Environment, LoadState] = WeakKeyDictionary()


def state_of(environment: Environment) -> LoadState:
    state = _STATES.get(environment)
    if state is None:
        state = _STATES[environment] = LoadState(environment)
    return state


def worker_index(environment: Environment) -> int:
    """The index Locust's master gave this worker (0 for a process that runs alone)."""
    return int(getattr(environment.runner, "worker_index", 0) or 0)


def add_options(parser: LocustArgumentParser) -> None:
    """The emulator's options on Locust's command line (their names are kept in ``_OWN``)."""
    known = {action.dest for action in parser._actions}
    parser.add_argument(
        "--scenario", default=None, env_var=ENV_PREFIX + "SCENARIO",
        help=SCENARIO_HELP + " (the same path on every machine)",
    )  # fmt: skip
    parser.add_argument(
        "--vendor", action="append", default=[], metavar="V[:WEIGHT]", env_var=ENV_PREFIX + "VENDOR",
        help=VENDOR_HELP,
    )  # fmt: skip
    add_target_flags(parser, ENV_PREFIX, secret_settings={"include_in_web_ui": False})
    add_seed_flags(parser, ENV_PREFIX)
    parser.add_argument(
        "--load-duration", default=None, metavar="T", include_in_web_ui=False,
        help="stop after T (30s, 5m) counted from when every user runs (Locust's --run-time counts from the"
        " start, the workers' warm-up and the ramp included)",
    )  # fmt: skip
    parser.add_argument(
        "--load-summary", default=None, metavar="FILE", include_in_web_ui=False,
        help="write idp-emulator's summary to FILE as JSON instead of printing it",
    )  # fmt: skip
    _OWN.update(action.dest for action in parser._actions if action.dest not in known)
    _warm_before_fork(parser)


_OWN: set[str] = set()  # the destinations of the emulator's options: what the plan is built from
_WARM: list[tuple[LoadPlan, tuple[Any, ...]]] = []  # made before Locust forks its workers (--processes)
_NOT_A_RUN = {"-h", "--help", "-V", "--version", "-l", "--list", "--show-task-ratio", "--show-task-ratio-json"}


def _warm_before_fork(parser: LocustArgumentParser) -> None:
    """Compile templates and make a first person while Locust reads its options: under
    ``--processes`` every worker forked after this shares the work instead of repeating it while
    the test waits. Anything wrong is said later, at ``init``, where Locust can stop on it."""
    if _NOT_A_RUN & set(sys.argv[1:]) or ("--worker" in sys.argv[1:] and "--processes" not in " ".join(sys.argv)):
        return
    with contextlib.suppress(EmulatorError, SystemExit, Exception):
        options, _ = parser.parse_known_args()
        _WARM[:] = [_plan(options, str(getattr(options, "host", "") or ""))]


def on_init(environment: Environment, **_: Any) -> None:
    state = state_of(environment)
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(STOP, lambda msg, **kw: _stop_and_report(environment), concurrent=True)
        # with its own options (the master's, under --processes) a worker compiles and warms up now
        with contextlib.suppress(EmulatorError):
            state.build()
        runner.send_message(READY)
        return
    if isinstance(runner, MasterRunner):
        runner.register_message(READY, lambda msg, **kw: _ready(state, msg.node_id))
        runner.register_message(TALLY, lambda msg, **kw: _count(state, msg.node_id, msg.data))
    try:
        state.build()
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    assert state.plan is not None
    if environment.parsed_options is not None:  # the seed and start it drew go to every worker with its options
        about = describe(state.plan)
        environment.parsed_options.seed, environment.parsed_options.start = about["seed"], about["start"]
    if not environment.stop_timeout:  # a stopping user finishes its request: the consumer's answer counts
        environment.stop_timeout = max(t.total_timeout for t in state.plan.targets.values())
    environment.events.spawning_complete.add_listener(  # type: ignore[no-untyped-call]
        lambda **kw: _on_spawning_complete(environment)
    )
    environment.events.quit.add_listener(lambda **kw: _finish(state))  # type: ignore[no-untyped-call]


def on_test_start(environment: Environment, **_: Any) -> None:
    """A test starts: on a worker, the plan from its master's options (sent with the first users); the
    master sends those only once every worker has said it is ready."""
    state = state_of(environment)
    state.tally.clear()
    state.numbers = itertools.count()
    state.began = 0.0
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        state.warm.clear()
        _ready(state, "")
        if not state.warm.wait(timeout=WARM_WAIT):
            logger.warning("idp-emulator: not every worker said it was ready within %g s; starting", WARM_WAIT)
    try:
        state.build()
    except EmulatorError as exc:  # what the master checked, and this machine lacks (a scenario file)
        logger.error("error: %s", exc)
        sys.exit(1)


def _on_spawning_complete(environment: Environment) -> None:
    """Every user runs: the clock of the summary's rate, and of ``--load-duration``, starts."""
    state = state_of(environment)
    runner = environment.runner
    if runner is None or isinstance(runner, WorkerRunner) or state.began:
        return
    state.began = time.time()
    duration = getattr(environment.parsed_options, "load_duration", None)
    if duration:
        try:
            seconds = parse_duration(duration).total_seconds()
        except ValueError as exc:
            logger.error("error: --load-duration: %s", exc)
            sys.exit(1)
        gevent.spawn_later(seconds, runner.quit)


def on_test_stop(environment: Environment, **_: Any) -> None:
    """On the master: every worker's users stopped and its tally in, before Locust quits."""
    state = state_of(environment)
    state.ended = time.time()
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    state.waiting = {client.id for client in runner.clients.all}
    state.workers = len(state.waiting)
    state.tallied.clear()
    if state.waiting:
        runner.send_message(STOP)
        state.tallied.wait(timeout=environment.stop_timeout + GRACE)


def _ready(state: LoadState, worker: str) -> None:
    if worker:
        state.ready_workers.add(worker)
    runner = state.environment.runner
    if isinstance(runner, MasterRunner) and {c.id for c in runner.clients.all} <= state.ready_workers:
        state.warm.set()


def _stop_and_report(environment: Environment) -> None:
    runner = environment.runner
    if runner is None:
        return
    runner.stop()  # each user finishes the request it has in flight (within the stop timeout)
    runner.send_message(TALLY, state_of(environment).tally.as_dict())


def _count(state: LoadState, worker: str, data: Any) -> None:
    if worker in state.waiting:
        state.waiting.discard(worker)
        state.tally.merge(data)
    if not state.waiting:
        state.tallied.set()


def _finish(state: LoadState) -> None:
    """After Locust's summary: ours, printed or written to ``--load-summary``."""
    environment = state.environment
    if state.plan is None:
        return
    requests = {name: _figures(entry) for (name, _), entry in environment.stats.entries.items()}
    total = _figures(environment.stats.total)
    total["seconds"] = max(0.0, state.ended - state.began) if state.began else None
    about = describe(state.plan)
    about["workers"] = state.workers
    about["missing_workers"] = sorted(state.waiting)
    data = summary(state.tally, requests, total, about)
    path = getattr(environment.parsed_options, "load_summary", None)
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(data, out)
    else:
        sys.stdout.write("\n" + summary_table(data))
        sys.stdout.flush()


def _figures(entry: StatsEntry) -> dict[str, Any]:
    latency = {f"p{round(p * 100)}": entry.get_response_time_percentile(p) for p in PERCENTILES}
    return {"sent": entry.num_requests, "failures": entry.num_failures, "latency_ms": latency}


def register() -> None:
    """Join Locust's events (once per process, when ``emulator.load`` is imported)."""
    events.init_command_line_parser.add_listener(add_options)  # type: ignore[no-untyped-call]
    events.init.add_listener(on_init)  # type: ignore[no-untyped-call]
    events.test_start.add_listener(on_test_start)  # type: ignore[no-untyped-call]
    events.test_stop.add_listener(on_test_stop)  # type: ignore[no-untyped-call]
