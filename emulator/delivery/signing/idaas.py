"""Entrust IDaaS: HTTP Message Signatures (RFC 9421) with hmac-sha256 over method, URI and digest.

IDaaS documents the covered components (``@method``, ``@target-uri``, ``content-digest`` per
RFC 9530) and the algorithm; the other parameters (``created``, ``keyid``) are not documented,
so they are configurable and on by default.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from emulator.delivery.signing.base import VALID, Message, Received, Scheme, Signing, Verdict, b64, mac, same

_COVERED = '("@method" "@target-uri" "content-digest")'
_PARAMS = re.compile(r"^sig=(\([^)]*\))(.*)$")


def _base(method: str, url: str, digest: str, params: str) -> bytes:
    return (
        f'"@method": {method.upper()}\n"@target-uri": {url}\n"content-digest": {digest}\n"@signature-params": {params}'
    ).encode()


def _sign(signing: Signing, m: Message) -> dict[str, str]:
    digest = f"sha-256=:{b64(hashlib.sha256(m.body).digest())}:"
    params = _COVERED
    if signing.extra.get("created", True):
        params += f";created={m.timestamp}"
    if signing.key_id:
        params += f';keyid="{signing.key_id}"'
    params += ';alg="hmac-sha256"'
    signature = b64(mac(signing.secrets[0].encode(), _base(m.method, m.url, digest, params)))
    return {"Content-Digest": digest, "Signature-Input": f"sig={params}", "Signature": f"sig=:{signature}:"}


def _verify(secrets: Sequence[str], r: Received) -> Verdict:
    digest, sig_input, signature = (r.get(h) for h in ("Content-Digest", "Signature-Input", "Signature"))
    if not (digest and sig_input and signature):
        return Verdict(False, "missing Content-Digest, Signature-Input or Signature")
    if not same(digest, f"sha-256=:{b64(hashlib.sha256(r.body).digest())}:"):
        return Verdict(False, "Content-Digest does not match the body")
    match = _PARAMS.match(sig_input.strip())
    if not match or match.group(1) != _COVERED:
        return Verdict(False, "Signature-Input does not cover @method, @target-uri and content-digest")
    base = _base(r.method, r.url, digest, match.group(1) + match.group(2))
    offered = signature.strip().removeprefix("sig=:").removesuffix(":")
    for secret in secrets:
        if same(b64(mac(secret.encode(), base)), offered):
            return VALID
    return Verdict(False, "Signature does not match (method, URL, digest)")


SCHEME = Scheme(
    "idaas",
    "RFC 9421 Content-Digest, Signature-Input and Signature (hmac-sha256 over @method, @target-uri, content-digest)",
    _sign,
    _verify,
    options={
        "created": {"type": "boolean", "description": "idaas: include created= in Signature-Input (default true)."}
    },
    timed=lambda signing: bool(signing.extra.get("created", True)),  # created= is the attempt's time
)
