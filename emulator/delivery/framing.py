"""How a request's body holds its events: one JSON object, a JSON array, or JSON Lines.

Most vendors POST one event as one JSON object. Auth0's log streams let the stream choose the content
format: a JSON array or JSON Lines (its default here) as well as one object per request. The framing
is the vendor's data (``delivery.format``) or the target's (``format``); the sender frames the stored
body when it builds the request. A target that batches (``emulator.delivery.batching``) puts several
stored bodies into one request: ``join`` makes the part ``frame`` completes, so a batch travels the
same road as a single event. A vendor whose one JSON object already holds a list of events (Okta's
event hook: ``data.events``) batches inside it instead: its catalog names the list (``delivery.batch.
into``), and the first event's envelope carries every event of the batch there. A consumer (``listen``,
the webhook receiver) reads every event of any framing with ``events_in``, and of such an envelope
with ``one_per_event``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from emulator.vendors.encoding import encode

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


def join(bodies: Sequence[bytes], framing: str, into: str = "") -> bytes:
    """Several events' bodies (compact JSON, one line each) as one body that ``frame`` completes:
    ``frame(join(bodies))`` is the JSON array, or the JSON Lines, of all of them; for one JSON
    object with a list of events at ``into`` (a dotted path), the first body with every body's
    events in that list."""
    if len(bodies) == 1:
        return bodies[0]
    if framing == "object" and into:
        envelopes = [json.loads(body) for body in bodies]
        merged = [event for envelope in envelopes for event in _list_at(envelope, into)]
        return encode(_with_list(envelopes[0], into, merged))
    return (b"," if framing == "array" else b"\n").join(bodies)


def one_per_event(data: Any, into: str) -> list[Any]:
    """An envelope whose list at ``into`` holds several events as one envelope per event (each
    with its one event there, as a single delivery would carry it); ``[data]`` otherwise."""
    events = _list_at(data, into)
    if len(events) < 2:
        return [data]
    return [_with_list(data, into, [event]) for event in events]


def _list_at(data: Any, path: str) -> list[Any]:
    for key in path.split("."):
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, list) else []


def _with_list(data: Any, path: str, events: list[Any]) -> Any:
    """A copy of ``data`` with ``events`` at ``path`` (only the mappings on the way are copied; one
    missing on the way, as an override may leave an event, is made)."""
    data = data if isinstance(data, dict) else {}
    key, _, rest = path.partition(".")
    inner = events if not rest else _with_list(data.get(key), rest, events)
    return {**data, key: inner}


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
