"""Events as bytes on the wire: compact JSON in UTF-8, keys in template order.

orjson does this many times faster than the standard library, which matters when a render or a
run turns out tens of thousands of events a second. The standard library takes over for what
orjson refuses (integers beyond 64 bits, non-string keys), so every value that could be sent
before still can. Floats below 1e-4 print without an exponent (0.00001, not 1e-05); both are
the same JSON number.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from emulator.errors import VendorError

_STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON; raises ValueError or TypeError for what JSON cannot carry."""
    try:
        out = orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_DATETIME)  # a datetime is not JSON
    except TypeError:
        return _STANDARD(value).encode()
    if b"null" in out:  # orjson writes NaN and Infinity as null, where they must be refused
        return _STANDARD(value).encode()
    return out


def event_json(value: Any, vendor: str, event_type: str) -> bytes:
    """``encode`` for an event or its body: a value JSON cannot carry is the template's fault, said so."""
    try:
        return encode(value)
    except (TypeError, ValueError, UnicodeError) as exc:
        raise VendorError(
            f"{vendor} template for {event_type}: the payload holds what JSON cannot carry ({exc})"
        ) from None
