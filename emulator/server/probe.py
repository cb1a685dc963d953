"""A target's test event: one example webhook sent once, as a vendor's "Test webhook" button does.

FusionAuth's test page sends a generated example of the event type you pick (editable), signed
like real events, and keeps it out of the webhook event log. This does the same: the catalog's
example for the type (or the caller's own body), a fresh event id, signed for now, one attempt,
no retries, nothing recorded.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from emulator.delivery.runner import body_bytes
from emulator.delivery.sender import Sender
from emulator.delivery.targets import Target
from emulator.errors import InvalidError
from emulator.play.ids import uuid4
from emulator.vendors.examples import examples
from emulator.vendors.registry import Registry


def default_type(registry: Registry, vendor: str) -> str:
    """What a test sends unless told: the vendor's first event for a successful login."""
    catalog = registry.vendor(vendor).catalog
    rows = catalog.actions.get("login") or []
    return catalog.success_type(rows[0].event) if rows else catalog.all_types()[0]


async def send_test(
    target: Target, registry: Registry, event_type: str | None = None, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Send one test event to ``target`` and report how the receiver answered."""
    shown = examples(registry, target.vendor)
    event_type = event_type or default_type(registry, target.vendor)
    if event_type not in shown:
        detail = f"{target.vendor} has no event type {event_type!r}; see /api/vendors/{target.vendor}"
        raise InvalidError("Unknown event type", detail, "type")
    example = shown[event_type]
    event_id = uuid4(random.Random())
    if body is None:
        payload = body_bytes(example)
        if example.id:  # the example's id, wherever the payload repeats it, becomes the fresh one
            payload = payload.replace(example.id.encode(), event_id.encode())
    else:
        try:
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        except ValueError:
            raise InvalidError("Not JSON", "the body holds NaN or Infinity, which JSON has not", "body") from None
    sender = Sender()
    try:
        result = await sender.attempt(target, event_id, payload, int(time.time()))
    finally:
        await sender.close()
    answer: dict[str, Any] = {
        "target": target.name,
        "type": event_type,
        "event_id": event_id,
        "ok": result.ok,
        "status": result.status,
        "error": result.error,
        "duration_ms": round(result.duration_ms, 1),
    }
    if result.headers is not None:
        answer["response_headers"] = result.headers
    if result.body is not None:
        answer["response_body"] = result.body.decode("utf-8", "replace")
    return answer
