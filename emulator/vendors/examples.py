"""One example event per event type: what the catalog shows and what a target's test sends.

Examples come from playing the bundled ``tour`` scenario (every event type of every vendor at
least once) at a fixed seed, so they are real renderings of the vendor's templates, errors
included. A type the tour does not reach (a user's vendor, a raw type) is rendered on its own
with an ``emit`` step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from emulator.render import load, render_events
from emulator.scenario.loader import load_scenario_text
from emulator.scenario.single import single_action
from emulator.vendors.dialect import Event
from emulator.vendors.registry import Registry, Vendor

SEED = 1
START = datetime(2026, 1, 1, tzinfo=UTC)
_CACHE: WeakKeyDictionary[Vendor, dict[str, Event]] = WeakKeyDictionary()


def examples(registry: Registry, vendor: str) -> dict[str, Event]:
    """Every event type of ``vendor`` with an example event, in catalog order (rendered once, then kept)."""
    dialect = registry.vendor(vendor)
    cached = _CACHE.get(dialect)
    if cached is not None:
        return cached
    catalog = dialect.catalog
    found: dict[str, Event] = {}
    for event in render_events(load("tour"), vendor, SEED, START, registry):
        found.setdefault(event.type, event)
    out: dict[str, Event] = {}
    for event_type in [*dialect.event_types(), *catalog.raw_types]:
        made = found.get(event_type) or _emitted(registry, vendor, event_type)
        if made is not None:
            out[event_type] = made
    _CACHE[dialect] = out
    return out


def example(registry: Registry, vendor: str, event_type: str) -> Event | None:
    """An example of one event type, or None when the vendor has no such type."""
    return examples(registry, vendor).get(event_type)


def _emitted(registry: Registry, vendor: str, event_type: str) -> Event | None:
    text = single_action("emit", {"vendor": vendor, "type": event_type})
    scenario = load_scenario_text(text, f"example {vendor} {event_type}")
    return next(iter(render_events(scenario, vendor, SEED, START, registry)), None)
