"""Events as bytes on the wire: compact JSON in UTF-8, keys in template order.

orjson does this many times faster than the standard library, which matters when a render or a
run turns out tens of thousands of events a second. The standard library takes over for what
orjson refuses (integers beyond 64 bits, non-string keys), so every value that could be sent
before still can. Floats below 1e-4 print without an exponent (0.00001, not 1e-05); both are
the same JSON number.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

from emulator.errors import VendorError

_STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def encode(value: Any, finite_only: bool = False) -> bytes:
    """Compact UTF-8 JSON; raises ValueError or TypeError for what JSON cannot carry.

    ``finite_only``: the caller knows that no float in ``value`` is NaN or infinite, so a null in
    the text is a null (not one of those, which orjson writes as null) and nothing need look."""
    try:
        out = orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_DATETIME)  # a datetime is not JSON
    except TypeError:
        return _STANDARD(value).encode()
    if not finite_only and b"null" in out and not finite(value):  # orjson writes NaN and Infinity as null
        return _STANDARD(value).encode()  # which refuses them
    return out


def finite(value: Any) -> bool:
    """Whether no float in ``value`` is NaN or infinite (a walk: cheaper than encoding again, which
    a vendor that sends null, as Clerk does, would otherwise pay for every event)."""
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return kind is not float or math.isfinite(value)
    for item in items:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is float:
            if not math.isfinite(item):
                return False
        elif not finite(item):
            return False
    return True


def event_json(value: Any, vendor: str, event_type: str) -> bytes:
    """``encode`` for an event's body or record: a value JSON cannot carry is the template's fault,
    said so. No float in an event is NaN or infinite: a template refuses to render one (its
    constants when compiled, an expression's value when rendered), the dialect refuses a raw
    event's fields holding one and an override reads one as text, so the walk is not needed."""
    try:
        return encode(value, finite_only=True)
    except (TypeError, ValueError, UnicodeError) as exc:
        raise VendorError(
            f"{vendor} template for {event_type}: the payload holds what JSON cannot carry ({exc})"
        ) from None
