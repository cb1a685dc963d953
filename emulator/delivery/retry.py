"""Retry policies: after a failed attempt, wait how long, or stop.

A policy is data (a vendor's catalog, a preset, or a target's own settings). Waits are nominal
scenario time; the sender divides them by the time scale before sleeping, so a two-hour schedule
can play in seconds while the signed timestamps still move by two hours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from emulator.errors import EmulatorError
from emulator.scenario.durations import parse_duration

# Status classes a policy can retry on; "non-2xx" is shorthand for every status class.
CLASSES = ("3xx", "4xx", "429", "5xx", "timeout", "network")
SHORTHANDS = {"non-2xx": ("3xx", "4xx", "429", "5xx"), "any": CLASSES}

# The Standard Webhooks schedule: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
_PRESETS: dict[str, dict[str, Any]] = {
    "standard-webhooks": {
        "schedule": ["5s", "5m", "30m", "2h", "5h", "10h", "10h"],
        "retry_on": ["non-2xx", "timeout", "network"],
    },
    "none": {"attempts": 1},
}


class PolicyError(EmulatorError):
    """A retry setting that makes no sense; the message names the field."""


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong with one attempt, as far as a policy cares."""

    status: int | None = None  # HTTP status, when a response came
    kind: str = ""  # "timeout" or "network" when none came
    retry_after: str | None = None  # the response's Retry-After header, as sent
    abort: bool = False  # the consumer asked to stop (webhook-delivery: abort-message)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try again. ``schedule`` (explicit waits) wins over the exponential settings."""

    name: str = "custom"
    attempts: int = 1  # in all, the first included
    schedule: tuple[float, ...] = ()  # seconds before attempt 2, 3, ...; the last repeats
    initial: float = 1.0
    multiplier: float = 2.0
    max_interval: float = 3600.0
    jitter: float = 0.0  # each wait is multiplied by a draw from [1 - jitter, 1 + jitter]
    max_elapsed: float | None = None  # stop when the waits would add up to more than this
    retry_on: frozenset[str] = frozenset(("5xx", "429", "timeout", "network"))
    honour_retry_after: bool = True  # a receiver's Retry-After lengthens the wait (not every vendor reads it)
    max_retry_after: float = 3600.0
    stop_on_gone: bool = True  # 410 Gone ends the retries (Standard Webhooks); some vendors retry it like any 4xx

    def describe(self) -> str:
        """The policy in words, as ``catalog`` shows it: how often, how far apart, on what."""
        if self.attempts <= 1:
            return "no retries: one attempt"
        if self.schedule and not any(self.schedule):
            spacing = "back to back"
        elif self.schedule:
            waits = ", ".join(_seconds_text(s) for s in self.schedule)
            spacing = f"after {waits}" + (" (the last repeats)" if self.attempts - 1 > len(self.schedule) else "")
        else:
            spacing = f"from {_seconds_text(self.initial)}, x{self.multiplier:g}"
            if self.jitter:
                spacing += f", +/-{self.jitter:.0%}"
            spacing += f", at most {_seconds_text(self.max_interval)} apart"
        if self.max_elapsed is not None:
            spacing += f", {_seconds_text(self.max_elapsed)} in all"
        on = ", ".join(c for c in CLASSES if c in self.retry_on)
        after = "Retry-After honoured" if self.honour_retry_after else "Retry-After ignored"
        return f"up to {self.attempts} attempts in all, {spacing}; retried on: {on}; {after}; 410 Gone stops"

    def retryable(self, failure: Failure) -> bool:
        if failure.abort or (self.stop_on_gone and failure.status == 410):  # the endpoint is gone for good
            return False
        if failure.status is None:
            return failure.kind in self.retry_on
        status = failure.status
        if status == 429:
            return "429" in self.retry_on
        return f"{status // 100}xx" in self.retry_on

    def next_wait(self, attempts: int, elapsed: float, failure: Failure, rng: random.Random) -> float | None:
        """Seconds (scenario time) to wait before the next attempt, or None to stop.

        ``attempts`` is how many attempts were made so far; ``elapsed`` the waits already spent.
        """
        if attempts >= self.attempts or not self.retryable(failure):
            return None
        if self.schedule:
            wait = self.schedule[min(attempts - 1, len(self.schedule) - 1)]
        else:
            wait = min(self.initial * self.multiplier ** (attempts - 1), self.max_interval)
        if self.jitter:
            wait *= 1 + rng.uniform(-self.jitter, self.jitter)
        if self.honour_retry_after and failure.retry_after:
            asked = retry_after_seconds(failure.retry_after)
            if asked is not None:
                wait = max(wait, min(asked, self.max_retry_after))
        if self.max_elapsed is not None and elapsed + wait > self.max_elapsed:
            return None
        return wait


