"""Signing schemes: the headers that let a consumer prove a webhook came from its IdP.

Each scheme is a function of the exact body bytes and the delivery's identity (event id, attempt
time, method, URL) to headers; it never changes the body. HMAC comes from the standard library
and JWTs from PyJWT, so nothing here implements cryptography itself. Each scheme is checked in
the tests with the library or recipe its consumers use (standardwebhooks, PyJWT, the
http-message-signatures package, a plain hex HMAC as in the Keycloak extension).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt

from emulator.errors import EmulatorError

SCHEMES = ("standard-webhooks", "fusionauth-jwt", "keycloak-hmac", "idaas", "idaas-legacy", "header", "none")


class SigningError(EmulatorError):
    """A signing configuration that cannot sign (missing secret, bad key, unknown scheme)."""


@dataclass(frozen=True)
class Signing:
    """How one target signs. Secrets live here only in memory; they are never logged or stored.

    ``secrets`` lists the current secret first; more than one signs with each (key rotation).
    """

    scheme: str = "none"
    secrets: tuple[str, ...] = ()
    algorithm: str = ""  # HmacSHA256 / HmacSHA1, HS256 / RS256 / ES256, hmac-sha256
    key_id: str = ""  # JWT kid, RFC 9421 keyid
    header: str = ""  # for the static `header` scheme
    value: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise SigningError(f"unknown signing scheme {self.scheme!r}; expected one of: {', '.join(SCHEMES)}")
        if self.scheme not in ("none", "header") and not self.secrets:
            raise SigningError(f"signing scheme {self.scheme!r} needs a secret or key")
        if self.scheme == "header" and not (self.header and self.value):
            raise SigningError("signing scheme 'header' needs a header name and a value")

    def __repr__(self) -> str:  # never show a secret
        return f"Signing(scheme={self.scheme!r}, secrets=<{len(self.secrets)} hidden>, key_id={self.key_id!r})"


@dataclass(frozen=True)
class Message:
    """What a signature covers: the exact bytes and the request they travel in."""

    body: bytes
    event_id: str
    timestamp: int  # Unix seconds of this attempt
    method: str = "POST"
    url: str = ""


def sign(signing: Signing, message: Message) -> dict[str, str]:
    """The headers to add to this attempt."""
    return _SCHEMES[signing.scheme](signing, message)


def _hmac(key: bytes, data: bytes, digest: str = "sha256") -> bytes:
    return hmac.new(key, data, digest).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (base64 after the prefix), or the raw text otherwise."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            raise SigningError("a whsec_ secret must be base64 after the prefix") from None
    return secret.encode()


def _standard_webhooks(signing: Signing, m: Message) -> dict[str, str]:
    if "." in m.event_id:
        raise SigningError("Standard Webhooks ids cannot contain '.'")
    content = f"{m.event_id}.{m.timestamp}.".encode() + m.body
    signatures = " ".join(f"v1,{_b64(_hmac(standard_webhooks_key(s), content))}" for s in signing.secrets)
    return {"webhook-id": m.event_id, "webhook-timestamp": str(m.timestamp), "webhook-signature": signatures}


def _fusionauth_jwt(signing: Signing, m: Message) -> dict[str, str]:
    algorithm = signing.algorithm or "HS256"
    claims = {"request_body_sha256": _b64(hashlib.sha256(m.body).digest())}
    headers = {"kid": signing.key_id} if signing.key_id else None
    try:
        token = jwt.encode(claims, signing.secrets[0], algorithm=algorithm, headers=headers)
    except (jwt.PyJWTError, ValueError, TypeError, NotImplementedError) as exc:
        raise SigningError(f"fusionauth-jwt cannot sign with {algorithm}: {exc}") from None
    return {"X-FusionAuth-Signature-JWT": token}


def _keycloak_hmac(signing: Signing, m: Message) -> dict[str, str]:
    digest = {"HmacSHA256": "sha256", "HmacSHA1": "sha1", "HmacSHA512": "sha512", "": "sha256"}.get(signing.algorithm)
    if digest is None:
        raise SigningError(f"keycloak-hmac supports HmacSHA256, HmacSHA1 and HmacSHA512, not {signing.algorithm!r}")
    return {"X-Keycloak-Signature": hmac.new(signing.secrets[0].encode(), m.body, digest).hexdigest()}


def _idaas(signing: Signing, m: Message) -> dict[str, str]:
    """RFC 9421: hmac-sha256 over @method, @target-uri and content-digest (RFC 9530).

    IDaaS documents the covered components and the algorithm; the other parameters (created,
    keyid) are not documented, so they are configurable and on by default.
    """
    digest = f"sha-256=:{_b64(hashlib.sha256(m.body).digest())}:"
    params = '("@method" "@target-uri" "content-digest")'
    if signing.extra.get("created", True):
        params += f";created={m.timestamp}"
    if signing.key_id:
        params += f';keyid="{signing.key_id}"'
    params += ';alg="hmac-sha256"'
    base = (
        f'"@method": {m.method.upper()}\n'
        f'"@target-uri": {m.url}\n'
        f'"content-digest": {digest}\n'
        f'"@signature-params": {params}'
    )
    signature = _b64(_hmac(signing.secrets[0].encode(), base.encode()))
    return {"Content-Digest": digest, "Signature-Input": f"sig={params}", "Signature": f"sig=:{signature}:"}


def _idaas_legacy(signing: Signing, m: Message) -> dict[str, str]:
    return {"x-sha2-signature": hmac.new(signing.secrets[0].encode(), m.body, "sha256").hexdigest()}


def _header(signing: Signing, m: Message) -> dict[str, str]:
    return {signing.header: signing.value}


def _none(signing: Signing, m: Message) -> dict[str, str]:
    return {}


_SCHEMES: dict[str, Callable[[Signing, Message], dict[str, str]]] = {
    "standard-webhooks": _standard_webhooks,
    "fusionauth-jwt": _fusionauth_jwt,
    "keycloak-hmac": _keycloak_hmac,
    "idaas": _idaas,
    "idaas-legacy": _idaas_legacy,
    "header": _header,
    "none": _none,
}


def public_jwk(private_pem: str, key_id: str) -> dict[str, Any]:
    """The public half of an RSA or EC signing key as a JWK, for ``/.well-known/jwks.json``."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(private_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"not a PEM private key: {exc}") from None
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        jwk["alg"] = "RS256"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        jwk["alg"] = "ES256"
    else:
        raise SigningError("only RSA and EC keys are published in a JWKS")
    jwk.update({"kid": key_id, "use": "sig"})
    return jwk


def key_id_for(private_pem: str) -> str:
    """A stable ``kid`` for a key that was given none: a short digest of its public half."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

    try:
        public = load_pem_private_key(private_pem.encode(), password=None).public_key()
    except (ValueError, TypeError) as exc:
        raise SigningError(f"not a PEM private key: {exc}") from None
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[union-attr]
    return hashlib.sha256(der).hexdigest()[:16]
