"""The provider's signing keys: one active key per algorithm family, the previous ones kept passive in
the JWKS after a rotation so tokens signed before it still verify.

Both vendors keep a rotated-out key published until someone removes it: Keycloak's JWKS lists every
enabled key, active or passive (JWKSServerUtils.getRealmJwks filters on ``getStatus().isEnabled()``,
not on being the signing key), and its guide says to delete old keys weeks later; FusionAuth's
JWKS lists Key Master's keys until one is deleted. So here a passive key stays until it is removed
(the API), until ``keep`` newer passive keys of its family exist, or, when ``grace`` is set, until
that long after its rotation.

Keys are made when first needed (an RSA key takes a few tens of milliseconds) and kept as key
objects, so signing a token never parses a PEM. Signing and hashing are PyJWT's (with cryptography).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulator.errors import ConflictError, NotFoundError

KEEP_PREVIOUS = 2  # passive keys of a family kept in the JWKS after rotations (oidc.keys.keep)


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any  # a cryptography private key object
    jwk: dict[str, Any]
    created: float = 0.0
    retired: float | None = None  # when a rotation made it passive

    def view(self) -> dict[str, Any]:
        status = "active" if self.retired is None else "passive"
        return {
            "kid": self.kid,
            "alg": self.algorithm,
            "status": status,
            "created": self.created,
            "retired": self.retired,
        }


def _new_key(algorithm: str, now: float) -> SigningKey:
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
    return SigningKey(kid, algorithm, private, jwk, now)


@dataclass
class KeySet:
    """The asymmetric keys (RS256, ES256); HS256 signs with the client's secret (OIDC Core 10.1)."""

    current: dict[str, SigningKey] = field(default_factory=dict)
    previous: list[SigningKey] = field(default_factory=list)
    hmac_secret: bytes = field(default_factory=lambda: secrets.token_bytes(64))  # refresh tokens (Keycloak: HS512)
    keep: int = KEEP_PREVIOUS
    grace: float | None = None  # seconds a passive key stays after its rotation (None: until removed)
    clock: Callable[[], float] = time.time

    def key(self, algorithm: str) -> SigningKey:
        found = self.current.get(algorithm)
        if found is None:
            found = self.current[algorithm] = _new_key(algorithm, self.clock())
        return found

    def rotate(self) -> list[str]:
        """A new active key for every family in use; the old ones stay published, passive. The new kids.

        Each new key is made before it replaces the old one, so a token signed meanwhile (on the
        server's loop, while a test thread rotates) is signed by a key the JWKS lists."""
        families = list(self.current) or ["RS256"]
        now = self.clock()
        for algorithm in families:
            new = _new_key(algorithm, now)
            old = self.current.get(algorithm)
            self.current[algorithm] = new
            if old is not None:
                old.retired = now
                self.previous.insert(0, old)
        for algorithm in families:  # the newest `keep` passive keys of each family
            mine = [k for k in self.previous if k.algorithm == algorithm]
            for dropped in mine[self.keep :]:
                self.previous.remove(dropped)
        return [self.current[a].kid for a in families]

    def remove(self, kid: str) -> SigningKey:
        """Stop publishing a passive key: the tokens it signed no longer verify (as deleting a key does)."""
        self._expire()
        if any(k.kid == kid for k in self.current.values()):
            raise ConflictError("Active key", f"key {kid!r} signs new tokens; rotate first, then remove it", "kid")
        found = next((k for k in self.previous if k.kid == kid), None)
        if found is None:
            known = ", ".join(k.kid for k in (*self.current.values(), *self.previous))
            raise NotFoundError("Unknown key", f"no key {kid!r}; keys: {known or 'none yet'}", "kid")
        self.previous.remove(found)
        return found

    def _expire(self) -> None:
        if self.grace is not None:
            cutoff = self.clock() - self.grace
            self.previous[:] = [k for k in self.previous if k.retired is None or k.retired > cutoff]

    def published(self) -> list[SigningKey]:
        """The keys in the JWKS: the active ones, then the passive ones still in their grace."""
        if not self.current:
            self.key("RS256")  # a JWKS is never empty: an RP fetches it before the first token
        self._expire()
        return [*self.current.values(), *self.previous]

    def jwks(self) -> list[dict[str, Any]]:
        return [k.jwk for k in self.published()]

    def sign(self, claims: dict[str, Any], algorithm: str, typ: str = "JWT", secret: str | None = None) -> str:
        """The JWT PyJWT's ``encode`` makes of ``claims``. A token (typ JWT, a key of ours) is made from
        the kept header segment and key (``compact_jws``, the same bytes: a property test compares),
        the payload serialized as ``encode`` does; the rest goes through ``encode`` itself."""
        import jwt

        if algorithm.startswith("HS"):
            key: Any = secret.encode() if secret else self.hmac_secret
            return jwt.encode(claims, key, algorithm=algorithm, headers={"typ": typ})
        signing = self.key(algorithm)
        if typ == "JWT" and _plain(claims):
            from emulator.delivery.signing.jws import compact_jws

            return compact_jws(
                algorithm, signing.kid, signing.private, json.dumps(claims, separators=(",", ":")).encode()
            )
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
                found = next((k for k in self.published() if k.kid == header.get("kid")), None)
                if found is None:
                    return None
                key = found.private.public_key()
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[algorithm], options={"verify_exp": False, "verify_aud": False}
            )
            return claims
        except jwt.PyJWTError:
            return None


def _plain(claims: dict[str, Any]) -> bool:
    """Claims ``encode`` serializes as they are: no datetime it turns into seconds, a string issuer."""
    return not any(isinstance(claims.get(name), datetime) for name in ("exp", "iat", "nbf")) and isinstance(
        claims.get("iss", ""), str
    )


def half_hash(value: str, algorithm: str) -> str:
    """``at_hash``: the left half of the token's hash under the signing algorithm's hash (OIDC Core 3.1.3.6)."""
    import jwt

    digest = jwt.get_algorithm_by_name(algorithm).compute_hash_digest(value.encode("ascii"))
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
