"""What a load test's users play: one scenario, one target, a vendor or a weighted mix of them.

Each Locust user is numbered by the worker that runs it (the index Locust's master gives each
worker, 0 without one) and by the order its worker starts it. The seed and those two numbers make
the user's own seed and tag (``user_seed``, ``user_tag``): its people, its event ids and its vendor
come from them, so no two users anywhere share a person or an event id, and the same seed, start
and worker count send the same events again. A user plays its scenario over and over with the same
people (their story goes on: sessions, tokens, lockouts), each event once, in order.

Nothing here imports Locust: the ``load`` command checks its flags with it before Locust starts,
and tests re-derive what each user sent from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from emulator.delivery.commands import seed_and_start
from emulator.delivery.flags import target_spec, url_name
from emulator.delivery.targets import Target, build_target
from emulator.errors import Problem
from emulator.render import load, render_events
from emulator.scenario.model import Repeat, Scenario
from emulator.vendors.dialect import Event
from emulator.vendors.registry import Registry

VENDOR_HELP = (
    "whose events; repeat it with weights for a mix (--vendor keycloak:3 --vendor fusionauth); a release: keycloak@26.1"
)
SCENARIO_HELP = "the scenario every user plays: a bundled scenario's name (see 'list'), or a file"
PLAYS = 10**15  # a user's scenario, played again and again: more than any load test lasts


@dataclass(frozen=True)
class Mix:
    """Vendors and their weights: a user's vendor is drawn from these, by its own seed."""

    vendors: tuple[str, ...]
    weights: tuple[float, ...]

    def pick(self, seed: int) -> str:
        if len(self.vendors) == 1:
            return self.vendors[0]
        return random.Random(f"{seed}:vendor").choices(self.vendors, self.weights)[0]


def parse_mix(values: list[str]) -> Mix:
    """``--vendor`` values: ``keycloak``, ``fusionauth:3``, ``keycloak@26.1:2`` (the weight after a colon)."""
    if not values:
        raise Problem("no vendor: pass --vendor V (repeat it with weights for a mix: --vendor keycloak:3)")
    vendors: list[str] = []
    weights: list[float] = []
    for raw in values:
        name, _, weight = raw.strip().rpartition(":") if ":" in raw else (raw.strip(), "", "1")
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if not name or not value > 0 or value == float("inf"):
            raise Problem(f"--vendor {raw!r}: expected a vendor and an optional weight above 0, such as keycloak:3")
        if name in vendors:
            raise Problem(f"--vendor {raw!r}: {name} is named twice")
        vendors.append(name)
        weights.append(value)
    return Mix(tuple(vendors), tuple(weights))


@dataclass(frozen=True)
class LoadPlan:
    """Everything a user needs, built once per process from the options."""

    scenario: Scenario  # played again and again (see ``PLAYS``)
    registry: Registry
    mix: Mix
    targets: dict[str, Target]  # by vendor: the same URL, each vendor's signing and headers
    seed: int
    start: datetime

    def warm(self) -> None:
        """Compile each vendor's templates and make a first person now, not in the first users' time."""
        for vendor in self.mix.vendors:
            next(render_events(self.scenario, vendor, 0, self.start, self.registry, tag="warm"), None)

    def user_seed(self, worker: int, user: int) -> int:
        return user_seed(self.seed, worker, user)

    def vendor(self, worker: int, user: int) -> str:
        return self.mix.pick(self.user_seed(worker, user))

    def events(self, worker: int, user: int) -> Iterator[Event]:
        """The events user ``user`` of worker ``worker`` sends, in order, without end."""
        vendor = self.vendor(worker, user)
        seed = self.user_seed(worker, user)
        return render_events(self.scenario, vendor, seed, self.start, self.registry, tag=user_tag(worker, user))


def user_seed(seed: int, worker: int, user: int) -> int:
    """A user's own seed: a hash of the load test's seed, its worker's index and its number."""
    digest = hashlib.sha256(f"{seed}/{worker}/{user}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def user_tag(worker: int, user: int) -> str:
    """What joins a user's people's usernames and emails (``john.smith.w0u17``)."""
    return f"w{worker}u{user}"


def endless(scenario: Scenario) -> Scenario:
    """The scenario as one user plays it: its steps again and again, the same people throughout."""
    where = scenario.steps[0].location if scenario.steps else None
    if where is None:
        raise Problem(f"scenario {scenario.name!r} has no steps to play")
    return dataclasses.replace(scenario, steps=[Repeat(PLAYS, None, list(scenario.steps), where)])


def build_plan(options: argparse.Namespace, url: str, registry: Registry | None = None) -> LoadPlan:
    """The plan from ``--scenario``/the command's scenario, ``--vendor``, the target flags and the
    seed flags (``url``: the target, Locust's host). A mistake raises an ``EmulatorError``.
    ``registry``: one built before with the same ``--templates`` (its compiled templates are kept)."""
    if not url:
        raise Problem("no target: pass --target URL (Locust: --host URL)")
    scenario_ref = getattr(options, "scenario", None)
    if not scenario_ref:
        raise Problem("no scenario: pass --scenario NAME|FILE (a bundled scenario's name, or a file)")
    templates = [str(t) for t in getattr(options, "templates", None) or []]
    if registry is None or registry.template_dirs != [Path(t).resolve() for t in templates]:
        registry = Registry(templates)
    mix = parse_mix(list(options.vendor or []))
    name = url_name(url)
    targets: dict[str, Target] = {}
    for vendor in mix.vendors:
        registry.vendor(vendor)  # an unknown vendor, said before anything else
        targets[vendor] = build_target(target_spec(options, name, url), registry, vendor)
    scenario = endless(load(scenario_ref))
    seed, start = seed_and_start(options)  # the load command passes both: every process plays the same
    return LoadPlan(scenario, registry, mix, targets, int(seed), start)


def describe(plan: LoadPlan) -> dict[str, Any]:
    """The plan in words, for the summary."""
    return {
        "scenario": plan.scenario.name,
        "vendors": dict(zip(plan.mix.vendors, plan.mix.weights, strict=True)),
        "seed": plan.seed,
        "start": plan.start.isoformat().replace("+00:00", "Z"),
    }
