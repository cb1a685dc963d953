"""FusionAuth (1.48 and later): ``X-FusionAuth-Signature-JWT``, a JWT whose claim is the body's hash.

The JWT carries one claim, ``request_body_sha256`` (base64 SHA-256 of the body), signed with a
Key Master key: HMAC (HS256/384/512), RSA (RS256/384/512), EC (ES256/384/512) or, from 1.62,
Ed25519. FusionAuth makes no RSASSA-PSS keys, so PS256/384/512 are not offered. Its header is
``{"alg", "typ": "JWT", "kid"}``: fusionauth-jwt writes the signer's kid whenever it has one and
every Key Master key has one, so a kid is always sent (derived from the key when none is given;
for HMAC keys that it is sent at all is inferred, no example shows one). An Ed25519 key signs with
``alg: "Ed25519"``, the fully specified name fusionauth-jwt writes (it refuses the legacy
``EdDSA``); PyJWT and other libraries that know only ``EdDSA`` need that name registered, or the
target's ``algorithm: EdDSA`` (sources: fusionauth-site signing.mdx; fusionauth-jwt README,
JWTEncoder.java, Header.java; fusionauth-java-client Key.java).
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import json
from collections.abc import Sequence
from typing import Any

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
from emulator.delivery.signing.jws import compact_jws, ed25519_aware_jws
from emulator.delivery.signing.keys import is_pem, key_algorithm, key_id_for, load_private_key, public_jwk

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
# Key Master's KeyAlgorithm values (no PS*); EdDSA is the legacy name of Ed25519, for consumers' libraries
KEY_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "Ed25519", "EdDSA")


def _sign(signing: Signing, m: Message) -> dict[str, str]:
    import jwt

    algorithm = signing.algorithm or "HS256"
    # json.dumps of {"request_body_sha256": hash} with compact separators: base64 needs no escaping
    claims = b'{"request_body_sha256":"%b"}' % binascii.b2a_base64(hashlib.sha256(m.body).digest(), newline=False)
    kid = signing.key_id or hmac_key_id(signing.secrets[0])
    try:
        token = compact_jws(algorithm, kid, signing.secrets[0], claims)
    except (jwt.PyJWTError, ValueError, TypeError, NotImplementedError) as exc:
        raise SigningError(f"fusionauth-jwt cannot sign with {algorithm}: {exc}") from None
    return {"X-FusionAuth-Signature-JWT": token}


@functools.lru_cache(maxsize=64)
def hmac_key_id(secret: str) -> str:
    """A kid for an HMAC key given none: stable for the secret, and telling nothing the JWT's own
    signature does not (FusionAuth's kids are base64url text of this length). Kept per secret: every
    delivery's JWT carries it."""
    if is_pem(secret):
        return key_id_for(secret)
    return b64(mac(secret.encode(), b"idp-emulator key id")[:20]).rstrip("=").replace("+", "-").replace("/", "_")


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

    header = jwt.get_unverified_header(token)
    alg = header.get("alg", "")
    if header.get("typ") != "JWT" or not header.get("kid"):
        return Verdict(False, "the JWT header lacks typ JWT or a kid (FusionAuth always sends both)")
    expected = b64(hashlib.sha256(body).digest())
    jws = ed25519_aware_jws()
    for secret in secrets:
        key: Any = secret
        allowed = list(HMAC_ALGORITHMS)  # the key decides the algorithms, never the token's header
        if is_pem(secret):
            key = load_private_key(secret).public_key()
            allowed = list(KEY_ALGORITHMS)
        if alg not in allowed:
            continue
        try:
            claims = json.loads(jws.decode(token, key, algorithms=allowed))
        except jwt.InvalidSignatureError:
            continue
        if same(str(claims.get("request_body_sha256", "")), expected):
            return VALID
        return Verdict(False, "request_body_sha256 does not match the body")
    return Verdict(False, "the JWT's signature does not match the key")


def _key_defaults(secrets: tuple[str, ...]) -> dict[str, str]:
    """A PEM key implies its algorithm and a ``kid`` derived from it (consumers find it in the JWKS);
    an HMAC secret implies a kid too (FusionAuth's keys always have one)."""
    if not secrets:
        return {}
    if not is_pem(secrets[0]):
        return {"key_id": hmac_key_id(secrets[0])}
    from cryptography.hazmat.primitives.asymmetric import ed448

    if isinstance(load_private_key(secrets[0]), ed448.Ed448PrivateKey):
        raise SigningError("FusionAuth's keys are HMAC, RSA, EC (P-256, P-384, P-521) or Ed25519, not Ed448")
    algorithm = key_algorithm(secrets[0])
    return {"algorithm": "Ed25519" if algorithm == "EdDSA" else algorithm, "key_id": key_id_for(secrets[0])}


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
    keys = [public_jwk(s, signing.key_id or key_id_for(s)) for s in signing.secrets if is_pem(s)]
    for jwk in keys:  # the JWKS names the algorithm the JWT header names
        if jwk.get("alg") == "EdDSA":
            jwk["alg"] = signing.algorithm
    return keys


SCHEME = Scheme(
    "fusionauth-jwt",
    "X-FusionAuth-Signature-JWT: a JWT with request_body_sha256, header {alg, typ, kid} (HMAC secret, or an RSA, EC"
    " or Ed25519 key; Ed25519 writes alg Ed25519 as FusionAuth does, or EdDSA if asked)",
    _sign,
    _verify,
    algorithms=HMAC_ALGORITHMS + KEY_ALGORITHMS,
    key_defaults=_key_defaults,
    validate=_validate,
    advice=_advice,
    public_keys=_public_keys,
    timed=lambda signing: False,  # the JWT carries the body's hash alone (no iat, no exp)
)
