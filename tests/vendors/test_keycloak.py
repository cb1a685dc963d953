"""Keycloak (and Flip, which shares its templates) against the source's own rules: the Details
constants, the brute-force protector's date format, the grants' detail sets, who an event names,
one id per browser flow, and the token-id format of each release. Each rule is written here as the
source states it (file and line in notes/audit-keycloak.md), and every rendered event is checked
against it, not against a copy of our output."""

from __future__ import annotations

import json
import re
import uuid
from functools import cache

import pytest
from conftest import scenario_names

from emulator.render import load, render_events
from emulator.scenario.loader import load_scenario_text
from emulator.vendors.dialect import Event
from emulator.vendors.registry import Registry

# org.keycloak.events.Details (server-spi-private/src/main/java/org/keycloak/events/Details.java, KC@cef36f1
# and the 2025 additions), as constant values.
DETAILS = {
    "fields_to_update", "custom_required_action", "context", "email", "previous_email", "updated_email",
    "action", "code_id", "redirect_uri", "response_type", "response_mode", "grant_type", "auth_type",
    "auth_method", "identity_provider", "identity_provider_identity", "identity_provider_broker_session_id",
    "register_method", "username", "first_name", "last_name", "previous_first_name", "updated_first_name",
    "previous_last_name", "updated_last_name", "remember_me", "token_id", "token_type", "token_issued_for",
    "org_id", "refresh_token_id", "refresh_token_type", "refresh_token_sub", "client_assertion_id",
    "client_assertion_sub", "client_assertion_issuer", "validate_access_token", "updated_refresh_token_id",
    "node_host", "reason", "granted_client", "revoked_client", "token_exchange_revoked_clients", "audience",
    "permission", "scope", "requested_issuer", "requested_subject", "requested_token_type",
    "subject_token_client_id", "restart_after_timeout", "redirected_to_client", "login_retry", "consent",
    "impersonator_realm", "impersonator", "client_auth_method", "signature_required", "signature_algorithm",
    "client_registration_policy", "previous_user", "x509_cert_serial_number",
    "x509_cert_subject_distinguished_name", "x509_cert_issuer_distinguished_name", "credential_type",
    "selected_credential_id", "credential_id", "authentication_error_detail", "credential_user_label",
    "not_before", "num_failures", "logout_triggered_by_action_token", "logout_triggered_by_required_action",
    "access_token_expiration_time", "age_of_refresh_token", "client_policy_error", "client_policy_error_detail",
    "expired",
}  # fmt: skip
DETAIL_PREFIXES = ("previous_", "updated_", "existing_")  # PREF_PREVIOUS, PREF_UPDATED; "existing_" + attribute
# services/src/main/java/org/keycloak/WebAuthnConstants.java (the keys WebAuthnAuthenticator sets)
WEBAUTHN = {
    "web_authn_authenticator_user_verification_checked", "public_key_credential_id",
    "web_authn_authentication_error", "web_authn_authentication_error_detail", "web_authn_authenticated_user_id",
    "first_authenticated_user_id", "public_key_credential_label", "public_key_credential_aaguid",
}  # fmt: skip
REGISTRY = Registry()  # one for the module: the templates compile once
CONSENT_VALUES = {"no_consent_required", "consent_granted", "persistent_consent"}
RELEASES = ["keycloak", "keycloak@23.0", "keycloak@24.0", "keycloak@25.0", "keycloak@26.0", "keycloak@26.1",
            "keycloak@26.2", "flip", "flip@24.0"]  # fmt: skip


def events(scenario: str, vendor: str = "keycloak", seed: int = 7) -> list[Event]:
    return list(render_events(load(scenario), vendor, seed, registry=REGISTRY))


def story(text: str, vendor: str = "keycloak", seed: int = 7) -> list[Event]:
    return list(render_events(load_scenario_text(text), vendor, seed, registry=REGISTRY))


@cache
def everything(vendor: str) -> tuple[Event, ...]:
    """Every bundled scenario's events."""
    found: list[Event] = []
    for name in scenario_names():
        found.extend(render_events(load(name), vendor, 11, registry=REGISTRY))
    return tuple(found)


def details(event: Event) -> dict[str, str]:
    return event.body["details"]


def who(event: Event) -> dict[str, str]:
    """Keycloak's own user/client/session of an event, in either envelope."""
    body = event.body
    return body.get("authDetails", body)


