"""Keycloak payloads against the verbatim examples in the reference (p2-inc webhook body,
EventRepresentation details). Key sets and order come from those examples."""

from __future__ import annotations

import json
import uuid

from emulator.render import load, render_events
from emulator.scenario.loader import load_scenario_text

# p2-inc/keycloak-events issue 50 (verbatim body): keys in this order; `id` (KC >= 26.2),
# `realmName` and `error` are documented fields of ExtendedAdminEvent.
P2_KEYS = ["time", "realmId", "uid", "authDetails", "type", "details"]
AUTH_DETAILS_KEYS = ["realmId", "clientId", "userId", "ipAddress", "username", "sessionId"]
LOGIN_DETAILS = [
    "auth_method",
    "auth_type",
    "response_type",
    "redirect_uri",
    "consent",
    "code_id",
    "username",
    "response_mode",
]
CODE_TO_TOKEN_DETAILS = [
    "token_id",
    "grant_type",
    "refresh_token_type",
    "scope",
    "refresh_token_id",
    "code_id",
    "client_auth_method",
]
REFRESH_DETAILS = [
    "token_id",
    "grant_type",
    "refresh_token_type",
    "access_token_expiration_time",
    "updated_refresh_token_id",
    "scope",
    "age_of_refresh_token",
    "refresh_token_id",
    "refresh_token_sub",
    "client_auth_method",
]
LOGIN_ERROR_DETAILS = ["auth_method", "auth_type", "redirect_uri", "code_id", "username"]
CLIENT_LOGIN_DETAILS = ["token_id", "grant_type", "scope", "client_auth_method", "username"]


def events(scenario: str, seed: int = 7):
    return [e for e in render_events(load(scenario), "keycloak", seed)]


def subsequence(keys: list[str], reference: list[str]) -> bool:
    """``reference`` appears in ``keys`` in the same relative order."""
    it = iter(keys)
    return all(k in it for k in reference)


def test_envelope_follows_the_p2_webhook_body():
    for event in events("tour"):
        body = event.body
        assert subsequence(list(body), P2_KEYS), list(body)
        assert body["type"] == f"access.{event.type}"
        assert isinstance(body["time"], int) and body["time"] > 1_600_000_000_000
        uuid.UUID(body["realmId"]) and uuid.UUID(body["uid"])
        assert body["authDetails"]["realmId"] == body["realmName"] == "acme"  # the name, as p2 sends it
        assert subsequence(AUTH_DETAILS_KEYS, list(body["authDetails"]))
        assert all(isinstance(v, str) for v in body["details"].values()), "details values are strings"
        assert ("error" in body) == event.type.endswith("_ERROR")


def test_browser_login_is_login_then_code_to_token_with_code_id_the_session():
    login, exchange, *_ = events("login")
    assert (login.type, exchange.type) == ("LOGIN", "CODE_TO_TOKEN")
    assert list(login.body["details"]) == LOGIN_DETAILS
    assert list(exchange.body["details"]) == CODE_TO_TOKEN_DETAILS
    session = login.body["authDetails"]["sessionId"]
    assert login.body["details"]["code_id"] == exchange.body["details"]["code_id"] == session
    assert exchange.body["details"]["refresh_token_type"] == "Refresh"
    assert exchange.body["details"]["client_auth_method"] == "client-secret"
    assert exchange.body["time"] > login.body["time"]


def test_refresh_token_details_match_the_reference_example():
    refresh = next(e for e in events("refresh") if e.type == "REFRESH_TOKEN")
    assert list(refresh.body["details"]) == REFRESH_DETAILS
    assert refresh.body["details"]["grant_type"] == "refresh_token"
    assert refresh.body["details"]["refresh_token_sub"] == refresh.body["authDetails"]["userId"]


def test_login_error_carries_the_error_and_no_session():
    error = next(e for e in events("login-failure") if e.type == "LOGIN_ERROR")
    assert list(error.body["details"]) == LOGIN_ERROR_DETAILS
    assert error.body["error"] == "client_not_found"
    assert "sessionId" not in error.body["authDetails"]


def test_unknown_user_login_error_has_no_user_id():
    error = next(e for e in events("login-failure") if e.body.get("error") == "user_not_found")
    assert "userId" not in error.body["authDetails"]


def test_client_login_uses_the_service_account():
    login = next(e for e in events("api-client") if e.type == "CLIENT_LOGIN")
    assert list(login.body["details"]) == CLIENT_LOGIN_DETAILS
    assert login.body["details"]["username"] == "service-account-billing-service"
    assert login.body["details"]["grant_type"] == "client_credentials"
    assert login.body["authDetails"]["clientId"] == "billing-service"


def test_registration_is_register_then_login():
    types = [e.type for e in events("registration")][:3]
    assert types == ["REGISTER", "LOGIN", "CODE_TO_TOKEN"]


def test_first_broker_login_registers_with_register_method_broker():
    evs = events("sso-first-login")
    assert [e.type for e in evs][:4] == ["IDENTITY_PROVIDER_FIRST_LOGIN", "REGISTER", "LOGIN", "CODE_TO_TOKEN"]
    register = evs[1]
    assert register.body["details"]["register_method"] == "broker"
    assert register.body["details"]["identity_provider"] == "google"
    assert "IDENTITY_PROVIDER_LOGIN" not in {e.type for e in evs}  # never emitted on success


def test_password_change_fires_update_password_and_update_credential():
    evs = [e for e in events("password-reset") if e.action == "update_password" and not e.error]
    assert [e.type for e in evs] == ["UPDATE_PASSWORD", "UPDATE_CREDENTIAL"]
    assert evs[1].body["details"]["credential_type"] == "password"


def test_lockout_event_after_repeated_failures():
    lock = next(e for e in events("brute-force") if e.type == "USER_DISABLED_BY_TEMPORARY_LOCKOUT")
    assert lock.body["details"]["reason"] == "brute_force_attack detected"
    assert lock.body["details"]["num_failures"] == "5"
    assert "clientId" not in lock.body["authDetails"]


def test_raw_event_by_name_uses_the_generic_envelope():
    scenario = load_scenario_text(
        "name: x\nactors: {a: {}}\nsteps:\n  - emit: {vendor: keycloak, type: GRANT_CONSENT, actor: a, fields: {details: {granted_client: app}}}\n"
    )
    (event,) = render_events(scenario, "keycloak", 1)
    assert event.type == "GRANT_CONSENT"
    assert event.body["type"] == "access.GRANT_CONSENT"
    assert event.body["details"] == {"granted_client": "app"}
    json.dumps(event.body)
