"""A real relying party signs in against the live fake IdP, on Keycloak's and FusionAuth's paths.

Authlib's OAuth 2.0 client runs the authorization code flow with PKCE; the ID token is checked the
way an RP checks it (joserfc against the JWKS the discovery document names, Authlib's OpenID
``CodeIDToken`` rules: iss, aud, exp, iat, nonce, at_hash); then refresh, userinfo, logout. The events
of each step arrive at a webhook receiver as the vendor's, with the token's ``sid`` and ``sub``. The
refusals are test_refusals.py's.

One emulator, one receiver and one back-channel listener serve the whole module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from emulator.delivery.config import Config
from emulator.testing.emulator import Emulator
from emulator.testing.harness import LoopThread
from emulator.testing.receiver import WebhookReceiver

REDIRECT = "http://localhost:3000/callback"
SECRET = "web-app-secret-of-some-length"
DISCOVERY = {
    "keycloak": "/realms/acme/.well-known/openid-configuration",
    "fusionauth": "/.well-known/openid-configuration/{tenant}",
}


@dataclass
class Setup:
    harness: LoopThread
    emulator: Emulator
    receiver: WebhookReceiver
    backchannel: WebhookReceiver

    @property
    def url(self) -> str:
        return self.emulator.url

    def meta(self, vendor: str) -> dict[str, Any]:
        path = DISCOVERY[vendor]
        if "{tenant}" in path:  # FusionAuth's tenant id: the default tenant's document says it
            tenant = requests.get(self.url + "/.well-known/openid-configuration").json()["issuer"]
            assert tenant == self.url
            path = "/.well-known/openid-configuration"
        meta: dict[str, Any] = requests.get(self.url + path).json()
        return meta

    def events(self, since: int, count: int, keep: Any) -> list[dict[str, Any]]:
        """The first ``count`` webhooks after the first ``since`` that ``keep`` keeps (their bodies), in
        arrival order: another test's events may still be arriving, and are passed over."""
        while True:
            kept = [b for b in (w.json() for w in self.receiver.received[since:]) if keep(b)]
            if len(kept) >= count:
                return kept[:count]
            self.harness.run(self.receiver.wait_for(len(self.receiver.received) + 1, timeout=10))


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    harness = LoopThread()
    emulator = harness.run(Emulator(harness).start())
    receiver = harness.run(WebhookReceiver().start())
    backchannel = harness.run(WebhookReceiver().start())
    emulator.service.config = Config(
        clients=[
            {"id": "web-app", "secret": SECRET, "redirect_uris": [REDIRECT], "backchannel_logout_uri": backchannel.url},
            {"id": "spa", "redirect_uris": ["http://localhost:3000/*"]},
            {"id": "svc", "secret": "svc-secret", "grants": ["client_credentials"]},
        ],
        users=[{"username": "alice", "password": "wonderland", "email": "alice@example.com", "roles": ["admin"]}],
    )
    for vendor in ("keycloak", "fusionauth"):
        spec = {"name": vendor, "vendor": vendor, "url": receiver.url + "/" + vendor}
        requests.post(emulator.url + "/api/targets", json=spec).raise_for_status()
    yield Setup(harness, emulator, receiver, backchannel)
    harness.run(backchannel.stop())
    harness.run(receiver.stop())
    harness.run(emulator.stop())
    harness.close()


def sign_in(setup: Setup, meta: dict[str, Any], client: OAuth2Session, verifier: str, nonce: str) -> str:
    """Through the login page as a browser would post it: the redirect back to the app."""
    url, _ = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    browser = requests.Session()
    page = browser.get(url, allow_redirects=False)
    assert page.status_code == 200 and "Sign in" in page.text
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    done = browser.post(
        setup.url + "/oidc/login",
        data={**form, "username": "alice", "password": "wonderland", "outcome": "success"},
        allow_redirects=False,
    )
    assert done.status_code == 302, done.text
    return done.headers["Location"]


def check_id_token(meta: dict[str, Any], token: dict[str, Any], nonce: str) -> dict[str, Any]:
    """What an RP checks before it trusts an ID token."""
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"]).json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={"iss": {"essential": True, "value": meta["issuer"]}, "aud": {"essential": True, "value": "web-app"}},
        params={"nonce": nonce, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)
    return dict(decoded.claims)


