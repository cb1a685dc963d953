"""How a request's body holds its events: one JSON object, a JSON array, or JSON Lines.

Most vendors POST one event as one JSON object. Auth0's log streams let the stream choose the content
format: a JSON array or JSON Lines (its default here) as well as one object per request. The framing
is the vendor's data (``delivery.format``) or the target's (``format``); the sender frames the stored
body when it builds the request, and a consumer (``listen``, the webhook receiver) reads the first
event of any framing. Each request carries one event here.
"""

from __future__ import annotations

import json
from typing import Any

# each framing a target may choose, with what it means (the schema, the CLI and the docs read these)
FRAMINGS = {
    "object": "one JSON object per request (default)",
    "array": "a JSON array of events",
    "lines": "JSON Lines: one event per line, each line ending with a newline",
}


def frame(body: bytes, framing: str) -> bytes:
    """The request body for one event's ``body`` (compact JSON) in ``framing``."""
    if framing == "array":
        return b"[" + body + b"]"
    if framing == "lines":
        return body + b"\n"
    return body


def first_event(body: bytes) -> Any:
    """The first event a body holds, whatever its framing (None when it is not JSON)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        try:  # JSON Lines with more than one line
            data = json.loads(body.split(b"\n", 1)[0])
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
    if isinstance(data, list):
        return data[0] if data and isinstance(data[0], dict) else data
    return data
