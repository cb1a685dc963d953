"""Durations as people write them in scenarios: ``500ms``, ``2s``, ``5m``, ``1h30m``, ``1d``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
MAX_SECONDS = 100 * 365 * 86400
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")


def parse_duration(text: str | int | float) -> timedelta:
    """Parse a duration; raise ValueError with a message fit for the user.

    A bare number means seconds, like ``sleep``.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as '500ms', '2s' or '1h', got {text!r}")
    if isinstance(text, int | float):
        if text != text:  # NaN
            raise ValueError("a duration must be a number of seconds, got NaN")
        if text < 0:
            raise ValueError(f"a duration cannot be negative (got {text})")
        return _bounded(float(text), text)
    s = str(text).strip().replace(" ", "")
    if s.startswith("-"):
        raise ValueError(f"a duration cannot be negative (got {text!r})")
    if not _WHOLE.fullmatch(s):
        raise ValueError(f"expected a duration such as '500ms', '2s', '5m' or '1h30m', got {text!r}")
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(s))
    return _bounded(seconds, text)


def _bounded(seconds: float, text: object) -> timedelta:
    if seconds > MAX_SECONDS:
        raise ValueError(f"a duration can be at most 100 years, got {text!r}")
    return timedelta(seconds=seconds)
