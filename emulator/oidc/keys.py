"""The provider's signing keys: one current key per algorithm family, the previous ones kept in the
JWKS after a rotation so tokens signed before it still verify (as Keycloak's and FusionAuth's key
rotation keeps an old key "passive" for a while).

Keys are made when first needed (an RSA key takes a few tens of milliseconds) and kept as key
objects, so signing a token never parses a PEM. Signing and hashing are PyJWT's (with cryptography).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

KEEP_PREVIOUS = 2  # keys of a family kept in the JWKS after a rotation


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any  # a cryptography private key object
    jwk: dict[str, Any]


def _new_key(algorithm: str) -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    kid = secrets.token_urlsafe(16)
    private: Any
    if algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        jwk: dict[str, Any] = dict(ECAlgorithm.to_jwk(private.public_key(), as_dict=True))
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = dict(RSAAlgorithm.to_jwk(private.public_key(), as_dict=True))
    jwk.update(kid=kid, use="sig", alg=algorithm)
    return SigningKey(kid, algorithm, private, jwk)


@dataclass
class KeySet:
    """The asymmetric keys (RS256, ES256); HS256 signs with the client's secret (OIDC Core 10.1)."""

    current: dict[str, SigningKey] = field(default_factory=dict)
    previous: list[SigningKey] = field(default_factory=list)
    hmac_secret: bytes = field(default_factory=lambda: secrets.token_bytes(64))  # refresh tokens (Keycloak: HS512)

    def key(self, algorithm: str) -> SigningKey:
        found = self.current.get(algorithm)
        if found is None:
            found = self.current[algorithm] = _new_key(algorithm)
        return found

    def rotate(self) -> list[str]:
        """New current keys for every family in use; the old ones stay published. The new kids."""
        families = list(self.current) or ["RS256"]
        for algorithm in families:
            old = self.current.pop(algorithm, None)
            if old is not None:
                self.previous.insert(0, old)
            self.key(algorithm)
        del self.previous[KEEP_PREVIOUS * len(families) :]
        return [self.current[a].kid for a in families]

    def jwks(self) -> list[dict[str, Any]]:
        if not self.current:
            self.key("RS256")  # a JWKS is never empty: an RP fetches it before the first token
        return [k.jwk for k in (*self.current.values(), *self.previous)]

    def sign(self, claims: dict[str, Any], algorithm: str, typ: str = "JWT", secret: str | None = None) -> str:
        import jwt

        if algorithm.startswith("HS"):
            key: Any = secret.encode() if secret else self.hmac_secret
            return jwt.encode(claims, key, algorithm=algorithm, headers={"typ": typ})
        signing = self.key(algorithm)
        return jwt.encode(claims, signing.private, algorithm=algorithm, headers={"typ": typ, "kid": signing.kid})

    def verify(self, token: str, algorithms: list[str], secret: str | None = None) -> dict[str, Any] | None:
        """The claims of a token this provider signed (expiry not checked: the caller decides), or None."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg", "")
            if algorithm not in algorithms:
                return None
            if algorithm.startswith("HS"):
                key: Any = secret.encode() if secret and algorithm == "HS256" else self.hmac_secret
            else:
                found = next((k for k in (*self.current.values(), *self.previous) if k.kid == header.get("kid")), None)
                if found is None:
                    return None
                key = found.private.public_key()
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[algorithm], options={"verify_exp": False, "verify_aud": False}
            )
            return claims
        except jwt.PyJWTError:
            return None


def half_hash(value: str, algorithm: str) -> str:
    """``at_hash``: the left half of the token's hash under the signing algorithm's hash (OIDC Core 3.1.3.6)."""
    import jwt

    digest = jwt.get_algorithm_by_name(algorithm).compute_hash_digest(value.encode("ascii"))
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
