"""Every refusal of the live fake IdP, on Keycloak's and FusionAuth's paths: one table, both vendors.

Each row provokes one refusal as an app (or an attacker) would, then checks the answer against the
vendor's own: status, ``error``, ``error_description`` and FusionAuth's ``error_reason``, written here
from the vendor's source (Keycloak: services/src/main/java/org/keycloak/, named per row; FusionAuth:
its OAuthError docs and client types, and the bodies FusionAuth issues quote; where FusionAuth's words
are not public only ``error`` and ``error_reason`` are checked). Then the events the refusal delivered,
as they arrived at the webhook receiver: Keycloak's ``*_ERROR`` event with the error Keycloak writes;
FusionAuth's only failure event is ``user.login.failed`` for a known user's credentials, so most of its
refusals deliver nothing, which is checked too once every delivery has finished.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from test_live_login import REDIRECT, SECRET, Setup, code_for, exchange, setup  # noqa: F401 (setup: a fixture)

OTHER = ("other-app", "other-app-secret")  # a second confidential client
WEB_ONLY = ("web-only", "web-only-secret")  # a client without the client credentials grant
PUBLIC = "spa"  # the setup's public client (no secret)
Request = Callable[[], requests.Response]
Prepare = Callable[[Setup, str, dict[str, Any], pytest.MonkeyPatch], Request]


@dataclass(frozen=True)
class Refused:
    """The vendor's answer: a JSON body (``error_description`` None: not public, not checked) or the
    words its page shows, and the events delivered (type, Keycloak's error)."""

    status: int
    body: dict[str, str | None] | str
    events: tuple[tuple[str, str | None], ...] = ()


def kc(status: int, error: str, description: str, event: str, code: str | None) -> Refused:
    return Refused(status, {"error": error, "error_description": description}, ((f"access.{event}", code),))


def fa(status: int, error: str, reason: str, description: str | None = None, *events: str) -> Refused:
    body = {"error": error, "error_description": description, "error_reason": reason}
    return Refused(status, body, tuple((e, None) for e in events))


def token(meta: dict[str, Any], data: dict[str, str], auth: tuple[str, str] = ("web-app", SECRET)) -> Request:
    return lambda: requests.post(meta["token_endpoint"], data=data, auth=auth)


def password_grant(meta: dict[str, Any], auth: tuple[str, str] = ("web-app", SECRET)) -> dict[str, Any]:
    data = {"grant_type": "password", "username": "alice", "password": "wonderland", "scope": "openid"}
    answer = requests.post(meta["token_endpoint"], data=data, auth=auth)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def refresh(meta: dict[str, Any], refresh_token: str, auth: tuple[str, str] = ("web-app", SECRET)) -> Request:
    return token(meta, {"grant_type": "refresh_token", "refresh_token": refresh_token}, auth)


def provider(env: Setup, vendor: str) -> Any:
    return env.emulator.service.oidc.providers[vendor]


# -- how each refusal is provoked -----------------------------------------------------------------
def unknown_client(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    data = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT}
    return token(meta, data, ("nobody", "x"))


def bad_secret(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    data = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT}
    return token(meta, data, ("web-app", "not-the-secret"))


def unknown_client_page(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    params = {"client_id": "nobody", "response_type": "code", "redirect_uri": REDIRECT}
    return lambda: requests.get(meta["authorization_endpoint"], params=params, allow_redirects=False)


def bad_redirect_uri(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    params = {"client_id": "web-app", "response_type": "code", "redirect_uri": "https://evil.example/cb"}
    return lambda: requests.get(meta["authorization_endpoint"], params=params, allow_redirects=False)


def reused_code(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    code = code_for(env, meta)
    assert exchange(meta, code).status_code == 200
    return lambda: exchange(meta, code)


def expired_code(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    code = code_for(env, meta)
    provider(env, vendor).codes[code].expires = time.time() - 1  # its minute is over (the provider's clock)
    return lambda: exchange(meta, code)


def redirect_mismatch(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    code = code_for(env, meta)
    return lambda: exchange(meta, code, redirect_uri=REDIRECT + "/other")


def pkce(verifier: str | None) -> Prepare:
    def prepare(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
        code = code_for(env, meta, create_s256_code_challenge(generate_token(48)))
        return lambda: exchange(meta, code, **({"code_verifier": verifier} if verifier is not None else {}))

    return prepare


def refresh_invalid(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    return refresh(meta, "not-a-refresh-token")


def refresh_expired(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    tokens = password_grant(meta)
    provider(env, vendor)._refresh_record(tokens["refresh_token"]).expires = time.time() - 1
    return refresh(meta, tokens["refresh_token"])


def refresh_wrong_client(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    return refresh(meta, password_grant(meta)["refresh_token"], OTHER)


def refresh_after_logout(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    tokens = password_grant(meta)
    bye = requests.get(meta["end_session_endpoint"], params={"id_token_hint": tokens["id_token"]})
    assert bye.status_code == 200
    return refresh(meta, tokens["refresh_token"])


def refresh_revoked(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    tokens = password_grant(meta)
    revoked = requests.post(
        meta["revocation_endpoint"], data={"token": tokens["refresh_token"]}, auth=("web-app", SECRET)
    )
    assert revoked.status_code == 200
    return refresh(meta, tokens["refresh_token"])


def refresh_reused(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    # Keycloak's realm "Revoke Refresh Token" / FusionAuth's refreshTokenUsagePolicy OneTimeUse
    mp.setattr(provider(env, vendor), "reuse", False)
    mp.setattr(provider(env, vendor), "rotate", True)
    first = password_grant(meta)["refresh_token"]
    assert refresh(meta, first)().status_code == 200
    return refresh(meta, first)


def bad_password(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    return token(meta, {"grant_type": "password", "username": "alice", "password": "not-wonderland"})


def password_not_allowed(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    data = {"grant_type": "password", "username": "alice", "password": "wonderland"}
    return token(meta, data, ("svc", "svc-secret"))


def client_credentials_not_allowed(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    return token(meta, {"grant_type": "client_credentials"}, WEB_ONLY)


def public_client_credentials(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    data = {"grant_type": "client_credentials", "client_id": PUBLIC}
    return lambda: requests.post(meta["token_endpoint"], data=data)


def unsupported_grant(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    return token(meta, {"grant_type": "urn:example:no-such-grant"})


def bad_access_token(env: Setup, vendor: str, meta: dict[str, Any], mp: pytest.MonkeyPatch) -> Request:
    return lambda: requests.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer not-a-token"})


# -- the vendors' answers -------------------------------------------------------------------------
REFRESH_KC = "REFRESH_TOKEN_ERROR", "invalid_token"  # RefreshTokenGrantType: every OAuthErrorException
REFRESH_FA = fa(400, "invalid_grant", "refresh_token_not_found", "The refresh_token is invalid.")  # issues#1796
CODE_FA = fa(400, "invalid_request", "auth_code_not_found", "Invalid Authorization Code")  # issues#150, #211
VERIFIER_FA = fa(400, "invalid_grant", "invalid_pkce_code_verifier")
INVALID_CLIENT = "Invalid client or Invalid client credentials"

REFUSALS: dict[str, tuple[Prepare, dict[str, Refused]]] = {
    # AuthenticationProcessor.handleClientAuthException (CLIENT_NOT_FOUND); FusionAuth issues#445
    "unknown client": (unknown_client, {
        "keycloak": kc(401, "invalid_client", INVALID_CLIENT, "CODE_TO_TOKEN_ERROR", "client_not_found"),
        "fusionauth": fa(401, "invalid_client", "invalid_client_id", "client_id: nobody is not valid."),
    }),
    # ClientIdAndSecretAuthenticator.reportFailedAuth (INVALID_CLIENT_CREDENTIALS)
    "wrong client secret": (bad_secret, {
        "keycloak": kc(401, "unauthorized_client", INVALID_CLIENT, "CODE_TO_TOKEN_ERROR", "invalid_client_credentials"),
        "fusionauth": fa(401, "invalid_client", "invalid_client_authentication"),
    }),
    # AuthorizationEndpointChecker.checkClient: the error page (messages_en clientNotFoundMessage)
    "unknown client at authorize": (unknown_client_page, {
        "keycloak": Refused(400, "Client not found.", (("access.LOGIN_ERROR", "client_not_found"),)),
        "fusionauth": fa(400, "invalid_client", "invalid_client_id", "client_id: nobody is not valid."),
    }),
    # AuthorizationEndpointChecker.checkRedirectUri: a page, never a redirect to the unknown URI
    "bad redirect URI": (bad_redirect_uri, {
        "keycloak": Refused(400, "Invalid parameter: redirect_uri", (("access.LOGIN_ERROR", "invalid_redirect_uri"),)),
        "fusionauth": fa(400, "invalid_request", "invalid_redirect_uri"),
    }),
    # AuthorizationCodeGrantType: parseResult.isIllegalCode / isExpiredCode / the redirect_uri check
    "reused code": (reused_code, {
        "keycloak": kc(400, "invalid_grant", "Code not valid", "CODE_TO_TOKEN_ERROR", "invalid_code"),
        "fusionauth": CODE_FA,
    }),
    "expired code": (expired_code, {
        "keycloak": kc(400, "invalid_grant", "Code is expired", "CODE_TO_TOKEN_ERROR", "expired_code"),
        "fusionauth": CODE_FA,
    }),
    "redirect URI differs at the exchange": (redirect_mismatch, {
        "keycloak": kc(400, "invalid_grant", "Incorrect redirect_uri", "CODE_TO_TOKEN_ERROR", "invalid_redirect_uri"),
        "fusionauth": fa(400, "invalid_request", "invalid_redirect_uri"),
    }),
    # PkceUtils.checkParamsForPkceEnforcedClient / verifyCodeVerifier
    "no PKCE verifier": (pkce(None), {
        "keycloak": kc(400, "invalid_grant", "PKCE code verifier not specified", "CODE_TO_TOKEN_ERROR",
                       "code_verifier_missing"),
        "fusionauth": fa(400, "invalid_request", "missing_code_verifier"),
    }),
    "malformed PKCE verifier": (pkce("too-short"), {
        "keycloak": kc(400, "invalid_grant", "PKCE verification failed: Invalid code verifier", "CODE_TO_TOKEN_ERROR",
                       "invalid_code_verifier"),
        "fusionauth": VERIFIER_FA,
    }),
    "bad PKCE verifier": (pkce("A" * 43), {
        "keycloak": kc(400, "invalid_grant", "PKCE verification failed: Code mismatch", "CODE_TO_TOKEN_ERROR",
                       "pkce_verification_failed"),
        "fusionauth": VERIFIER_FA,
    }),
    # TokenManager.verifyRefreshToken / validateToken / validateTokenReuse
    "unknown refresh token": (refresh_invalid, {
        "keycloak": kc(400, "invalid_grant", "Invalid refresh token", *REFRESH_KC), "fusionauth": REFRESH_FA,
    }),
    "expired refresh token": (refresh_expired, {
        "keycloak": kc(400, "invalid_grant", "Token is not active", *REFRESH_KC), "fusionauth": REFRESH_FA,
    }),
    "refresh token of another client": (refresh_wrong_client, {
        "keycloak": kc(400, "invalid_grant", "Invalid refresh token. Token client and authorized client don't match",
                       *REFRESH_KC),
        "fusionauth": REFRESH_FA,
    }),
    "refresh token after logout": (refresh_after_logout, {
        "keycloak": kc(400, "invalid_grant", "Session not active", *REFRESH_KC), "fusionauth": REFRESH_FA,
    }),
    "revoked refresh token": (refresh_revoked, {
        "keycloak": kc(400, "invalid_grant", "Session doesn't have required client", *REFRESH_KC),
        "fusionauth": REFRESH_FA,
    }),
    "reused refresh token": (refresh_reused, {
        "keycloak": kc(400, "invalid_grant", "Stale token", *REFRESH_KC), "fusionauth": REFRESH_FA,
    }),
    # the direct grant flow's password check: 401; FusionAuth's user.login.failed for a known user
    "wrong password": (bad_password, {
        "keycloak": kc(401, "invalid_grant", "Invalid user credentials", "LOGIN_ERROR", "invalid_user_credentials"),
        "fusionauth": fa(400, "invalid_grant", "invalid_user_credentials", None, "user.login.failed"),
    }),
    # ResourceOwnerPasswordCredentialsGrantType / ClientCredentialsGrantType: each grant its own words
    "password grant not enabled": (password_not_allowed, {
        "keycloak": kc(400, "unauthorized_client", "Client not allowed for direct access grants", "LOGIN_ERROR",
                       "not_allowed"),
        "fusionauth": fa(400, "unauthorized_client", "grant_type_disabled"),
    }),
    "client credentials grant not enabled": (client_credentials_not_allowed, {
        "keycloak": kc(401, "unauthorized_client", "Client not enabled to retrieve service account",
                       "CLIENT_LOGIN_ERROR", "invalid_client"),
        "fusionauth": fa(400, "unauthorized_client", "grant_type_disabled"),
    }),
    # ClientCredentialsGrantType: a public client before service accounts; FusionAuth's validator: no credentials
    "client credentials for a public client": (public_client_credentials, {
        "keycloak": kc(401, "unauthorized_client", "Public client not allowed to retrieve service account",
                       "CLIENT_LOGIN_ERROR", "invalid_client"),
        "fusionauth": fa(401, "invalid_client", "client_authentication_missing"),
    }),
    # TokenEndpoint.checkGrantType: before the client authenticates and before the event has a type
    "unsupported grant type": (unsupported_grant, {
        "keycloak": Refused(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"}),
        "fusionauth": fa(400, "unsupported_grant_type", "invalid_grant_type"),
    }),
    # a resource request with a token this provider never signed (no event: userinfo is no scenario action)
    "bad access token at userinfo": (bad_access_token, {
        "keycloak": Refused(401, {"error": "invalid_token", "error_description": "Token verification failed"}),
        "fusionauth": fa(401, "invalid_token", "access_token_invalid"),
    }),
}  # fmt: skip


@pytest.fixture(scope="module")
def clients(setup: Setup) -> Setup:  # noqa: F811 (the fixture imported above)
    """Two more clients: another confidential one, and one without the client credentials grant."""
    setup.meta("keycloak")  # the providers exist from the first request on
    directory = setup.emulator.service.oidc.directory
    directory.put_client({"id": OTHER[0], "secret": OTHER[1]})
    directory.put_client({"id": WEB_ONLY[0], "secret": WEB_ONLY[1], "grants": ["authorization_code", "refresh_token"]})
    return setup


def settled(env: Setup) -> int:
    """Wait until every delivery the emulator started has finished; the webhooks received so far."""
    service = env.emulator.service

    async def quiet() -> None:
        while service.tasks:
            await asyncio.gather(*list(service.tasks), return_exceptions=True)

    env.harness.run(quiet())
    return len(env.receiver.received)


def delivered(vendor: str, bodies: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    if vendor == "keycloak":
        return [(b["type"], b.get("error")) for b in bodies]
    return [(b["event"]["type"], None) for b in bodies]


@pytest.mark.parametrize("vendor", ["keycloak", "fusionauth"])
@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_each_refusal_is_the_vendors_with_its_event(clients, vendor, refusal, monkeypatch):
    prepare, answers = REFUSALS[refusal]
    expected = answers[vendor]
    meta = clients.meta(vendor)
    request = prepare(clients, vendor, meta, monkeypatch)
    since = settled(clients)
    answer = request()
    assert answer.status_code == expected.status, answer.text
    if isinstance(expected.body, str):  # a page, in the vendor's words
        assert expected.body in answer.text and "Location" not in answer.headers
    else:
        body = answer.json()
        checked = {k: v for k, v in expected.body.items() if v is not None}
        assert {k: body.get(k) for k in checked} == checked
        assert set(body) == set(expected.body) and body["error_description"]
    settled(clients)
    bodies = [w.json() for w in clients.receiver.received[since:]]
    assert delivered(vendor, bodies) == list(expected.events)


def test_a_reused_code_ends_what_it_gave(clients):
    """RFC 6749 4.1.2, as Keycloak does it: the second use of a code detaches the client's session, so the
    tokens the first use gave stop refreshing."""
    meta = clients.meta("keycloak")
    code = code_for(clients, meta)
    tokens = exchange(meta, code).json()
    assert exchange(meta, code).status_code == 400
    again = refresh(meta, tokens["refresh_token"])()
    assert again.json() == {"error": "invalid_grant", "error_description": "Session doesn't have required client"}
