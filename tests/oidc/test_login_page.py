"""The same sign-in through the login page in headless Chromium, for Keycloak's and FusionAuth's paths.

The browser goes where the app sends it (the authorization endpoint), signs in on the page, and lands
on the app's callback (a plain page on another port); the app's back end (Authlib) exchanges the code,
checks the ID token, refreshes, reads userinfo and sends the browser to the logout endpoint. A wrong
password chosen on the page shows the vendor's message and sends the vendor's error event. The events
arrive at a webhook receiver with the token's ``sid`` and ``sub``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from browser import page_server
from joserfc import jwt
from joserfc.jwk import KeySet

from emulator.testing.emulator import Emulator
from emulator.testing.harness import LoopThread
from emulator.testing.oidc import OidcProvider, register
from emulator.testing.receiver import WebhookReceiver

T = TypeVar("T")


def on(harness: LoopThread, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the emulator's loop (Playwright's synchronous API keeps a loop of its own running
    in this thread, so the harness's own check for async tests would refuse)."""
    return asyncio.run_coroutine_threadsafe(coro, harness.loop).result(15)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LoopThread, Emulator, WebhookReceiver, str]]:
    harness = LoopThread()
    emulator = on(harness, Emulator(harness).start())
    receiver = on(harness, WebhookReceiver().start())
    with page_server("<!doctype html><title>My app</title><p>Signed in.</p>") as app:
        yield harness, emulator, receiver, app.rstrip("/")
    on(harness, receiver.stop())
    on(harness, emulator.stop())
    harness.close()


def bodies(harness: LoopThread, receiver: WebhookReceiver, count: int) -> list[dict[str, Any]]:
    on(harness, receiver.wait_for(count, timeout=10))
    return [w.json() for w in receiver.received[:count]]


async def provider(emulator: Emulator, vendor: str, receiver: WebhookReceiver) -> OidcProvider:
    users = [{"username": "bob", "password": "builder", "email": "bob@example.com"}]
    client = {"id": f"{vendor}-app"}
    return register(emulator.service, emulator.url, vendor, client, users, None, receiver.url)


@pytest.mark.parametrize("vendor", ["keycloak", "fusionauth"])
def test_a_browser_signs_in_on_the_login_page(browser, served, vendor):
    harness, emulator, receiver, app = served
    receiver.received.clear()
    idp = on(harness, provider(emulator, vendor, receiver))
    meta = requests.get(idp.discovery_url).json()
    client = OAuth2Session(
        idp.client_id, idp.client_secret, scope="openid email profile", redirect_uri=app + "/callback",
        code_challenge_method="S256",
    )  # fmt: skip
    verifier, nonce = generate_token(48), generate_token(16)
    url, _ = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)

    page = browser.new_page()
    try:
        page.goto(url)
        page.fill("#username", "bob")
        page.fill("#password", "not-the-password")
        page.click("button[type=submit]")
        assert "Sign-in failed" in page.inner_text(
            "[role=alert]"
        )  # the page again, with the vendor words  # the page again, with the vendor's words
        page.fill("#username", "bob")
        page.fill("#password", "builder")
        page.check("input[value=success]")
        with page.expect_navigation(url=f"{app}/callback*"):
            page.click("button[type=submit]")
        back = page.url
        token = client.fetch_token(meta["token_endpoint"], authorization_response=back, code_verifier=verifier)
        keys = KeySet.import_key_set(requests.get(meta["jwks_uri"]).json())
        claims = jwt.decode(token["id_token"], keys, algorithms=["RS256"]).claims
        assert claims["iss"] == meta["issuer"] and claims["aud"] == idp.client_id and claims["nonce"] == nonce
        assert client.get(meta["userinfo_endpoint"]).json()["sub"] == claims["sub"]
        assert "access_token" in client.refresh_token(meta["token_endpoint"])
        logout = f"{meta['end_session_endpoint']}?id_token_hint={token['id_token']}&post_logout_redirect_uri={app}/bye"
        with page.expect_navigation(url=f"{app}/bye"):
            page.goto(logout)
    finally:
        page.close()

    sid, sub = claims["sid"], claims["sub"]
    if vendor == "keycloak":
        events = bodies(harness, receiver, 5)
        assert [e["type"] for e in events] == [
            "access.LOGIN_ERROR", "access.LOGIN", "access.CODE_TO_TOKEN", "access.REFRESH_TOKEN", "access.LOGOUT",
        ]  # fmt: skip
        assert events[0]["error"] == "invalid_user_credentials"
        assert {e["authDetails"]["sessionId"] for e in events[1:]} == {sid}
        assert {e["authDetails"]["userId"] for e in events} == {sub}
    else:
        events = bodies(harness, receiver, 3)
        assert [e["event"]["type"] for e in events] == ["user.login.failed", "user.login.success", "jwt.refresh"]
        assert events[1]["event"]["user"]["id"] == sub and events[2]["event"]["userId"] == sub


# outcome: (what the app gets back: a code, an error, or the page again), Keycloak's events (the catalog's
# rules: required actions before the LOGIN they belong to, consent on LOGIN, the broker's first login)
KEYCLOAK_OUTCOMES = {
    "update_password": ("code", ["access.UPDATE_PASSWORD", "access.UPDATE_CREDENTIAL", "access.LOGIN"]),
    "verify_email": ("code", ["access.SEND_VERIFY_EMAIL", "access.VERIFY_EMAIL", "access.LOGIN"]),
    "consent": ("code", ["access.LOGIN"]),
    "consent_denied": ("access_denied", ["access.LOGIN_ERROR"]),
    "upstream_first": ("code", ["access.IDENTITY_PROVIDER_FIRST_LOGIN", "access.REGISTER", "access.LOGIN"]),
    "locked": ("page", ["access.LOGIN_ERROR"]),
    "error": ("page", ["access.LOGIN_ERROR"]),
}