# -- 1. details keys are Keycloak's ---------------------------------------------------------
@pytest.mark.parametrize("vendor", RELEASES)
def test_every_details_key_is_a_details_constant_or_webauthns(vendor):
    for event in everything(vendor):
        for key, value in details(event).items():
            known = key in DETAILS or key in WEBAUTHN or key.startswith(DETAIL_PREFIXES)
            assert known, f"{vendor} {event.type}: {key!r} is not a Keycloak Details or WebAuthn constant"
            assert isinstance(value, str) and value != "", (event.type, key)  # detail() drops null and ""
        assert "authenticator" not in details(event)


def test_a_passkey_login_carries_webauthns_keys():
    [login, _] = story("name: s\nactors: {a: {}}\nsteps:\n  - login: {actor: a, method: passkey}\n")
    d = details(login)
    assert d["credential_type"] == "webauthn-passwordless"  # WebAuthnCredentialModel.TYPE_PASSWORDLESS
    assert d["web_authn_authenticator_user_verification_checked"] in ("true", "false")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", d["public_key_credential_id"]), "base64url"
    [failed] = story(
        "name: s\nactors: {a: {}}\nsteps:\n  - login: {actor: a, method: passkey, error: invalid_user_credentials}\n"
    )
    assert details(failed)["credential_type"] == "webauthn-passwordless"
    assert details(failed)["web_authn_authentication_error"] == "webauthn-error-auth-verification"


def test_an_otp_login_names_the_selected_credential():
    [login, _] = story("name: s\nactors: {a: {}}\nsteps:\n  - login: {actor: a, method: otp}\n")
    uuid.UUID(details(login)["selected_credential_id"])


# -- 2. not_before is a LocalDateTime ---------------------------------------------------------
LOCAL_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$")  # LocalDateTime.toString, whole seconds


def java_local_date_time(epoch_seconds: int) -> str:
    """LocalDateTime.ofInstant(Instant.ofEpochSecond(s), UTC).toString(): seconds dropped when zero."""
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M") + (f":{moment.second:02d}" if moment.second else "")


