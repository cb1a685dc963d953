"""Keycloak's webhook extension (p2-inc/keycloak-events): ``X-Keycloak-Signature``, a hex HMAC of the body."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from emulator.delivery.signing.base import Message, Received, Scheme, Signing, Verdict, hex_hmac_verdict

_DIGESTS = {"HmacSHA256": "sha256", "HmacSHA1": "sha1", "HmacSHA512": "sha512"}


def _sign(signing: Signing, m: Message) -> dict[str, str]:
    digest = _DIGESTS[signing.algorithm or "HmacSHA256"]
    return {"X-Keycloak-Signature": hmac.new(signing.secrets[0].encode(), m.body, digest).hexdigest()}


def _verify(secrets: Sequence[str], r: Received) -> Verdict:
    return hex_hmac_verdict("X-Keycloak-Signature", secrets, r, _DIGESTS.get(r.algorithm, "sha256"))


SCHEME = Scheme(
    "keycloak-hmac",
    "X-Keycloak-Signature: lowercase hex HMAC of the body",
    _sign,
    _verify,
    algorithms=tuple(_DIGESTS),
    timed=lambda signing: False,  # the body's HMAC alone
)
