"""Reading a delivered webhook the way a consumer would: its id, type and user, per vendor.

Where each vendor puts them is data (the ``wire`` section of its catalog); this only follows
the paths, so a receiver can describe any vendor's webhook, including ones from a real IdP.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from emulator.delivery.framing import events_in, first_event, one_per_event
from emulator.vendors.registry import Registry


@dataclass(frozen=True, slots=True)
class Reading:
    id: str | None
    type: str | None
    user: str | None
    body: Any  # the parsed JSON, or None when the body is not JSON
    types: tuple[str, ...] = ()  # every type the event carries (Strivacity's labels: registration and login)


def follow(data: Any, path: str) -> Any:
    """``event.user.email`` or ``labels.0`` through dicts and lists (``events.$key``: the first key of
    a mapping, as a SET names its event); None where the path ends."""
    if not path:
        return data
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part == "$key":
            node = next(iter(node), None)
        elif isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def read(body: bytes, wire: dict[str, Any]) -> Reading:
    """What a consumer sees in ``body`` for a vendor described by ``wire`` (its first event)."""
    try:
        data = json.loads(_jwt_claims(body)) if wire.get("body") == "jwt" else first_event(body)
    except (ValueError, UnicodeDecodeError, RecursionError, IndexError):
        data = None
    return reading(data, wire)


def read_all(body: bytes, wire: dict[str, Any], into: str = "") -> list[Reading]:
    """Every event a consumer finds in ``body``, in order: one, or each of a batch (a JSON array or
    JSON Lines of several events, as Auth0's log streams send them; or, with ``into``, the vendor's
    list of events in one object, as Okta's event hooks send them)."""
    if wire.get("body") == "jwt":
        return [read(body, wire)]
    events = events_in(body)
    if into and len(events) == 1:
        events = one_per_event(events[0], into)
    return [reading(event, wire) for event in events] or [reading(None, wire)]


def reading(data: Any, wire: dict[str, Any]) -> Reading:
    """What a consumer sees in one parsed event (None: the body was not JSON)."""
    if data is None:  # not JSON
        return Reading(None, None, None, None)
    kinds = follow(data, str(wire.get("type", "type")))
    types = tuple(str(k) for k in kinds if isinstance(k, str)) if isinstance(kinds, list) else ()

    def first(paths: Any) -> str | None:
        for path in paths if isinstance(paths, list) else [paths]:
            value = follow(data, str(path)) if path else None
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)
        return None

    event_type = types[0] if types else first(wire.get("type", "type"))
    return Reading(
        first(wire.get("id", "id")),
        event_type,
        first(wire.get("user", [])),
        data,
        types or ((event_type,) if event_type else ()),
    )


def _jwt_claims(body: bytes) -> bytes:
    """The claims of a compact JWT (a Security Event Token), read as a consumer logs them before it
    checks the signature (the verdict says whether it holds)."""
    payload = body.split(b".")[1]
    return base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4))


def type_matches(pattern: str, types: str | tuple[str, ...] | None, wire: dict[str, Any]) -> bool:
    """Whether ``pattern`` (a glob) names one of the event's types, with or without the vendor's
    prefix (``LOGIN`` matches ``access.LOGIN``)."""
    from fnmatch import fnmatchcase

    for event_type in (types,) if isinstance(types, str) else types or ():
        if fnmatchcase(event_type, pattern):
            return True
        for prefix in wire.get("prefixes", []):
            if event_type.startswith(prefix) and fnmatchcase(event_type[len(prefix) :], pattern):
                return True
    return False


def wire_of(vendor: str | None, registry: Registry | None = None) -> dict[str, Any]:
    """The ``wire`` section of a vendor's catalog (empty for no vendor: generic id and type)."""
    if not vendor:
        return {}
    return (registry or Registry()).vendor(vendor).catalog.wire
