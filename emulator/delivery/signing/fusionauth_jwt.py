"""FusionAuth (1.48 and later): ``X-FusionAuth-Signature-JWT``, a JWT whose claim is the body's hash.

The JWT carries one claim, ``request_body_sha256`` (base64 SHA-256 of the body), signed with an
HMAC secret or a Key Master key (RSA, EC or EdDSA); its header names the key (``kid``) so a
consumer can find it in the JWKS (fusionauth-site, signing-webhooks.mdx).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from emulator.delivery.signing.base import VALID, Message, Received, Scheme, Signing, SigningError, Verdict, b64, same
from emulator.delivery.signing.keys import is_pem, key_algorithm, key_id_for, load_private_key, public_jwk

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
KEY_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA")


def _sign(signing: Signing, m: Message) -> dict[str, str]:
    import jwt

    algorithm = signing.algorithm or "HS256"
    claims = {"request_body_sha256": b64(hashlib.sha256(m.body).digest())}
    headers = {"kid": signing.key_id} if signing.key_id else None
    try:
        token = jwt.encode(claims, signing.secrets[0], algorithm=algorithm, headers=headers)
    except (jwt.PyJWTError, ValueError, TypeError, NotImplementedError) as exc:
        raise SigningError(f"fusionauth-jwt cannot sign with {algorithm}: {exc}") from None
    return {"X-FusionAuth-Signature-JWT": token}


def _verify(secrets: Sequence[str], r: Received) -> Verdict:
    import jwt

    token = r.get("X-FusionAuth-Signature-JWT")
    if not token:
        return Verdict(False, "missing X-FusionAuth-Signature-JWT")
    try:
        return _check(token, secrets, r.body)
    except jwt.PyJWTError as exc:
        return Verdict(False, f"unreadable signature ({exc})")


def _check(token: str, secrets: Sequence[str], body: bytes) -> Verdict:
    import jwt

    alg = jwt.get_unverified_header(token).get("alg", "")
    expected = b64(hashlib.sha256(body).digest())
    for secret in secrets:
        key: Any = secret
        allowed = list(HMAC_ALGORITHMS)  # the key decides the algorithms, never the token's header
        if is_pem(secret):
            key = load_private_key(secret).public_key()
            allowed = list(KEY_ALGORITHMS)
        if alg not in allowed:
            continue
        try:
            claims = jwt.decode(token, key, algorithms=allowed)
        except jwt.InvalidSignatureError:
            continue
        if same(str(claims.get("request_body_sha256", "")), expected):
            return VALID
        return Verdict(False, "request_body_sha256 does not match the body")
    return Verdict(False, "the JWT's signature does not match the key")


def _key_defaults(secrets: tuple[str, ...]) -> dict[str, str]:
    """A PEM key implies its algorithm and a ``kid`` derived from it (consumers find it in the JWKS)."""
    if not secrets or not is_pem(secrets[0]):
        return {}
    return {"algorithm": key_algorithm(secrets[0]), "key_id": key_id_for(secrets[0])}


def _validate(signing: Signing) -> None:
    """An asymmetric algorithm needs a readable PEM key, an HMAC one a secret that is not a key."""
    for secret in signing.secrets:
        if signing.algorithm in KEY_ALGORITHMS and not is_pem(secret):
            raise SigningError(f"{signing.algorithm} signs with a PEM private key, not a shared secret")
        if signing.algorithm in KEY_ALGORITHMS:
            load_private_key(secret)
        elif is_pem(secret):
            raise SigningError(f"{signing.algorithm or 'HS256'} signs with a shared secret, not a PEM key")


# RFC 7518, 3.2: an HMAC key at least as long as the hash (PyJWT warns below it; strict consumers refuse)
_HMAC_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}


def _advice(signing: Signing) -> str:
    needed = _HMAC_BYTES.get(signing.algorithm or "HS256")
    if needed and any(len(s.encode()) < needed for s in signing.secrets):
        algorithm = signing.algorithm or "HS256"
        return f"the {algorithm} secret is shorter than {needed} bytes (RFC 7518): strict consumers refuse it"
    return ""


def _public_keys(signing: Signing) -> list[dict[str, Any]]:
    if signing.algorithm in HMAC_ALGORITHMS or not signing.algorithm:
        return []
    return [public_jwk(s, signing.key_id or key_id_for(s)) for s in signing.secrets if is_pem(s)]


SCHEME = Scheme(
    "fusionauth-jwt",
    "X-FusionAuth-Signature-JWT: a JWT with request_body_sha256 (HMAC secret, or an RSA, EC or EdDSA key)",
    _sign,
    _verify,
    algorithms=HMAC_ALGORITHMS + KEY_ALGORITHMS,
    key_defaults=_key_defaults,
    validate=_validate,
    advice=_advice,
    public_keys=_public_keys,
)
