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
