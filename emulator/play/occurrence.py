"""An occurrence: one performed action with everything resolved (who, when, how, outcome)."""

from __future__ import annotations

from dataclasses import dataclass
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
    gap_bits: int = 0
    faults: tuple[Any, ...] = ()  # the step's delivery faults, passed through untouched
    transaction: str | None = None  # the step's transaction type, passed through untouched

    def offset_ms(self, index: int) -> int:
        """Milliseconds from the first event of this action to its ``index``-th (gaps of 12-139 ms)."""
        bits, total = self.gap_bits, 0
        for _ in range(min(index, 6)):
            total += 12 + (bits & 0x7F)
            bits >>= 7
        return total