def _seconds_text(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size and (seconds / size == int(seconds / size) or unit == "s"):
            return f"{seconds / size:g} {unit}"
    return f"{seconds * 1000:g} ms"


def retry_after_seconds(value: str, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when unreadable."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(min(int(value[:12]), 10**9))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    import time

    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def preset_names() -> tuple[str, ...]:
    return tuple(_PRESETS)


def preset(name: str) -> dict[str, Any] | None:
    return _PRESETS.get(name)


def _seconds(value: Any, field: str) -> float:
    try:
        return parse_duration(value).total_seconds()
    except ValueError as exc:
        raise PolicyError(f"{field}: {exc}") from None


def policy_from_spec(spec: dict[str, Any], name: str = "custom") -> RetryPolicy:
    """A policy from its written form (a vendor catalog's ``delivery.retry`` or a target's ``retry``)."""
    known = {
        "attempts",
        "schedule",
        "initial",
        "multiplier",
        "max_interval",
        "jitter",
        "max_elapsed",
        "retry_on",
        "retry_after",
        "stop_on_gone",
        "note",
    }
    unknown = sorted(set(spec) - known)
    if unknown:
        raise PolicyError(f"unknown retry setting {unknown[0]!r}; expected some of: {', '.join(sorted(known))}")
    fields: dict[str, Any] = {"name": name}
    schedule = spec.get("schedule")
    if schedule is not None:
        if not isinstance(schedule, list) or not schedule:
            raise PolicyError("schedule: expected a list of waits such as ['5s', '5m', '30m']")
        fields["schedule"] = tuple(_seconds(v, f"schedule[{i}]") for i, v in enumerate(schedule))
    for key in ("initial", "max_interval"):
        if key in spec:
            fields[key] = _seconds(spec[key], key)
    if "max_elapsed" in spec and spec["max_elapsed"] is not None:
        fields["max_elapsed"] = _seconds(spec["max_elapsed"], "max_elapsed")
    for key, low, high in (("multiplier", 1.0, 100.0), ("jitter", 0.0, 1.0)):
        if key in spec:
            value = spec[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise PolicyError(f"{key}: expected a number from {low:g} to {high:g}, got {value!r}")
            fields[key] = float(value)
    attempts = spec.get("attempts")
    if attempts is None:
        attempts = len(fields["schedule"]) + 1 if "schedule" in fields else 5
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 1000:
        raise PolicyError(
            f"attempts: expected a whole number from 1 to 1000 (the first attempt included), got {attempts!r}"
        )
    fields["attempts"] = attempts
    if "retry_on" in spec:
        raw = spec["retry_on"]
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            raise PolicyError("retry_on: expected a list such as ['5xx', 'timeout']")
        classes: set[str] = set()
        for item in raw:
            item = str(item)  # YAML reads an unquoted 429 as a number
            if item in SHORTHANDS:
                classes.update(SHORTHANDS[item])
            elif item in CLASSES:
                classes.add(item)
            else:
                choices = ", ".join((*CLASSES, *SHORTHANDS))
                raise PolicyError(f"retry_on: unknown class {item!r}; expected some of: {choices}")
        fields["retry_on"] = frozenset(classes)
    for key, attribute in (("retry_after", "honour_retry_after"), ("stop_on_gone", "stop_on_gone")):
        if key in spec:
            value = spec[key]
            if not isinstance(value, bool):
                raise PolicyError(f"{key}: expected true or false, got {value!r}")
            fields[attribute] = value
    return RetryPolicy(**fields)
