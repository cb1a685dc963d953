"""An occurrence: one performed action with everything resolved (who, when, how, outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulator.errors import Location


@dataclass(slots=True)
class Occurrence:
    """What happened, in vendor-neutral words; vendors turn it into their events.

    ``context`` holds what templates may read (actor, client, session, tokens, params, ...):
    plain dicts and strings, so a sandboxed template can read them and nothing else.
    """

    action: str
    time: datetime
    error: str | None
    context: dict[str, Any]
    location: Location
    seq: int
    offsets_ms: tuple[int, ...] = field(default=())
