"""An occurrence: one performed action with everything resolved (who, when, how, outcome)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emulator.errors import Location

_TEXT: dict[str, Any] = {"type": "string"}
_UUID: dict[str, Any] = {"type": "string", "format": "uuid"}
_MS: dict[str, Any] = {"type": "integer"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}

# What a template may read in an occurrence's context, as JSON Schema, and whether every context
# has it (True) or only some (a session only after a login, tokens only when issued). The player
# makes the context (play/player.py) and the dialect adds ``event``; an event type's schema
# (vendors/schema.py) reads this to type the fields that come straight from the context.
CONTEXT: dict[str, tuple[dict[str, Any], bool]] = {
    "event.id": (_TEXT, True),  # a uuid4 or uuid7, or a vendor's own id
    "event.uid": (_UUID, True),
    "event.type": (_TEXT, True),
    "event.base_type": (_TEXT, True),
    "event.time_ms": (_MS, True),
    "event.time_iso": (_TIME, True),
    "event.time_iso_s": (_TIME, True),
    "vendor": (_TEXT, True),
    "version": (_TEXT, False),
    "action": (_TEXT, True),
    "failed": (_BOOL, True),
    "error_doc": (_TEXT, False),  # the vendor's own words for its error code, where its catalog has them
    "actor.id": (_TEXT, True),
    "actor.name": (_TEXT, True),
    "actor.kind": ({"enum": ["user", "client"]}, True),
    "actor.first_name": (_TEXT, True),
    "actor.last_name": (_TEXT, True),
    "actor.full_name": (_TEXT, True),
    "actor.username": (_TEXT, False),
    "actor.email": (_TEXT, True),
    "actor.locale": (_TEXT, True),
    "actor.ip": (_TEXT, True),
    "actor.user_agent": (_TEXT, True),
    "actor.registered": (_BOOL, True),
    "actor.email_verified": (_BOOL, True),
    "actor.created_ms": (_MS, False),
    "actor.updated_ms": (_MS, False),
    "actor.password_ms": (_MS, False),
    "actor.client_id": (_TEXT, False),
    "device.name": (_TEXT, True),
    "device.os": (_TEXT, True),
    "device.browser": (_TEXT, True),
    "device.mobile": (_BOOL, True),
    "client.id": (_TEXT, True),
    "client.uuid": (_UUID, True),
    "client.name": (_TEXT, True),
    "client.redirect_uri": (_TEXT, True),
    "realm.name": (_TEXT, True),
    "realm.id": (_UUID, True),
    "tenant.name": (_TEXT, True),
    "tenant.id": (_UUID, True),
    "account.name": (_TEXT, True),
    "account.id": (_UUID, True),
    "resource": (_TEXT, True),
    "store": (_TEXT, True),
    "default_client": (_TEXT, True),
    "ip": (_TEXT, True),
    "user_agent": (_TEXT, True),
    "auth_session_id": (_UUID, True),
    "time_ms": (_MS, True),
    "session.id": (_UUID, False),
    "session.started_ms": (_MS, False),
    "session.client": (_TEXT, False),
    "session.action": (_TEXT, False),
    "session.method": (_TEXT, False),
    "session.protocol": (_TEXT, False),
    "tokens.code": (_UUID, False),
    "tokens.access": (_UUID, False),
    "tokens.refresh": (_UUID, False),
    "tokens.id_token": (_UUID, False),
    "tokens.issued_ms": (_MS, False),
    "tokens.expires_in": (_MS, False),
    "tokens.scope": (_TEXT, False),
    "tokens.previous_refresh": (_UUID, False),
    "tokens.refresh_age_s": (_MS, False),
    "provider.alias": (_TEXT, False),
    "provider.id": (_UUID, False),
    "provider.name": (_TEXT, False),
    "provider.protocol": (_TEXT, False),
    "provider.subject": (_TEXT, False),
    "provider.username": (_TEXT, False),
    "provider.broker_session_id": (_TEXT, False),
    "registration.id": (_UUID, False),
    "registration.created_ms": (_MS, False),
    "last_login_ms": (_MS, False),
}


@dataclass(slots=True)
class Occurrence:
    """What happened, in vendor-neutral words; vendors turn it into their events.

    ``context`` holds what templates may read (actor, client, session, tokens, params, ...):
    plain dicts and strings, so a sandboxed template can read them and nothing else.
    """

    action: str
    time: datetime
    error: str | None
    context: dict[str, Any]
    location: Location
    seq: int
    gap_bits: int = 0
    faults: tuple[Any, ...] = ()  # the step's delivery faults, passed through untouched
    transaction: str | None = None  # the step's transaction type, passed through untouched

    def offset_ms(self, index: int) -> int:
        """Milliseconds from the first event of this action to its ``index``-th (gaps of 12-139 ms)."""
        bits, total = self.gap_bits, 0
        for _ in range(min(index, 6)):
            total += 12 + (bits & 0x7F)
            bits >>= 7
        return total
