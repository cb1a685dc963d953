"""Checking a webhook's signature the way its consumers do, for every scheme the sender speaks.

A receiver in a test (or ``idp-emulator listen``) uses this to say "signature valid" or why
not. HMACs come from the standard library and JWTs from PyJWT, compared in constant time; the
test suite checks these verdicts against the consumers' own libraries (standardwebhooks, PyJWT,
http-message-signatures) so the two cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jwt

from emulator.delivery.signing import standard_webhooks_key


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool | None  # None: nothing to check (no secret, or an unsigned scheme)
    reason: str

    def __str__(self) -> str:
        return {True: "signature valid", False: f"signature INVALID: {self.reason}", None: self.reason}[self.ok]


def _get(headers: Mapping[str, str], name: str) -> str | None:
    lower = name.lower()
    for key, value in headers.items():
        if key.lower() == lower:
            return value
    return None


def _same(a: str | bytes, b: str | bytes) -> bool:
    a = a.encode() if isinstance(a, str) else a
    b = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a, b)


def verify(
    scheme: str,
    secrets: Sequence[str],
    body: bytes,
    headers: Mapping[str, str],
    method: str = "POST",
    url: str = "",
    algorithm: str = "",
    header: str = "",
    tolerance: float | None = None,
    now: float | None = None,
) -> Verdict:
    """Whether ``body`` and ``headers`` carry a valid signature by one of ``secrets``."""
    if scheme == "none":
        return Verdict(None, "unsigned (scheme none)")
    if not secrets:
        return Verdict(None, "signature not checked (no secret)")
    check = _CHECKS.get(scheme)
    if check is None:
        return Verdict(False, f"unknown scheme {scheme!r}")
    try:
        return check(secrets, body, headers, method, url, algorithm, header, tolerance, now)
    except (ValueError, TypeError, KeyError, jwt.PyJWTError) as exc:
        return Verdict(False, f"unreadable signature ({exc})")


def _standard_webhooks(secrets, body, headers, method, url, algorithm, header, tolerance, now) -> Verdict:
    msg_id, stamp, signature = (_get(headers, h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signature):
        return Verdict(False, "missing webhook-id, webhook-timestamp or webhook-signature")
    if tolerance is not None and abs((now or time.time()) - int(stamp)) > tolerance:
        return Verdict(False, f"webhook-timestamp {stamp} is more than {tolerance:g} s away from now")
    content = f"{msg_id}.{stamp}.".encode() + body
    offered = [part.split(",", 1)[1] for part in signature.split() if part.startswith("v1,")]
    for secret in secrets:
        expected = base64.b64encode(hmac.new(standard_webhooks_key(secret), content, "sha256").digest()).decode()
        if any(_same(expected, o) for o in offered):
            return Verdict(True, "")
    return Verdict(False, "no v1 signature matches the body")


def _fusionauth(secrets, body, headers, method, url, algorithm, header, tolerance, now) -> Verdict:
    token = _get(headers, "X-FusionAuth-Signature-JWT")
    if not token:
        return Verdict(False, "missing X-FusionAuth-Signature-JWT")
    alg = jwt.get_unverified_header(token).get("alg", "")
    expected = base64.b64encode(hashlib.sha256(body).digest()).decode()
    for secret in secrets:
        key: object = secret
        allowed = ["HS256", "HS384", "HS512"]  # the key decides the algorithms, never the token's header
        if "PRIVATE KEY" in secret:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            key = load_pem_private_key(secret.encode(), password=None).public_key()  # type: ignore[union-attr]
            allowed = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
        if alg not in allowed:
            continue
        try:
            claims = jwt.decode(token, key, algorithms=allowed)
        except jwt.InvalidSignatureError:
            continue
        if _same(str(claims.get("request_body_sha256", "")), expected):
            return Verdict(True, "")
        return Verdict(False, "request_body_sha256 does not match the body")
    return Verdict(False, "the JWT's signature does not match the key")


def _hex_hmac(name: str, secrets: Sequence[str], body: bytes, headers: Mapping[str, str], digest: str) -> Verdict:
    """A lowercase-hex HMAC of the body in one header (Keycloak's extension, IDaaS's legacy product)."""
    signature = _get(headers, name)
    if not signature:
        return Verdict(False, f"missing {name}")
    for secret in secrets:
        if _same(hmac.new(secret.encode(), body, digest).hexdigest(), signature):
            return Verdict(True, "")
    return Verdict(False, f"{name} does not match the body")


def _keycloak(secrets, body, headers, method, url, algorithm, header, tolerance, now) -> Verdict:
    digest = {"HmacSHA1": "sha1", "HmacSHA512": "sha512"}.get(algorithm or "", "sha256")
    return _hex_hmac("X-Keycloak-Signature", secrets, body, headers, digest)


_PARAMS = re.compile(r"^sig=(\([^)]*\))(.*)$")


def _idaas(secrets, body, headers, method, url, algorithm, header, tolerance, now) -> Verdict:
    digest, sig_input, signature = (_get(headers, h) for h in ("Content-Digest", "Signature-Input", "Signature"))
    if not (digest and sig_input and signature):
        return Verdict(False, "missing Content-Digest, Signature-Input or Signature")
    if not _same(digest, f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"):
        return Verdict(False, "Content-Digest does not match the body")
    match = _PARAMS.match(sig_input.strip())
    if not match or match.group(1) != '("@method" "@target-uri" "content-digest")':
        return Verdict(False, "Signature-Input does not cover @method, @target-uri and content-digest")
    params = match.group(1) + match.group(2)
    base = (
        f'"@method": {method.upper()}\n"@target-uri": {url}\n"content-digest": {digest}\n"@signature-params": {params}'
    )
    offered = signature.strip().removeprefix("sig=:").removesuffix(":")
    for secret in secrets:
        expected = base64.b64encode(hmac.new(secret.encode(), base.encode(), "sha256").digest()).decode()
        if _same(expected, offered):
            return Verdict(True, "")
    return Verdict(False, "Signature does not match (method, URL, digest)")


def _idaas_legacy(secrets, body, headers, method, url, algorithm, header, tolerance, now) -> Verdict:
    return _hex_hmac("x-sha2-signature", secrets, body, headers, "sha256")


def _header(secrets, body, headers, method, url, algorithm, header, tolerance, now) -> Verdict:
    name = header or "Authorization"
    value = _get(headers, name)
    if value is None:
        return Verdict(False, f"missing {name}")
    return Verdict(True, "") if any(_same(value, s) for s in secrets) else Verdict(False, f"{name} has another value")


_CHECKS = {
    "standard-webhooks": _standard_webhooks,
    "fusionauth-jwt": _fusionauth,
    "keycloak-hmac": _keycloak,
    "idaas": _idaas,
    "idaas-legacy": _idaas_legacy,
    "header": _header,
}
