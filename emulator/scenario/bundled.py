"""Bundled scenarios: ``scenarios/*.yaml``, shipped inside the wheel as ``emulator/scenarios``."""

from __future__ import annotations

import re
from pathlib import Path

from emulator.errors import Problem, UnknownNameError

_PACKAGE = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def scenarios_dir() -> Path:
    """The folder of bundled scenarios (inside the package when installed, else the checkout's)."""
    inside = _PACKAGE / "scenarios"
    return inside if inside.is_dir() else _PACKAGE.parent / "scenarios"


def bundled_names() -> list[str]:
    return sorted(p.stem for p in scenarios_dir().glob("*.yaml"))


def resolve_scenario(ref: str) -> Path:
    """A path to a YAML file, or the name of a bundled scenario."""
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or path.exists() or "/" in ref or "\\" in ref:
        if not path.is_file():
            raise Problem(f"{ref}: no such scenario file")
        return path
    if not _NAME.match(ref):
        raise Problem(f"{ref!r} is neither a scenario file nor a bundled scenario name")
    candidate = scenarios_dir() / f"{ref}.yaml"
    if not candidate.is_file():
        raise UnknownNameError("scenario", ref, bundled_names())
    return candidate
