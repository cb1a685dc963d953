"""The outcomes of a sign-in a developer may choose, read from ``outcomes.yaml`` (the one list of them).

Each outcome is a scenario action with its parameters (a ``required_action``, an ``sso_login`` through
an upstream provider, a ``login`` that fails with a neutral error code), so the live IdP plays it as a
scenario step would and every vendor's dialect turns it into that vendor's events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

CHOSEN = "chosen"  # an outcome whose error code is picked on the page
DEFAULT_UPSTREAM = "google"  # the upstream provider's alias when none is given (sso_login's default)


@dataclass(frozen=True)
class Outcome:
    name: str
    label: str
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    back: str | None = None  # the error the app gets back instead of a code
    upstream: bool = False

    def played(self, chosen: str | None, upstream: str | None) -> tuple[str, dict[str, Any], str | None]:
        """(action, params, error) for this outcome, given the page's error code and upstream alias."""
        params = dict(self.params)
        if self.upstream:
            params["provider"] = upstream or DEFAULT_UPSTREAM
        return self.action, params, (chosen or "invalid_request") if self.error == CHOSEN else self.error


@cache
def outcomes() -> dict[str, Outcome]:
    """Every outcome by name, in the page's order."""
    import yaml

    raw = yaml.safe_load(Path(__file__).with_name("outcomes.yaml").read_text("utf-8"))
    return {name: Outcome(name, **spec) for name, spec in raw.items()}
