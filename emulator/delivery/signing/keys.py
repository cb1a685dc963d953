"""Asymmetric signing keys: which algorithm a PEM key implies, its stable ``kid``, its public JWK.

Keys are read by ``cryptography`` and JWKs written by PyJWT; a JWKS (``/.well-known/jwks.json``)
publishes only public halves. Both libraries are imported when a key is first used: most runs sign
with HMAC alone, and a server answers its first request before it signs anything.
"""

from __future__ import annotations

import hashlib
from typing import Any

from emulator.delivery.signing.base import SigningError

# EC curves by key size, and the JWT algorithm each one signs with (RFC 7518, section 3.4)
_EC_ALGORITHMS = {256: "ES256", 384: "ES384", 521: "ES512"}


def is_pem(secret: str) -> bool:
    return "-----BEGIN" in secret


def load_private_key(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"not a PEM private key: {exc}") from None


def key_algorithm(pem: str) -> str:
    """The JWT algorithm a private key signs with by default: RS256, ES256/384/512 or EdDSA."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    key = load_private_key(pem)
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return _EC_ALGORITHMS.get(key.curve.key_size, "ES256")
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return "EdDSA"
    raise SigningError("only RSA, EC and Ed25519/Ed448 keys can sign JWTs")


def public_jwk(private_pem: str, key_id: str) -> dict[str, Any]:
    """The public half of an RSA, EC or EdDSA signing key as a JWK, for ``/.well-known/jwks.json``."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    key = load_private_key(private_pem)
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    elif isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        jwk = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        raise SigningError("only RSA, EC and EdDSA keys are published in a JWKS")
    jwk["alg"] = key_algorithm(private_pem)
    jwk.update({"kid": key_id, "use": "sig"})
    return dict(jwk)


def key_id_for(private_pem: str) -> str:
    """A stable ``kid`` for a key that was given none: a short digest of its public half."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = load_private_key(private_pem).public_key()
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]
