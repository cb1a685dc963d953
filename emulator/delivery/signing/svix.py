"""Svix (Clerk's webhooks): ``svix-id``, ``svix-timestamp`` and ``svix-signature``.

Svix signs exactly as Standard Webhooks does (which grew out of it): ``v1,`` and a base64
HMAC-SHA256 of ``{id}.{timestamp}.{body}`` keyed with the base64 after ``whsec_``, one signature
per secret during a rotation; only the header names differ (docs.svix.com/receiving/verifying-payloads/how-manual).
Consumers check it with the ``svix`` library's ``Webhook.verify`` (the tests do).
"""

from __future__ import annotations

from emulator.delivery.signing.base import Scheme
from emulator.delivery.signing.standard_webhooks import signer, verifier

SCHEME = Scheme(
    "svix",
    "svix-id, svix-timestamp, svix-signature (v1, base64 HMAC-SHA256; whsec_ secrets; one per secret)",
    signer("svix"),
    verifier("svix"),
    every_secret=True,
    stop_header=("webhook-delivery", "abort-message"),
)