@pytest.mark.parametrize(("every", "expected"), [("10s", "2026-01-01T00:15:40"), ("15s", "2026-01-01T00:16")])
def test_lockout_not_before_is_a_local_date_time_without_zero_seconds(every, expected):
    text = (
        "name: s\ndefaults: {lockout: {failures: 5, duration: 15m}}\nactors: {a: {}}\nsteps:\n"
        f"  - login: {{actor: a, error: invalid_user_credentials}}\n    repeat: {{count: 5, every: {every}}}\n"
    )
    [lock] = [e for e in story(text) if e.type == "USER_DISABLED_BY_TEMPORARY_LOCKOUT"]
    failure = [e for e in story(text) if e.type == "LOGIN_ERROR"][-1]
    d = details(lock)
    assert LOCAL_DATE_TIME.match(d["not_before"]) and d["not_before"] == expected
    # floor(failure time / 1000) + wait seconds (DefaultBruteForceProtector.failure)
    assert d["not_before"] == java_local_date_time(failure.body["time"] // 1000 + 15 * 60)
    assert set(d) == {"reason", "num_failures", "not_before"} and d["reason"] == "brute_force_attack detected"
    assert "clientId" not in who(lock) and "sessionId" not in who(lock) and who(lock)["userId"]


def test_no_lockout_event_before_keycloak_24():
    assert all(e.type != "USER_DISABLED_BY_TEMPORARY_LOCKOUT" for e in events("brute-force", "keycloak@23.0"))
    assert any(e.type == "USER_DISABLED_BY_TEMPORARY_LOCKOUT" for e in events("brute-force", "keycloak@24.0"))


# -- 3. the password grant ------------------------------------------------------------------
# ResourceOwnerPasswordCredentialsGrantType + testsuite ResourceOwnerPasswordCredentialsGrantTest
PASSWORD_GRANT_LOGIN = {"grant_type", "client_auth_method", "auth_method", "username", "token_id",
                        "refresh_token_id", "refresh_token_type", "scope"}  # fmt: skip
PASSWORD_GRANT_ERROR = {"grant_type", "client_auth_method", "auth_method", "username"}


@pytest.mark.parametrize("vendor", ["keycloak", "flip"])
def test_the_password_grant_has_the_direct_grant_details(vendor):
    text = (
        "name: s\nactors: {a: {}, b: {}, c: {registered: false}}\nsteps:\n"
        "  - api_login: {actor: a, client: cli, grant: password}\n"
        "  - api_login: {actor: b, client: cli, grant: password, error: invalid_user_credentials}\n"
        "  - api_login: {actor: c, client: cli, grant: password}\n"
    )
    ok, bad, unknown = story(text, vendor)
    assert set(details(ok)) == PASSWORD_GRANT_LOGIN
    assert details(ok)["auth_method"] == "openid-connect"  # authenticateOnly overwrites oauth_credentials
    assert details(ok)["refresh_token_type"] == "Refresh" and details(ok)["grant_type"] == "password"
    assert who(ok)["sessionId"] and who(ok)["userId"]
    for event in (bad, unknown):
        assert set(details(event)) == PASSWORD_GRANT_ERROR and "sessionId" not in who(event)
    assert who(bad)["userId"] and "userId" not in who(unknown)


# -- 4. redirected_to_client --------------------------------------------------------------------
@pytest.mark.parametrize("vendor", ["keycloak", "flip"])
def test_redirected_to_client_only_on_already_logged_in(vendor):
    seen = False
    for event in everything(vendor):
        if "redirected_to_client" in details(event):
            assert event.type.endswith("_ERROR") and event.body["error"] == "already_logged_in", event.type
            seen = True
    assert seen or vendor == "flip", "the tour has an already_logged_in login"


# -- 5. events that name no user, and the p2 username rule ----------------------------------------
@pytest.mark.parametrize("vendor", RELEASES)
def test_who_an_event_names(vendor):
    for event in everything(vendor):
        w = who(event)
        if "authDetails" in event.body:  # p2 looks the username up from the userId
            assert ("username" in w) == ("userId" in w), event.type
        base = event.type.removesuffix("_ERROR")
        if event.type in ("REGISTER_ERROR", "LOGOUT_ERROR", "CODE_TO_TOKEN_ERROR", "IDENTITY_PROVIDER_POST_LOGIN"):
            assert "userId" not in w, f"{event.type} names no user"
        if base == "IDENTITY_PROVIDER_FIRST_LOGIN" and event.body.get("error") != "federated_identity_account_exists":
            assert "userId" not in w, f"{event.type} names no user"
        if event.type == "LOGOUT_ERROR":
            assert "clientId" not in w and "redirect_uri" not in details(event)
        if event.type == "REFRESH_TOKEN_ERROR" and vendor in ("keycloak", "keycloak@25.0", "keycloak@26.2", "flip"):
            assert "userId" not in w and details(event)["reason"]


def test_a_password_the_policy_rejects_at_registration_is_invalid_registration():
    [failed] = story(
        "name: s\nactors: {a: {registered: false}}\nsteps:\n  - register: {actor: a, error: password_rejected}\n"
    )
    assert failed.type == "REGISTER_ERROR" and failed.body["error"] == "invalid_registration"
    assert "userId" not in who(failed) and "username" not in who(failed)


# -- 6. one browser flow, one id; required actions come before their login -----------------------
def test_register_then_login_share_one_id_and_the_login_has_consent():
    register, login, exchange, *_ = events("registration")
    assert [register.type, login.type, exchange.type] == ["REGISTER", "LOGIN", "CODE_TO_TOKEN"]
    session = who(login)["sessionId"]
    assert details(register)["code_id"] == details(login)["code_id"] == session == details(exchange)["code_id"]
    assert who(register)["sessionId"] == session  # p2: the root authentication session
    assert details(login)["consent"] in CONSENT_VALUES
    assert "response_type" not in details(login)


def test_first_broker_login_shares_the_flows_id():
    first, register, login, exchange, *_ = events("sso-first-login")
    assert [e.type for e in (first, register, login, exchange)] == [
        "IDENTITY_PROVIDER_FIRST_LOGIN", "REGISTER", "LOGIN", "CODE_TO_TOKEN",
    ]  # fmt: skip
    ids = {details(first)["code_id"], details(register)["code_id"], details(login)["code_id"], who(login)["sessionId"]}
    assert len(ids) == 1
    assert "userId" not in who(first) and details(register)["register_method"] == "broker"
    assert "redirect_uri" not in details(register) and "auth_method" not in details(login)


REQUIRED = "name: s\nactors: {{a: {{}}}}\nsteps:\n  - required_action: {{actor: a, action: {action}}}\n"


@pytest.mark.parametrize(
    ("action", "types"),
    [
        ("update_password", ["UPDATE_PASSWORD", "UPDATE_CREDENTIAL", "LOGIN", "CODE_TO_TOKEN"]),
        ("verify_email", ["SEND_VERIFY_EMAIL", "VERIFY_EMAIL", "LOGIN", "CODE_TO_TOKEN"]),
        ("terms_and_conditions", ["CUSTOM_REQUIRED_ACTION", "LOGIN", "CODE_TO_TOKEN"]),
    ],
)
def test_required_actions_run_before_the_login_they_belong_to(action, types):
    evs = story(REQUIRED.format(action=action))
    assert [e.type for e in evs] == types
    login = evs[-2]
    assert details(login)["remember_me"] == "false" and "auth_type" not in details(login)
    assert details(login)["response_type"] == "code"  # initLoginEvent
    for event in evs[:-2]:
        assert details(event)["code_id"] == who(login)["sessionId"]
    if action == "update_password":
        assert all(details(e)["credential_type"] == "password" for e in evs[:3])
        assert details(login)["custom_required_action"] == "UPDATE_PASSWORD"
    if action == "verify_email":
        assert "custom_required_action" not in details(evs[1]) and details(evs[1])["action"] == "verify-email"


def test_a_rejected_password_is_update_credential_error_then_update_password_error():
    evs = story("name: s\nactors: {a: {}}\nsteps:\n  - update_password: {actor: a, error: password_rejected}\n")
    assert [e.type for e in evs] == ["UPDATE_CREDENTIAL_ERROR", "UPDATE_PASSWORD_ERROR"]
    assert details(evs[0])["reason"] == "invalidPasswordMinLengthMessage"  # the policy's message key


# -- 8. token ids across releases ----------------------------------------------------------------
TOKEN_ID = {
    "authorization_code": "onrtac:",
    "refresh_token": "onrtrt:",
    "password": "onrtro:",
    "client_credentials": "trrtcc:",
}  # DefaultTokenContextEncoderProvider: session type + token type + grant shortcut


@pytest.mark.parametrize(
    ("vendor", "prefixed"), [("keycloak", True), ("keycloak@26.2", True), ("keycloak@26.1", False)]
)
def test_token_ids_carry_their_context_from_26_2(vendor, prefixed):
    found = set()
    for event in [*events("api-client", vendor), *events("refresh", vendor)]:
        token = details(event).get("token_id")
        if token is None:
            continue
        prefix = TOKEN_ID[details(event)["grant_type"]]
        raw = token.removeprefix(prefix) if prefixed else token
        assert token.startswith(prefix) == prefixed, token
        assert uuid.UUID(raw).version == 4
        uuid.UUID(details(event).get("refresh_token_id", str(uuid.uuid4())))  # refresh token ids stay plain
        found.add(details(event)["grant_type"])
    assert found == set(TOKEN_ID)


def test_the_p2_body_has_an_id_and_realm_name_from_p2_0_40():
    [new] = events("login", "keycloak")[:1]
    [old] = events("login", "keycloak@26.0")[:1]
    assert "id" in new.body and "realmName" in new.body
    assert "id" not in old.body and "realmName" not in old.body


# -- the envelope, as p2-inc/keycloak-events issue 50 shows it -----------------------------------
P2_KEYS = ["time", "realmId", "uid", "authDetails", "type", "details"]
AUTH_DETAILS_KEYS = ["realmId", "clientId", "userId", "ipAddress", "username", "sessionId"]


def subsequence(keys: list[str], reference: list[str]) -> bool:
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
        assert ("error" in body) == event.type.endswith("_ERROR")


def test_a_form_login_is_fired_before_the_protocol_adds_response_type():
    login, exchange, *_ = events("login")
    # testsuite AssertEvents.expectLogin: auth_method, auth_type, redirect_uri, consent, code_id, username
    assert set(details(login)) == {"auth_method", "auth_type", "redirect_uri", "consent", "code_id", "username"}
    assert details(login)["code_id"] == details(exchange)["code_id"] == who(login)["sessionId"]
    sso = story("name: s\nactors: {a: {}}\nsteps:\n  - login: a\n  - background_login: a\n")[2]
    assert details(sso)["response_type"] == "code" and details(sso)["response_mode"] == "query"


def test_failed_to_verify_login_action_is_keycloaks_literal():
    text = "name: s\nactors: {a: {}}\nsteps:\n  - sso_login: {actor: a, post_login_flow: true, error: failed_to_verify_login_action}\n"
    [failed] = story(text)
    assert (
        failed.type == "IDENTITY_PROVIDER_POST_LOGIN_ERROR" and failed.body["error"] == "Failed to verify login action"
    )


def test_raw_event_by_name_uses_the_generic_envelope():
    scenario = load_scenario_text(
        "name: x\nactors: {a: {}}\nsteps:\n  - emit: {vendor: keycloak, type: GRANT_CONSENT, actor: a, fields: {details: {granted_client: app}}}\n"
    )
    (event,) = render_events(scenario, "keycloak", 1)
    assert event.type == "GRANT_CONSENT"
    assert event.body["type"] == "access.GRANT_CONSENT"
    assert event.body["details"] == {"granted_client": "app"}
    json.dumps(event.body)