@pytest.mark.parametrize("vendor", ["keycloak", "fusionauth"])
def test_a_relying_party_signs_in_refreshes_reads_userinfo_and_logs_out(setup, vendor):
    meta = setup.meta(vendor)
    since = len(setup.receiver.received)
    client = OAuth2Session(
        "web-app", SECRET, scope="openid email profile", redirect_uri=REDIRECT, code_challenge_method="S256"
    )
    verifier, nonce = generate_token(48), generate_token(16)
    back = sign_in(setup, meta, client, verifier, nonce)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=back, code_verifier=verifier)
    claims = check_id_token(meta, token, nonce)
    sid, sub = claims["sid"], claims["sub"]
    assert claims["preferred_username"] == "alice" and claims["email"] == "alice@example.com"

    info = client.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == sub and info["preferred_username"] == "alice"
    refreshed = client.refresh_token(meta["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    active = requests.post(
        meta["introspection_endpoint"], data={"token": refreshed["access_token"]}, auth=("web-app", SECRET)
    )
    assert active.json()["active"] is True and active.json()["sub"] == sub

    bye = requests.get(
        meta["end_session_endpoint"],
        params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": REDIRECT, "state": "s1"},
        allow_redirects=False,
    )
    assert bye.status_code == 302 and bye.headers["Location"] == REDIRECT + "?state=s1"
    gone = requests.post(
        meta["introspection_endpoint"], data={"token": refreshed["access_token"]}, auth=("web-app", SECRET)
    )
    assert gone.json() == {"active": False}
    logout = setup.harness.run(setup.backchannel.wait_for(1, timeout=10))[-1]
    assert logout.body.startswith(b"logout_token=")

    if vendor == "keycloak":  # the events of login, code_to_token, refresh and logout, in order
        events = setup.events(since, 4, lambda e: e.get("authDetails", {}).get("userId") == sub)
        assert [e["type"] for e in events] == [
            "access.LOGIN",
            "access.CODE_TO_TOKEN",
            "access.REFRESH_TOKEN",
            "access.LOGOUT",
        ]
        assert {e["authDetails"]["sessionId"] for e in events} == {sid}
        assert {e["authDetails"]["userId"] for e in events} == {sub}
    else:  # FusionAuth: user.login.success and jwt.refresh (it has no event for the exchange or a logout)
        events = setup.events(
            since, 2, lambda e: sub in (e["event"].get("userId"), e["event"].get("user", {}).get("id"))
        )
        assert [e["event"]["type"] for e in events] == ["user.login.success", "jwt.refresh"]
        assert {e["event"]["user"]["id"] if "user" in e["event"] else e["event"]["userId"] for e in events} == {sub}


def test_plain_pkce_and_a_public_client(setup):
    meta = setup.meta("keycloak")
    client = OAuth2Session(
        "spa", scope="openid", redirect_uri="http://localhost:3000/cb", code_challenge_method="plain"
    )
    verifier = generate_token(48)
    back = sign_in(setup, meta, client, verifier, "n")
    token = client.fetch_token(meta["token_endpoint"], authorization_response=back, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and "id_token" in token


def test_client_credentials_and_password_grants(setup):
    meta = setup.meta("keycloak")
    since = len(setup.receiver.received)
    service = requests.post(
        meta["token_endpoint"], data={"grant_type": "client_credentials"}, auth=("svc", "svc-secret")
    )
    assert service.status_code == 200 and "refresh_token" not in service.json()
    password = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "password", "username": "alice", "password": "wonderland", "scope": "openid"},
        auth=("web-app", SECRET),
    )
    assert password.status_code == 200 and {"access_token", "refresh_token", "id_token"} <= set(password.json())
    events = setup.events(
        since,
        2,
        lambda e: (
            e.get("type") in ("access.CLIENT_LOGIN", "access.LOGIN")
            and e["authDetails"]["clientId"] in ("svc", "web-app")
            and e.get("details", {}).get("grant_type") in ("client_credentials", "password")
        ),
    )
    assert [e["type"] for e in events] == ["access.CLIENT_LOGIN", "access.LOGIN"]
    assert events[1]["details"]["grant_type"] == "password"


def code_for(setup: Setup, meta: dict[str, Any], challenge: str | None = None) -> str:
    client = OAuth2Session("web-app", SECRET, scope="openid", redirect_uri=REDIRECT)
    params = {"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}
    url, _ = client.create_authorization_url(meta["authorization_endpoint"], **params)
    browser = requests.Session()
    page = browser.get(url)
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    done = browser.post(
        setup.url + "/oidc/login", data={**form, "username": "alice", "password": "wonderland"}, allow_redirects=False
    )
    return re.search(r"code=([^&]+)", done.headers["Location"]).group(1)


def exchange(meta: dict[str, Any], code: str, **extra: str) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    return requests.post(meta["token_endpoint"], data=data, auth=("web-app", SECRET))
