"""A loaded scenario: plain, validated data with the source position of every step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from emulator.errors import Location, Problem


@dataclass(frozen=True)
class ActorSpec:
    """An actor as written: given fields; the rest is made by Faker when the scenario plays."""

    name: str
    fields: dict[str, Any]
    location: Location

    @property
    def kind(self) -> str:
        return str(self.fields.get("kind", "user"))


@dataclass(frozen=True)
class ActionStep:
    """One action with its parameters resolved against the vocabulary's defaults."""

    action: str
    params: dict[str, Any]
    location: Location
    faults: tuple[Any, ...] = ()  # delivery faults for this step's events (checked by the delivery stage)
    transaction: str | None = None  # the step commits only if enough of its webhooks answer 2xx


@dataclass(frozen=True)
class Wait:
    duration: timedelta
    location: Location


@dataclass(frozen=True)
class Repeat:
    """Play ``steps`` ``count`` times, ``every`` apart (start to start when set)."""

    count: int
    every: timedelta | None
    steps: list[Step]
    location: Location


Step = ActionStep | Wait | Repeat


def actions(steps: list[Step]) -> int:
    """How many actions ``steps`` play, repeats multiplied out (computed, never played)."""
    total = 0
    for step in steps:
        if isinstance(step, ActionStep):
            total += 1
        elif isinstance(step, Repeat):
            total += step.count * actions(step.steps)
    return total


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    defaults: dict[str, Any]
    actors: dict[str, ActorSpec]
    steps: list[Step]
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the YAML it was read from (a run keeps it, so a resumed run plays the same story)

    @property
    def size(self) -> int:
        """The actions one play performs (each makes one to a few events, per vendor)."""
        return actions(self.steps)


MAX_ACTIONS = 1_000_000  # actions one run may play (repeats multiplied out); each makes 1 to a few events


def check_size(scenario: Scenario, limit: int = MAX_ACTIONS) -> None:
    """Refuse a run that would never end (``repeat`` 10^6 inside ``repeat`` 10^6) before it starts."""
    size = scenario.size
    if size > limit:
        raise Problem(
            f"scenario {scenario.name!r} plays {size:,} actions (its repeats multiplied out); a run plays at most"
            f" {limit:,}: lower a repeat's count, or raise the limit (run --max-actions, max_actions in"
            " emulator.yaml, serve --max-actions)"
        )
