"""Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (``v1,`` base64 HMAC).

The signed content is ``{id}.{timestamp}.{body}``; a ``whsec_`` secret is base64 after its prefix.
Several secrets sign with each, space-separated, so consumers can rotate keys
(standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
"""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Callable, Sequence

from emulator.delivery.signing.base import (
    VALID,
    Message,
    Received,
    Scheme,
    Signing,
    SigningError,
    Verdict,
    b64,
    mac,
    same,
)


@functools.lru_cache(maxsize=64)
def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (base64 after the prefix), or the raw text otherwise. Kept
    per secret: every delivery's signature needs it, and decoding it again cost a microsecond."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            raise SigningError("a whsec_ secret must be base64 after the prefix") from None
    return secret.encode()


def signer(prefix: str) -> Callable[[Signing, Message], dict[str, str]]:
    """Signing with headers ``{prefix}-id``, ``{prefix}-timestamp``, ``{prefix}-signature`` (Svix,
    where the scheme began, names them ``svix-*``; the standard ``webhook-*``)."""

    def sign(signing: Signing, m: Message) -> dict[str, str]:
        if "." in m.event_id:
            raise SigningError(f"{prefix}-id cannot contain '.'")
        content = f"{m.event_id}.{m.timestamp}.".encode() + m.body
        signatures = " ".join(f"v1,{b64(mac(standard_webhooks_key(s), content))}" for s in signing.secrets)
        return {f"{prefix}-id": m.event_id, f"{prefix}-timestamp": str(m.timestamp), f"{prefix}-signature": signatures}

    return sign


def verifier(prefix: str) -> Callable[[Sequence[str], Received], Verdict]:
    """How consumers check the headers ``signer(prefix)`` writes."""
    names = (f"{prefix}-id", f"{prefix}-timestamp", f"{prefix}-signature")

    def verify(secrets: Sequence[str], r: Received) -> Verdict:
        msg_id, stamp, signature = (r.get(h) for h in names)
        if not (msg_id and stamp and signature):
            return Verdict(False, f"missing {names[0]}, {names[1]} or {names[2]}")
        if r.tolerance is not None and abs((r.now or time.time()) - int(stamp)) > r.tolerance:
            return Verdict(False, f"{names[1]} {stamp} is more than {r.tolerance:g} s away from now")
        content = f"{msg_id}.{stamp}.".encode() + r.body
        offered = [part.split(",", 1)[1] for part in signature.split() if part.startswith("v1,")]
        for secret in secrets:
            expected = b64(mac(standard_webhooks_key(secret), content))
            if any(same(expected, o) for o in offered):
                return VALID
        return Verdict(False, "no v1 signature matches the body")

    return verify


SCHEME = Scheme(
    "standard-webhooks",
    "webhook-id, webhook-timestamp, webhook-signature (v1, base64 HMAC-SHA256; whsec_ secrets; one per secret)",
    signer("webhook"),
    verifier("webhook"),
    every_secret=True,
    stop_header=("webhook-delivery", "abort-message"),
)
