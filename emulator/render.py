"""Scenario -> occurrences -> one vendor's events: the first half of the flow, as a stream."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from emulator.play.player import Player
from emulator.scenario.bundled import resolve_scenario
from emulator.scenario.loader import load_scenario_file
from emulator.scenario.model import Scenario
from emulator.vendors.dialect import Dialect, Event
from emulator.vendors.registry import Registry


def load(ref: str | Path) -> Scenario:
    """A scenario from a file path or a bundled scenario's name."""
    return load_scenario_file(resolve_scenario(str(ref)))


def render_events(
    scenario: Scenario,
    vendor: str,
    seed: int,
    start: datetime | None = None,
    registry: Registry | None = None,
) -> Iterator[Event]:
    """Play ``scenario`` and yield the vendor's events in order (lazily: memory stays flat)."""
    registry = registry or Registry()
    dialect = Dialect(registry.vendor(vendor), seed, scenario.name)
    for occurrence in Player(scenario, seed, start, vendor=dialect.vendor.name).occurrences():
        yield from dialect.events(occurrence)


def render_all(
    scenario: Scenario,
    vendors: Iterable[str],
    seed: int,
    start: datetime | None = None,
    registry: Registry | None = None,
) -> dict[str, list[Event]]:
    """Every vendor's events for one scenario (for tests and the catalog's examples)."""
    registry = registry or Registry()
    return {v: list(render_events(scenario, v, seed, start, registry)) for v in vendors}
