"""The ``run``, ``resume`` and ``resend`` commands: flags and config in, summary and exit status out."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from emulator.collector import streaming
from emulator.delivery.config import Config, load_config
from emulator.delivery.dispatcher import Dispatcher
from emulator.delivery.flags import secret, target_spec, url_name
from emulator.delivery.http import proxy_for
from emulator.delivery.report import progress, summary_table
from emulator.delivery.runner import Summary, deliver_run, resume
from emulator.delivery.targets import Target, build_target
from emulator.errors import Problem
from emulator.overrides import parse_overrides
from emulator.play.clock import parse_since, parse_start
from emulator.render import load
from emulator.scenario.model import MAX_ACTIONS, check_size
from emulator.store import Store
from emulator.store.schema import DEFAULT_DB
from emulator.vendors.registry import Registry


def run_command(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else None
    registry = Registry([*args.templates, *(config.templates if config else [])])
    if args.vendor:
        registry.vendor(args.vendor)
    targets = command_targets(args, registry, config)
    scenario = load(args.scenario)
    max_actions = args.max_actions or (config.max_actions if config and config.max_actions else MAX_ACTIONS)
    check_size(scenario, max_actions)
    seed, start = seed_and_start(args)
    overrides = parse_overrides(args.sets, args.unsets)
    time_scale = _time_scale(args, config)
    for target in targets:
        if target.notice:
            print(f"target {target.name!r}: {target.notice}", file=sys.stderr)
        proxy = proxy_for(target.url)  # a proxy variable that cannot be used stops the run here, not per attempt
        if proxy is not None:
            print(f"target {target.name!r}: through the proxy {proxy.label} ({proxy.variable})", file=sys.stderr)
    title = f"{scenario.name} (seed {seed})"

    def play(store: Store, watch: Callable[[Dispatcher], None]) -> Awaitable[Summary]:
        transaction = args.transaction or (config.transaction if config else None)
        return deliver_run(
            scenario, targets, store, seed, start, time_scale, args.pace, registry, watch=watch,
            transaction=transaction, max_actions=max_actions, overrides=overrides,
        )  # fmt: skip

    return _execute(args, config, lambda store, watch: _one(play(store, watch)), title)


def resume_command(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else None
    registry = Registry([*args.templates, *(config.templates if config else [])])
    time_scale = _time_scale(args, config)

    def work(store: Store, watch: Callable[[Dispatcher], None]) -> Awaitable[list[Summary]]:
        return resume(store, registry, config, secret(args), time_scale, args.run, watch)

    return _execute(args, config, work, "resumed", empty="nothing pending")


def resend_command(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else None
    since = None
    if args.since is not None:
        try:
            since = parse_since(args.since)
        except ValueError as exc:
            raise Problem(f"--since: {exc}") from None
    with _open_store(args, config) as store:
        count = store.requeue_failed(args.run, args.deliveries, since, args.target)
    print(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again", file=sys.stderr)
    return resume_command(args)


async def _one(work: Awaitable[Summary]) -> list[Summary]:
    return [await work]


def _execute(
    args: argparse.Namespace,
    config: Config | None,
    work: Callable[[Store, Callable[[Dispatcher], None]], Awaitable[list[Summary]]],
    title: str,
    empty: str = "",
) -> int:
    box: list[Dispatcher] = []

    def watch(dispatcher: Dispatcher) -> None:
        box[:] = [dispatcher]

    async def main(store: Store) -> list[Summary]:
        async with progress(box, sys.stderr, sys.stderr.isatty() and not args.json):
            return await work(store, watch)

    # the collector as a stream sets it: what the command loaded (registry, scenario) is left out of
    # every collection, young ones are rare (a run makes a few short-lived objects per delivery);
    # nothing is collected first, so the run starts at once
    with _open_store(args, config) as store, streaming(collect=False):
        try:
            summaries = asyncio.run(main(store))
        except KeyboardInterrupt:
            print(
                f"interrupted: what was not delivered stays pending; `idp-emulator resume --db {store.path}` goes on",
                file=sys.stderr,
            )
            return 130
    if args.json:
        data: Any = summaries[0].as_dict() if len(summaries) == 1 else _totals(summaries)
        print(json.dumps(data, ensure_ascii=False))
    elif summaries:
        sys.stdout.write(summary_table(summaries, title))
    elif empty:
        print(empty, file=sys.stderr)
    return 0 if all(s.ok for s in summaries) else 1


def _totals(summaries: list[Summary]) -> dict[str, Any]:
    return {
        "delivered": sum(s.delivered for s in summaries),
        "failed": sum(s.failed for s in summaries),
        "attempts": sum(s.attempts for s in summaries),
        "runs": [s.as_dict() for s in summaries],
    }


class _open_store:
    def __init__(self, args: argparse.Namespace, config: Config | None) -> None:
        self.path = args.db or (config.store if config and config.store else None) or DEFAULT_DB
        self.create = args.command == "run"

    def __enter__(self) -> Store:
        self.store = Store(self.path, create=self.create, background_writes=True)  # one run owns it
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def command_targets(args: argparse.Namespace, registry: Registry, config: Config | None) -> list[Target]:
    """Targets named or given by URL on the command line, or every target of the config."""
    by_name = {t["name"]: i for i, t in enumerate(config.targets)} if config else {}
    targets: list[Target] = []
    if not args.target:
        if not by_name:
            raise Problem("no target: pass --target URL (or --config FILE with targets)")
        chosen: list[str] = list(by_name)
    else:
        chosen = args.target
    used: set[str] = set()
    for value in chosen:
        if value in by_name and config is not None:
            index = by_name[value]
            targets.append(build_target(config.targets[index], registry, args.vendor, config.where(index)))
        elif re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value):
            if not args.vendor:
                raise Problem(f"--target {value}: which vendor's events? pass --vendor")
            targets.append(build_target(_flag_spec(args, value, used), registry, args.vendor))
        else:
            where = f"the targets of {config.file}" if config else "any config (pass --config FILE)"
            raise Problem(f"--target {value!r} is neither a URL (http://...) nor a target name in {where}")
        used.add(targets[-1].name)
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise Problem(f"the same target is named twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    return targets


def _flag_spec(args: argparse.Namespace, url: str, used: set[str]) -> dict[str, Any]:
    spec = target_spec(args, url_name(url, used), url)
    if args.retry:
        spec["retry"] = args.retry
    if args.concurrency is not None:
        spec["concurrency"] = args.concurrency
    if args.ordering:
        spec["ordering"] = args.ordering
    return spec


def _time_scale(args: argparse.Namespace, config: Config | None) -> float:
    value = args.time_scale
    if value is None:
        value = config.time_scale if config and config.time_scale is not None else 1.0
    if not math.isfinite(value) or value < 0 or value > 1_000_000:
        raise Problem(f"--time-scale: expected a number from 0 to 1000000, got {value}")
    return float(value)


def seed_and_start(args: argparse.Namespace) -> tuple[int, Any]:
    seed = args.seed
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
        print(f"seed {seed} (pass --seed {seed} to repeat this run)", file=sys.stderr)
    try:
        start = parse_start(args.start or "now")
    except (ValueError, OverflowError):
        raise Problem(
            f"--start: expected an ISO 8601 time such as 2026-01-01T00:00:00Z or 'now', got {args.start!r}"
        ) from None
    return seed, start