def test_each_outcome_chosen_on_the_page_ends_as_its_action_with_its_events(browser, served):
    harness, emulator, receiver, app = served
    receiver.received.clear()
    idp = on(harness, provider(emulator, "keycloak", receiver))
    meta = requests.get(idp.discovery_url).json()
    client = OAuth2Session(idp.client_id, idp.client_secret, scope="openid", redirect_uri=app + "/callback")
    page = browser.new_page()
    seen = 0
    try:
        for outcome, (ending, types) in KEYCLOAK_OUTCOMES.items():
            url, _ = client.create_authorization_url(meta["authorization_endpoint"])
            page.goto(url)
            page.fill("#username", "bob")
            page.fill("#password", "builder")
            page.check(f"input[value={outcome}]")
            if outcome == "upstream_first":
                page.fill("#upstream", "github")
            if outcome == "error":
                page.select_option("select[name=error]", "expired_code")
            if ending == "page":
                page.click("button[type=submit]")
                assert "Sign-in failed" in page.inner_text("[role=alert]"), outcome
            else:
                with page.expect_navigation(url=f"{app}/callback*"):
                    page.click("button[type=submit]")
                assert (f"error={ending}" if ending != "code" else "code=") in page.url, outcome
            events = bodies(harness, receiver, seen + len(types))[seen:]
            seen += len(types)
            assert [e["type"] for e in events] == types, outcome
            last = events[-1]
            if outcome == "consent":
                assert last["details"]["consent"] == "consent_granted"
            if outcome == "consent_denied":
                assert last["error"] == "rejected_by_user"
            if outcome == "upstream_first":
                assert last["details"]["identity_provider"] == "github"
                assert events[1]["details"]["register_method"] == "broker"
            if outcome == "locked":
                assert last["error"] == "user_temporarily_disabled"
            if outcome == "error":
                assert last["error"] == "expired_code"
            if ending == "code":  # one session: every event of the step names it
                assert len({e["authDetails"]["sessionId"] for e in events}) == 1
    finally:
        page.close()


def test_fusionauth_outcomes_send_its_events(served):
    """The same choices on FusionAuth's paths (the form posted as the browser posts it): its identity-provider
    login and required actions are its own events (the catalog's rows for sso_login and required_action)."""
    import re

    harness, emulator, receiver, app = served
    receiver.received.clear()
    idp = on(harness, provider(emulator, "fusionauth", receiver))
    meta = requests.get(idp.discovery_url).json()
    client = OAuth2Session(idp.client_id, idp.client_secret, scope="openid", redirect_uri=app + "/callback")
    expected = {
        "upstream_first": [
            "user.create", "user.registration.create", "user.create.complete", "user.registration.create.complete",
            "user.identity-provider.link", "user.update", "user.update.complete", "user.login.success",
        ],  # FusionAuth updates the user on every identity-provider login (user-update.mdx)
        "update_password": ["user.password.update"],
    }  # fmt: skip
    seen = 0
    for outcome, types in expected.items():
        url, _ = client.create_authorization_url(meta["authorization_endpoint"])
        browser = requests.Session()
        page = browser.get(url)
        form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        done = browser.post(
            emulator.url + "/oidc/login",
            data={**form, "username": "bob", "password": "builder", "outcome": outcome, "upstream": "google"},
            headers={"Origin": emulator.url},
            allow_redirects=False,
        )
        assert done.status_code == 302 and "code=" in done.headers["Location"], done.text
        events = bodies(harness, receiver, seen + len(types))[seen:]
        seen += len(types)
        assert [e["event"]["type"] for e in events] == types, outcome


def test_auto_approve_ends_with_the_outcome_it_names(served):
    from emulator.oidc.clients import settings_from

    harness, emulator, _receiver, app = served
    parsed = settings_from({"auto_approve": {"user": "bob", "outcome": "consent_denied"}})  # as emulator.yaml says
    assert (parsed.auto_approve, parsed.auto_outcome) == ("bob", "consent_denied")
    idp = on(harness, signing_in(emulator, "bob", parsed.auto_outcome))
    try:
        client = OAuth2Session(idp.client_id, idp.client_secret, scope="openid", redirect_uri=app + "/callback")
        url, state = client.create_authorization_url(requests.get(idp.discovery_url).json()["authorization_endpoint"])
        answer = requests.get(url, allow_redirects=False)
        assert answer.status_code == 302 and f"error=access_denied&state={state}" in answer.headers["Location"]
    finally:
        emulator.service.oidc.settings.auto_approve = None  # the module's other tests use the page
    with pytest.raises(ValueError, match="not one of"):
        on(harness, signing_in(emulator, "bob", "nope"))


async def signing_in(emulator: Emulator, user: str, outcome: str) -> OidcProvider:
    """What ``idp_emulator.oidc(..., sign_in_as=user, outcome=...)`` registers (on the emulator's loop)."""
    return register(emulator.service, emulator.url, "keycloak", None, [], user, None, outcome)
