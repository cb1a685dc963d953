"""The JWS compact serialization of PyJWT's ``encode``, made with prepared keys and a kept header.

Shared by every signer that makes many JWTs with one key: FusionAuth's webhook signature and the
live fake IdP's tokens. PyJWT's ``encode`` checks and encodes its header and prepares its key on every
call, which costs more than an HMAC signature and a good part of an RSA one; here both are done once.
"""

from __future__ import annotations

import binascii
import functools
import json
from typing import Any

_URLSAFE = bytes.maketrans(b"+/", b"-_")


def base64url(data: bytes) -> bytes:
    """PyJWT's ``base64url_encode`` (URL-safe base64, no padding) in one call into C and two byte
    methods rather than three Python calls: it runs twice for every FusionAuth delivery."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def compact_jws(algorithm: str, kid: str, key: Any, payload: bytes) -> str:
    """The JWS compact serialization PyJWT's ``encode`` makes of ``payload`` with the header
    ``{"alg", "kid", "typ": "JWT"}``, byte for byte (a property test holds them equal), signed by
    PyJWT's own algorithm with its prepared key (``key``: a secret, a PEM key or a key object). The
    header's segment is the same for every token of a key, so it is encoded once, not per token."""
    head, algorithm_object = _header(algorithm, kid)
    signing_input = head + base64url(payload)
    signature = algorithm_object.sign(signing_input, algorithm_object.prepare_key(key))
    return (signing_input + b"." + base64url(signature)).decode()


@functools.lru_cache(maxsize=64)
def _header(algorithm: str, kid: str) -> tuple[bytes, Any]:
    """The header's segment with its dot, and the algorithm that signs (PyJWT's, keys kept)."""
    from jwt.utils import base64url_encode

    header = json.dumps({"alg": algorithm, "kid": kid, "typ": "JWT"}, separators=(",", ":"), sort_keys=True)
    return base64url_encode(header.encode()) + b".", _signer().get_algorithm_by_name(algorithm)


def ed25519_aware_jws() -> Any:
    """PyJWT's JWS decoder that also knows ``alg: Ed25519``: what a consumer using PyJWT registers to
    verify FusionAuth's Ed25519 signatures (``jws.register_algorithm("Ed25519", OKPAlgorithm())``)."""
    import jwt
    from jwt.algorithms import OKPAlgorithm

    jws = jwt.PyJWS()
    jws.register_algorithm("Ed25519", OKPAlgorithm())
    return jws


@functools.cache
def _signer() -> Any:
    """The JWS encoder the sender signs with: PyJWT's algorithms (Ed25519 included), each preparing a
    key once. PyJWT prepares the key on every call (an HMAC secret is checked not to be a PEM, SSH,
    DER or JSON key, a PEM key is parsed anew), which cost more than the signature itself."""
    from jwt.algorithms import Algorithm, get_default_algorithms

    class KeptKeys(Algorithm):
        """One of PyJWT's algorithms with its prepared keys kept (a few: a run signs with its targets' keys)."""

        def __init__(self, inner: Algorithm) -> None:
            self.inner = inner
            self.keys: dict[Any, Any] = {}

        def prepare_key(self, key: Any) -> Any:
            kept = self.keys.get(key)
            if kept is None:
                if len(self.keys) >= 64:
                    self.keys.clear()
                kept = self.keys[key] = self.inner.prepare_key(key)
            return kept

        def sign(self, msg: bytes, key: Any) -> bytes:
            return self.inner.sign(msg, key)

        def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
            return self.inner.verify(msg, key, sig)

        def check_key_length(self, key: Any) -> str | None:
            return self.inner.check_key_length(key)

        @staticmethod
        def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:
            raise NotImplementedError("a signing algorithm only")

        @staticmethod
        def from_jwk(jwk: Any) -> Any:
            raise NotImplementedError("a signing algorithm only")

    jws = ed25519_aware_jws()
    for name, algorithm in {**get_default_algorithms(), "Ed25519": jws.get_algorithm_by_name("Ed25519")}.items():
        if name != "none":
            jws.unregister_algorithm(name)
            jws.register_algorithm(name, KeptKeys(algorithm))
    return jws
