"""Entrust IDaaS's older webhooks: ``x-sha2-signature``, a hex HMAC-SHA256 of the body."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from emulator.delivery.signing.base import Message, Received, Scheme, Signing, Verdict, hex_hmac_verdict


def _sign(signing: Signing, m: Message) -> dict[str, str]:
    return {"x-sha2-signature": hmac.new(signing.secrets[0].encode(), m.body, "sha256").hexdigest()}


def _verify(secrets: Sequence[str], r: Received) -> Verdict:
    return hex_hmac_verdict("x-sha2-signature", secrets, r, "sha256")


SCHEME = Scheme(
    "idaas-legacy",
    "x-sha2-signature: lowercase hex HMAC-SHA256 of the body",
    _sign,
    _verify,
    timed=lambda signing: False,
)
