"""The provider's tokens are PyJWT's ``encode`` byte for byte, whichever way they are made.

``KeySet.sign`` makes a token of its own keys from a kept header segment (``compact_jws``) instead
of calling ``encode``; for any claims that must be exactly what ``encode`` gives with the header
``{"typ": "JWT", "kid"}``: RS256 signs deterministically, so the whole token is compared; ES256 draws
a nonce, so its header and payload segments are compared and its signature verified with PyJWT.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.oidc.keys import KeySet

KEYS = KeySet()
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
CLAIMS = st.dictionaries(st.text(max_size=12), JSON, max_size=8)


def pyjwt(claims: dict[str, Any], algorithm: str, typ: str = "JWT") -> str:
    key = KEYS.key(algorithm)
    return jwt.encode(claims, key.private, algorithm=algorithm, headers={"typ": typ, "kid": key.kid})


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_sign_is_pyjwts_encode(algorithm: str) -> None:
    @settings(max_examples=40, deadline=None, derandomize=True)
    @given(CLAIMS, st.sampled_from([None, "https://idp.example/realms/acme"]))
    def same(claims: dict[str, Any], issuer: str | None) -> None:
        if issuer is not None:
            claims = dict(claims, iss=issuer, iat=1700000000, exp=1700000300)
        ours, theirs = KEYS.sign(claims, algorithm), pyjwt(claims, algorithm)
        if algorithm == "RS256":
            assert ours == theirs
            return
        assert ours.rsplit(".", 1)[0] == theirs.rsplit(".", 1)[0]
        public = KEYS.key(algorithm).private.public_key()
        # the signature verified, the claims compared as they are: PyJWT's decode would also judge
        # them (a drawn "sub" that is not a string fails its check, whoever signed the token)
        assert json.loads(jwt.PyJWS().decode(ours, public, algorithms=[algorithm])) == claims

    same()


def test_what_encode_rewrites_still_goes_through_encode() -> None:
    """A datetime claim (``encode`` turns it into seconds), another ``typ``, a non-string issuer
    (``encode`` refuses it): the same answer as ``encode``'s."""
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert KEYS.sign({"sub": "a", "exp": moment}, "RS256") == pyjwt({"sub": "a", "exp": moment}, "RS256")
    assert KEYS.sign({"sub": "a"}, "RS256", "logout+jwt") == pyjwt({"sub": "a"}, "RS256", "logout+jwt")
    with pytest.raises(TypeError, match="Issuer"):
        KEYS.sign({"iss": 7}, "RS256")
