"""How a request's body holds its events: one JSON object, a JSON array, or JSON Lines.

Most vendors POST one event as one JSON object. Auth0's log streams let the stream choose the content
format: a JSON array or JSON Lines (its default here) as well as one object per request. The framing
is the vendor's data (``delivery.format``) or the target's (``format``); the sender frames the stored
body when it builds the request. A target that batches (``emulator.delivery.batching``) puts several
stored bodies into one request: ``join`` makes the part ``frame`` completes, so a batch travels the
same road as a single event. A consumer (``listen``, the webhook receiver) reads every event of any
framing with ``events_in``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

# each framing a target may choose, with what it means (the schema, the CLI and the docs read these)
FRAMINGS = {
    "object": "one JSON object per request (default)",
    "array": "a JSON array of events",
    "lines": "JSON Lines: one event per line, each line ending with a newline",
}
# the framings that can carry several events in one request
BATCHING = ("array", "lines")


def frame(body: bytes, framing: str) -> bytes:
    """The request body for one event's ``body`` (compact JSON) in ``framing``; for a batch, the
    ``body`` is what ``join`` made of its events."""
    if framing == "array":
        return b"[" + body + b"]"
    if framing == "lines":
        return body + b"\n"
    return body


def join(bodies: Sequence[bytes], framing: str) -> bytes:
    """Several events' bodies (compact JSON, one line each) as one body that ``frame`` completes:
    ``frame(join(bodies))`` is the JSON array, or the JSON Lines, of all of them."""
    if len(bodies) == 1:
        return bodies[0]
    return (b"," if framing == "array" else b"\n").join(bodies)


def events_in(body: bytes) -> list[Any]:
    """Every event a body holds, whatever its framing: the items of a JSON array, each line of JSON
    Lines, or the one JSON value (an empty list when it is not JSON)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        found = []
        for line in body.split(b"\n"):  # JSON Lines with more than one line, up to one that is not JSON
            if line.strip():
                try:
                    found.append(json.loads(line))
                except (ValueError, UnicodeDecodeError, RecursionError):
                    break
        return found
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        return data
    return [data]


def first_event(body: bytes) -> Any:
    """The first event a body holds, whatever its framing (None when it is not JSON)."""
    found = events_in(body)
    return found[0] if found else None
