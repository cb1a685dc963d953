"""``idp-emulator load``: Locust, headless, on this machine, with the emulator's users.

It checks everything it is given first (scenario, vendors, signing, faults), then starts one Locust
master with K worker processes (Locust's ``--processes``) running ``emulator/load/locustfile.py``,
stops it once users have run for the duration (counted from when every user runs), and prints
Locust's summary and then the emulator's (``tally.py``). Locust is an optional dependency: without
it the command says how to install it. The secret travels to Locust in its environment, never on
a command line others can read.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from emulator.delivery.commands import seed_and_start
from emulator.delivery.flags import SECRET_ENV, add_seed_flags, add_target_flags, as_argv
from emulator.errors import Problem
from emulator.load.plan import SCENARIO_HELP, VENDOR_HELP, build_plan
from emulator.load.tally import summary_table
from emulator.scenario.durations import parse_duration

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
INSTALL = "pip install 'idp-emulator[load]'"
MAX_WORKERS = 256
BACKSTOP = 300  # seconds past the duration after which Locust's own --run-time stops a test that hangs


def add_options(load: argparse.ArgumentParser) -> None:
    load.add_argument("scenario", help=SCENARIO_HELP)
    load.add_argument("--vendor", action="append", default=[], metavar="V[:WEIGHT]", help=VENDOR_HELP)
    load.add_argument("--target", default=None, metavar="URL", help="the consumer's webhook URL (Locust's host)")
    add_target_flags(load)
    add_seed_flags(load)
    load.add_argument("--users", type=int, default=10, metavar="N", help="Locust users, each one play (default 10)")
    load.add_argument("--spawn-rate", type=float, default=None, metavar="R", help="users started a second (default N)")
    load.add_argument("--duration", default="10s", metavar="T", help="how long the load lasts: 30s, 5m (default 10s)")
    load.add_argument("--workers", type=int, default=1, metavar="K", help="Locust worker processes (default 1)")
    load.add_argument("--json", action="store_true", help="print the emulator's summary as one JSON object")
    load.add_argument("--templates", action="append", default=[], metavar="DIR")


def load_command(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("locust") is None:
        raise Problem(f"`idp-emulator load` runs Locust, which is not installed here: {INSTALL}")
    if not args.target:
        raise Problem("no target: pass --target URL (the consumer's webhook URL)")
    seed, start = seed_and_start(args)
    args.seed, args.start = seed, start.isoformat().replace("+00:00", "Z")  # every process plays the same
    build_plan(args, args.target)  # every mistake said here, before Locust starts
    seconds = _seconds(args.duration)
    if not 1 <= args.users <= 1_000_000:
        raise Problem(f"--users: a whole number from 1 to 1000000, got {args.users}")
    rate = args.users if args.spawn_rate is None else args.spawn_rate
    if not 0 < rate <= 1_000_000:
        raise Problem(f"--spawn-rate: users a second, above 0, got {rate:g}")
    if not 1 <= args.workers <= MAX_WORKERS:
        raise Problem(f"--workers: a whole number from 1 to {MAX_WORKERS}, got {args.workers}")
    with tempfile.TemporaryDirectory(prefix="idp-emulator-load-") as folder:
        path = Path(folder) / "summary.json"
        port = _free_port()
        argv = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
            "--host", args.target, "--users", str(args.users), "--spawn-rate", f"{rate:g}",
            "--load-duration", f"{seconds:g}s", "--run-time", f"{seconds + BACKSTOP:g}s",
            "--processes", str(args.workers),
            "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--master-port", str(port),
            "--load-summary", str(path), "--scenario", str(args.scenario),
            *(f"--vendor={v}" for v in args.vendor), *(f"--templates={t}" for t in args.templates), *as_argv(args),
        ]  # fmt: skip
        env = dict(os.environ)
        if args.secret:
            env[SECRET_ENV] = args.secret
        code = _run(argv, env, sys.stderr if args.json else None)
        if not path.exists():
            raise Problem(f"Locust stopped (exit status {code}) before the load test's summary; its messages say why")
        data = json.loads(path.read_text("utf-8"))
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        sys.stdout.write("\n" + summary_table(data))
    return 0 if data["ok"] else 1


def _run(argv: list[str], env: dict[str, str], stdout: object) -> int:
    """Locust until it stops by itself; a Ctrl-C stops it as it stops Locust (with its summary)."""
    sys.stdout.flush()
    with subprocess.Popen(argv, env=env, stdout=stdout) as proc:  # type: ignore[call-overload]
        try:
            return int(proc.wait())
        except KeyboardInterrupt:
            return int(proc.wait())


def _seconds(text: str) -> float:
    try:
        seconds = parse_duration(text).total_seconds()
    except ValueError as exc:
        raise Problem(f"--duration: {exc}") from None
    if not seconds >= 1:
        raise Problem(f"--duration: at least 1s, got {text!r}")
    return seconds


def _free_port() -> int:
    """A port for the master's workers to reach it on (loopback only)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
