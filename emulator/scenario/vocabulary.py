"""The scenario vocabulary (``vocabulary.yaml``): actions, parameters, actor fields, error codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = False
    default: Any = None
    values: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class Action:
    name: str
    doc: str
    params: dict[str, Param] = field(default_factory=dict)


@dataclass(frozen=True)
class Vocabulary:
    actions: dict[str, Action]
    actor_fields: dict[str, Param]
    defaults: dict[str, Param]
    errors: dict[str, str]


def _params(raw: dict[str, Any]) -> dict[str, Param]:
    return {
        name: Param(
            name=name,
            type=spec["type"],
            required=bool(spec.get("required", False)),
            default=spec.get("default"),
            values=tuple(spec.get("values", ())),
            doc=spec.get("doc", ""),
        )
        for name, spec in raw.items()
    }


@cache
def locales() -> frozenset[str]:
    """The locales an actor or a scenario may name: Faker's (read when first needed: Faker takes a
    while to import, and a server answers its first request before any scenario plays)."""
    from faker.config import AVAILABLE_LOCALES

    return frozenset(AVAILABLE_LOCALES)


@cache
def vocabulary() -> Vocabulary:
    """The vocabulary shipped with the package (read once)."""
    text = resources.files("emulator.scenario").joinpath("vocabulary.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    common = _params(raw["common"])
    actions = {}
    for name, spec in raw["actions"].items():
        own = _params(spec.get("params") or {})
        params = {**common, **own}
        actions[name] = Action(name=name, doc=spec.get("doc", ""), params=params)
    return Vocabulary(
        actions=actions,
        actor_fields=_params(raw["actor_fields"]),
        defaults=_params(raw["defaults"]),
        errors=dict(raw["errors"]),
    )
