"""Scenario -> occurrences -> one vendor's events: the first half of the flow, as a stream."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import chain
from pathlib import Path

from emulator.overrides import Override, apply_all, check_types
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
    overrides: Sequence[Override] = (),
    tag: str = "",
) -> Iterator[Event]:
    """Play ``scenario`` and yield the vendor's events in order (lazily: memory stays flat),
    each changed by the ``overrides`` that want its type; ``tag`` makes the play's people its own
    (one of a load test's users)."""
    registry = registry or Registry()
    dialect = Dialect(registry.vendor(vendor), seed, scenario.name)
    if overrides:
        check_overrides(overrides, [vendor], registry)
        yield from apply_all(_events(scenario, dialect, seed, start, tag), overrides)
    else:
        yield from _events(scenario, dialect, seed, start, tag)


def _events(scenario: Scenario, dialect: Dialect, seed: int, start: datetime | None, tag: str = "") -> Iterator[Event]:
    player = Player(
        scenario, seed, start, vendor=dialect.vendor.name, tag=tag, wants=dialect.emits, reads=dialect.reads
    )
    for occurrence in player.occurrences():
        yield from dialect.events(occurrence)


def check_overrides(overrides: Sequence[Override], vendors: Sequence[str], registry: Registry) -> None:
    """Refuse a type filter that names no event type of these vendors (before anything is rendered)."""
    known = [t for v in vendors for t in (*registry.vendor(v).event_types(), *registry.vendor(v).catalog.raw_types)]
    check_types(overrides, known, " and ".join(dict.fromkeys(vendors)))


def dry_run(
    scenario: Scenario,
    vendors: Sequence[str],
    seed: int,
    start: datetime | None,
    registry: Registry,
    overrides: Sequence[Override],
) -> None:
    """Render the run once without keeping anything, so an override that matches nothing is refused
    before the first event is stored or sent (only when there are overrides: rendering is cheap,
    delivering is not)."""
    if not overrides:
        return
    check_overrides(overrides, vendors, registry)
    streams = (
        _events(scenario, Dialect(registry.vendor(v), seed, scenario.name), seed, start) for v in dict.fromkeys(vendors)
    )
    for _ in apply_all(chain.from_iterable(streams), overrides):
        pass


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
