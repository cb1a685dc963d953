"""The scenario clock: virtual by default, so ``wait: 2h`` costs nothing but moves timestamps."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

FIXED_START = datetime(2026, 1, 1, tzinfo=UTC)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # leaves room for long waits before year 9999


class VirtualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self.now = start.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def advance_to(self, moment: datetime) -> None:
        if moment > self.now:
            self.now = moment


def parse_start(text: str) -> datetime:
    """Parse ``--start``: ISO 8601 (``Z`` allowed) or ``now``; naive times are UTC."""
    if text.strip().lower() == "now":
        return datetime.now(UTC).replace(microsecond=0)
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None
    if not EARLIEST <= value <= LATEST:
        raise ValueError("out of range")
    return value


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)  # made once: a later event of an action is so many after the first
_AGO = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")
_LEAP_SECOND = re.compile(r"(T\d\d:\d\d):60")


def parse_since(text: str) -> int:
    """A moment in ms: ISO 8601 (naive is UTC; a leap second counts as :59), ``now``, or a
    duration meaning that long ago (``1h``, ``30m``)."""
    from emulator.scenario.durations import parse_duration

    text = text.strip()
    if _AGO.fullmatch(text):
        return epoch_ms(datetime.now(UTC) - parse_duration(text))
    if text.lower() == "now":
        return epoch_ms(datetime.now(UTC))
    try:
        moment = datetime.fromisoformat(_LEAP_SECOND.sub(r"\1:59", text.upper().replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f"expected an ISO 8601 time such as 2026-01-01T00:00:00Z or a duration ago such as 1h, got {text!r}"
        ) from None
    return epoch_ms(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since 1970, exactly (no float rounding): ``(moment - EPOCH) // MILLISECOND``,
    from the difference's parts (dividing one timedelta by another costs twice as much, and every
    event asks)."""
    since = moment - EPOCH
    return (since.days * 86_400 + since.seconds) * 1000 + since.microseconds // 1000


def iso_utc(moment: datetime, ms: bool = True) -> str:
    """ISO 8601 in UTC with a ``Z``, the way vendors write it."""
    if moment.tzinfo is UTC:  # the scenario clock's own times: no conversion needed
        text = moment.isoformat(timespec="milliseconds" if ms else "seconds")
        return text[:-6] + "Z"
    moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds" if ms else "seconds") + "Z"


_EPOCH_DAY = date(1970, 1, 1).toordinal()
_TWO = tuple(f"{n:02d}" for n in range(100))
_MILLIS = tuple(f".{n:03d}Z" for n in range(1000))


@lru_cache(maxsize=1024)
def _day(days: int) -> str:
    return date.fromordinal(_EPOCH_DAY + days).isoformat() + "T"


def iso_of_ms(ms: int) -> str:
    """``iso_utc`` of the moment ``ms`` milliseconds after 1970 (before it when negative), from the
    integer alone: every event's time is written so, and formatting a datetime cost four times as
    much. Exact for every millisecond of the years 1 to 9999."""
    seconds, millis = divmod(ms, 1000)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_day(days)}{_TWO[hours]}:{_TWO[minutes]}:{_TWO[seconds]}{_MILLIS[millis]}"
