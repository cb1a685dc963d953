"""A tiny FusionAuth webhook consumer: verify the signature, drop duplicates, then act on login events.

The state lives in the app (``app[USERS]``, ``app[SEEN]``, ...) so a test can look at it after a run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web

SIGNATURE_HEADER = "X-FusionAuth-Signature-JWT"


@dataclass
class User:
    """A user this app knows: created at their first successful login, never twice."""

    id: str
    email: str | None
    logins: int = 0


@dataclass
class Failure:
    """A failed login, kept with FusionAuth's reason so support can tell a typo from a lambda's refusal."""

    user_id: str | None
    reason: str


@dataclass
class Outage:
    """How many more requests to answer 500: set it to see FusionAuth's retries get an event through."""

    remaining: int = 0


SECRET = web.AppKey("secret", str)
USERS = web.AppKey("users", dict[str, User])
FAILURES = web.AppKey("failures", list[Failure])
SEEN = web.AppKey("seen", set[str])
OUTAGE = web.AppKey("outage", Outage)


def make_app(secret: str) -> web.Application:
    """The consumer, checking signatures with ``secret`` (FusionAuth's HMAC signing key)."""
    app = web.Application()
    app[SECRET] = secret
    app[USERS] = {}
    app[FAILURES] = []
    app[SEEN] = set()
    app[OUTAGE] = Outage()
    app.router.add_post("/webhooks/fusionauth", receive)
    return app


def signed(body: bytes, token: str, secret: str) -> bool:
    """FusionAuth signs a hash of the raw bytes, so check them before parsing: JSON re-encoded would differ."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.PyJWTError:
        return False
    expected = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return hmac.compare_digest(str(claims.get("request_body_sha256", "")), expected)


async def receive(request: web.Request) -> web.Response:
    """``POST /webhooks/fusionauth``: 401 unsigned, 400 unreadable, 200 once handled (or already seen)."""
    app = request.app
    if app[OUTAGE].remaining > 0:
        app[OUTAGE].remaining -= 1
        return web.Response(status=500, text="down for maintenance")
    body = await request.read()
    if not signed(body, request.headers.get(SIGNATURE_HEADER, ""), app[SECRET]):
        return web.Response(status=401, text="bad signature")
    event = parse(body)
    if event is None:
        return web.Response(status=400, text="not a FusionAuth event")
    handle(app, event)
    return web.Response(status=200)


def parse(body: bytes) -> dict[str, Any] | None:
    """The ``event`` of ``{"event": {...}}``, or None: without an id and a type it cannot be handled once."""
    try:
        event = json.loads(body).get("event")
    except (ValueError, AttributeError):
        return None
    return event if isinstance(event, dict) and isinstance(event.get("id"), str) and "type" in event else None


def handle(app: web.Application, event: dict[str, Any]) -> bool:
    """Apply one event once; False if its id was seen (FusionAuth retries, so an event can come twice).

    No ``await`` between the check and the mark: two deliveries of one id cannot both get through.
    """
    if event["id"] in app[SEEN]:
        return False
    user = event.get("user") or {}
    if event["type"] == "user.login.success":
        known = app[USERS].setdefault(user["id"], User(user["id"], user.get("email")))
        known.logins += 1
    elif event["type"] == "user.login.failed":
        reason = (event.get("reason") or {}).get("code", "unknown")
        app[FAILURES].append(Failure(user.get("id") or event.get("userId"), reason))
    app[SEEN].add(event["id"])
    return True
