"""Signing keys rotated while the provider serves, as Keycloak's realm keys and FusionAuth's Key Master do.

After ``POST /api/oidc/keys`` new tokens carry the new ``kid``; the JWKS lists the new key and
keeps the old one (passive), so tokens signed before still verify, at the relying party (joserfc,
refetching the JWKS when it meets an unknown kid, as RP libraries do) and at the provider (userinfo).
A removed key takes its tokens with it; a grace period removes it by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from emulator.errors import ConflictError, NotFoundError
from emulator.oidc import keys as signing
from emulator.testing.emulator import Emulator
from emulator.testing.harness import LoopThread
from emulator.testing.oidc import OidcProvider


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[Emulator, OidcProvider]]:
    harness = LoopThread()
    emulator = harness.run(Emulator(harness).start())
    provider = emulator.oidc("keycloak", users=[{"username": "dana", "password": "pw"}])
    yield emulator, provider
    harness.run(emulator.stop())
    harness.close()


class RelyingParty:
    """What an RP library does with a JWKS: keep it, and fetch it again for a kid it does not know."""

    def __init__(self, jwks_uri: str) -> None:
        self.jwks_uri = jwks_uri
        self.fetches = 0
        self.keys = self.fetch()

    def fetch(self) -> KeySet:
        self.fetches += 1
        return KeySet.import_key_set(requests.get(self.jwks_uri).json())

    def verify(self, token: str) -> dict[str, Any]:
        try:
            decoded = jwt.decode(token, self.keys, algorithms=["RS256"])
        except (JoseError, ValueError):  # a kid not in the cached set
            self.keys = self.fetch()
            decoded = jwt.decode(token, self.keys, algorithms=["RS256"])
        return dict(decoded.claims)


def tokens(provider: OidcProvider) -> dict[str, Any]:
    meta = provider.metadata
    answer = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "password", "username": "dana", "password": "pw", "scope": "openid"},
        auth=(provider.client_id, provider.client_secret or ""),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def kid(token: str) -> str:
    from joserfc.jws import extract_compact

    return str(extract_compact(token.encode()).protected["kid"])


def test_a_rotation_while_serving_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(idp):
    emulator, provider = idp
    meta = provider.metadata
    before = tokens(provider)
    rp = RelyingParty(meta["jwks_uri"])
    assert rp.verify(before["id_token"])["preferred_username"] == "dana"

    rotated = requests.post(emulator.url + "/api/oidc/keys")
    assert rotated.status_code == 200
    listed = {k["kid"]: k["status"] for k in rotated.json()["keys"]}
    assert listed[kid(before["id_token"])] == "passive"
    (new_kid,) = [k for k, status in listed.items() if status == "active"]

    after = tokens(provider)
    assert kid(after["id_token"]) == kid(after["access_token"]) == new_kid != kid(before["id_token"])
    assert rp.verify(after["id_token"])["sub"] == rp.verify(before["id_token"])["sub"]
    assert rp.fetches == 2  # the unknown kid made it fetch the JWKS again, once
    published = {k["kid"] for k in requests.get(meta["jwks_uri"]).json()["keys"]}
    assert {new_kid, kid(before["id_token"])} <= published
    userinfo = meta["userinfo_endpoint"]
    for token in (before, after):  # the provider still takes the old key's access token too
        answer = requests.get(userinfo, headers={"Authorization": f"Bearer {token['access_token']}"})
        assert answer.status_code == 200 and answer.json()["preferred_username"] == "dana"

    # removed, the old key takes its tokens with it; the active key cannot be removed
    old = kid(before["id_token"])
    assert requests.delete(f"{emulator.url}/api/oidc/keys/{old}").json() == {"kid": old, "deleted": True}
    assert old not in {k["kid"] for k in requests.get(meta["jwks_uri"]).json()["keys"]}
    refused = requests.get(userinfo, headers={"Authorization": f"Bearer {before['access_token']}"})
    assert refused.status_code == 401
    active = requests.delete(f"{emulator.url}/api/oidc/keys/{new_kid}")
    assert active.status_code == 409 and active.json()["title"] == "Active key"
    assert requests.delete(f"{emulator.url}/api/oidc/keys/nope").status_code == 404


def test_the_fixture_rotates_too(idp):
    _emulator, provider = idp
    before = kid(tokens(provider)["id_token"])
    (new,) = provider.rotate_keys()
    assert kid(tokens(provider)["id_token"]) == new != before


def test_a_passive_key_leaves_after_its_grace_or_when_more_are_kept(monkeypatch):
    made: list[str] = []

    def numbered(algorithm: str, at: float) -> signing.SigningKey:  # no RSA key needed to count them
        made.append(f"k{len(made)}")
        return signing.SigningKey(made[-1], algorithm, None, {"kid": made[-1]}, at)

    monkeypatch.setattr(signing, "_new_key", numbered)
    now = [1000.0]
    keys = signing.KeySet(keep=2, grace=60, clock=lambda: now[0])
    assert keys.key("RS256").kid == "k0"
    keys.rotate()
    assert [(k.kid, k.view()["status"]) for k in keys.published()] == [("k1", "active"), ("k0", "passive")]
    now[0] += 59
    assert [k.kid for k in keys.published()] == ["k1", "k0"]
    now[0] += 2  # its grace is over
    assert [k.kid for k in keys.published()] == ["k1"]
    keys.grace = None
    for _ in range(3):
        keys.rotate()
    assert [k.kid for k in keys.published()] == ["k4", "k3", "k2"]  # the active key, the newest two passive
    with pytest.raises(ConflictError):
        keys.remove("k4")
    with pytest.raises(NotFoundError):
        keys.remove("k1")
    assert keys.remove("k2").kid == "k2" and [k.kid for k in keys.published()] == ["k4", "k3"]
