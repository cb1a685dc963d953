"""FusionAuth: scenarios rendered through the real catalog and templates, checked field by field
against the seed document (user.login.success) and the documented shapes of the other events."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import seed_text as read_seed

from emulator.render import render_events
from emulator.scenario.loader import load_scenario_text
from emulator.scenario.vocabulary import vocabulary
from emulator.vendors.dialect import Event
from emulator.vendors.registry import Registry

VENDOR = "fusionauth"
REGISTRY = Registry()  # one for the module: the templates compile once
SEED_NAME = "fusionauth-user-login-success.txt"
FUSIONAUTH_CONNECTOR = "e3306678-a53a-4964-9040-1c96f36dda72"
GOOGLE_IDP = "82339786-3dff-42a6-aac6-1f1ceecb6c46"
# AuthenticationThreats (fusionauth-typescript-client), the values of user.login.suspicious threatsDetected.
THREATS = {
    "BotDetected",
    "BlocklistedIp",
    "DormantAccount",
    "DormantPassword",
    "ImpossibleTravel",
    "RecentIdentityChange",
    "RecentPasswordChange",
    "SuspiciousUserAgent",
    "UnrecognizedDevice",
    "UntrustedDevice",
}


# DeviceInfo.DeviceType (fusionauth-java-client domain/jwt/DeviceInfo.java)
DEVICE_TYPES = {"BROWSER", "DESKTOP", "LAPTOP", "MOBILE", "OTHER", "SERVER", "TABLET", "TV"}
# BaseUserEvent.getLinkedObjectId (1.53+): the user, on every user event


# -- helpers ---------------------------------------------------------------------------------
def render(
    steps: str, actors: str = "alice: {}", defaults: str = "{client: web-app}", seed: int = 7, vendor: str = VENDOR
) -> list[Event]:
    text = f"name: t\ndefaults: {defaults}\nactors:\n"
    text += "".join(f"  {line}\n" for line in actors.strip().splitlines())
    text += "steps:\n" + "".join(f"  {line}\n" for line in steps.strip().splitlines())
    return list(render_events(load_scenario_text(text), vendor, seed, registry=REGISTRY))


def body(event: Event) -> dict[str, Any]:
    assert list(event.body) == ["event"], "the body is always {'event': {...}}"
    return event.body["event"]


def of_type(events: list[Event], event_type: str) -> list[dict[str, Any]]:
    return [body(e) for e in events if e.type == event_type]


def only(events: list[Event], event_type: str) -> dict[str, Any]:
    found = of_type(events, event_type)
    assert len(found) == 1, f"expected one {event_type}, got {[e.type for e in events]}"
    return found[0]


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, f"{path}[{i}]")


def get(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


# -- the seed document -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def seed_text() -> str:
    return read_seed(SEED_NAME)


@pytest.fixture(scope="module")
def seed_fields(seed_text: str) -> dict[str, str]:
    """``event.x.y`` -> documented type (UUID, String, Long, Object, Double), from the Event Body list."""
    found = re.findall(r"^event\.([\w.]+)\n(UUID|String|Long|Object|Double|Boolean|Integer)", seed_text, re.M)
    assert len(found) > 10, "could not read the seed's field list"
    return dict(found)


@pytest.fixture(scope="module")
def seed_auth_types(seed_text: str) -> set[str]:
    """The documented authenticationType values."""
    section = seed_text[seed_text.index("event.authenticationType") : seed_text.index("event.connectorId")]
    values = set(re.findall(r"(?<![A-Za-z_])([A-Z][A-Za-z0-9_]*)\n(?:-|The [Uu]ser)", section))
    assert {"PASSWORD", "PING", "GOOGLE", "SAMLv2", "WebAuthn"} <= values, values
    return values


@pytest.fixture(scope="module")
def seed_example(seed_text: str) -> dict[str, Any]:
    start = seed_text.index("Example Event JSON")
    return json.loads(seed_text[seed_text.index("{", start) :])


def check_type(value: Any, documented: str) -> bool:
    return {
        "UUID": is_uuid(value),
        "String": isinstance(value, str) and value != "",
        "Long": isinstance(value, int) and not isinstance(value, bool),
        "Integer": isinstance(value, int) and not isinstance(value, bool),
        "Double": isinstance(value, float),
        "Boolean": isinstance(value, bool),
        "Object": isinstance(value, dict),
    }[documented]


# Documented fields a password login does not carry, and why.
NOT_SENT_FOR_PASSWORD_LOGIN = {
    "identityProviderId": "omitted when no identity provider was used",
    "identityProviderName": "omitted when no identity provider was used",
    "info.data": "nothing to persist",
    "info.deviceDescription": "the hosted pages send a device name and type only",
    "info.os": "not built from the request's device metadata (EventInfo)",
    "info.location.city": "location needs the Enterprise plan",
    "info.location.country": "location needs the Enterprise plan",
    "info.location.latitude": "location needs the Enterprise plan",
    "info.location.longitude": "location needs the Enterprise plan",
    "info.location.region": "location needs the Enterprise plan",
    "info.location.zipcode": "location needs the Enterprise plan",
}


def test_password_login_has_the_seeds_documented_fields_with_their_types(seed_fields: dict[str, str]) -> None:
    event = only(render("- login: {actor: alice}"), "user.login.success")
    assert set(NOT_SENT_FOR_PASSWORD_LOGIN) <= set(seed_fields)
    for field, documented in seed_fields.items():
        value = get(event, field)
        if field in NOT_SENT_FOR_PASSWORD_LOGIN:
            assert value is None, f"{field} should be omitted: {NOT_SENT_FOR_PASSWORD_LOGIN[field]}"
        else:
            assert value is not None, f"documented field event.{field} is missing"
            assert check_type(value, documented), f"event.{field}={value!r} is not a {documented}"
    assert event["connectorId"] == FUSIONAUTH_CONNECTOR
    # UserLoginSuccessEvent copies info.ipAddress to the deprecated top-level field "to maintain the old JSON format"
    assert event["ipAddress"] == event["info"]["ipAddress"]
    assert event["info"]["deviceType"] in DEVICE_TYPES and event["info"]["deviceName"]


def test_identity_provider_login_has_the_identity_provider_fields(seed_fields: dict[str, str]) -> None:
    events = render("- sso_login: {actor: alice, provider: google, first: true}")
    event = only(events, "user.login.success")
    for field in ("identityProviderId", "identityProviderName"):
        assert check_type(event[field], seed_fields[field])
    assert event["identityProviderId"] == GOOGLE_IDP
    assert event["identityProviderName"] == "Google"
    assert event["authenticationType"] == "GOOGLE"
    # "Identity provider login always takes the FusionAuth connector Id" (UserLoginSuccessEvent)
    assert event["connectorId"] == FUSIONAUTH_CONNECTOR


# what later releases add to the seed example's keys (fusionauth-java-client tag diffs, notes/audit-fusionauth.md)
LATER_EVENT_KEYS = {"ipAddress": "kept since 1.30", "linkedObjectId": "1.53"}
LATER_USER_KEYS = {
    "data", "identities", "insertInstant", "lastLoginInstant", "lastUpdateInstant", "memberships", "firstName",
    "lastName", "passwordLastUpdateInstant", "preferredLanguages", "twoFactor", "verifiedInstant",
}  # fmt: skip


@pytest.mark.parametrize("version", ["1.25", "latest"])
def test_login_matches_the_seed_example_keys_and_order(seed_example: dict[str, Any], version: str) -> None:
    """The seed's example is 1.25's shape (twoFactorEnabled); later releases add fields, in Jackson's
    alphabetical order, and replace twoFactorEnabled with the twoFactor object (1.26)."""
    example = seed_example["event"]
    vendor = VENDOR if version == "latest" else f"{VENDOR}@{version}"
    event = only(render("- login: {actor: alice}", vendor=vendor), "user.login.success")
    expected = [k for k in example if k != "info" or version != "1.25"]  # info came with 1.27
    assert [k for k in event if k not in LATER_EVENT_KEYS] == expected, "the seed example's keys, in its order"
    assert list(event) == sorted(event), "event keys are alphabetical"
    if version != "1.25":
        assert list(event["info"]) == ["deviceName", "deviceType", "ipAddress", "userAgent"]
    seed_user = set(example["user"]) - ({"twoFactorEnabled"} if version == "latest" else set())
    assert seed_user <= set(event["user"]), "every user field of the example is sent"
    assert set(event["user"]) - set(example["user"]) <= LATER_USER_KEYS
    assert ("twoFactorEnabled" in event["user"]) == (version == "1.25")
    assert list(event["user"]) == sorted(event["user"]), "user keys are alphabetical, as in the example"
    assert list(example["user"]) == sorted(example["user"])
    registration = event["user"]["registrations"][0]
    assert set(example["user"]["registrations"][0]) <= set(registration)
    assert list(registration) == sorted(registration)
    for key, value in example["user"].items():
        if key in event["user"]:
            assert type(event["user"][key]) is type(value), key
    for key, value in example["user"]["registrations"][0].items():
        assert type(registration[key]) is type(value), key


def test_user_object_shape() -> None:
    events = render("- login: {actor: alice}", actors="alice: {first_name: Ada, last_name: Lovelace}")
    event = only(events, "user.login.success")
    user = event["user"]
    assert user["active"] is True
    assert user["firstName"] == "Ada" and user["lastName"] == "Lovelace"
    assert user["passwordChangeRequired"] is False
    assert "twoFactorEnabled" not in user, "a synthetic getter since 1.26, not serialized"
    assert user["twoFactor"] == {"methods": [], "recoveryCodes": []}
    assert user["memberships"] == [] and user["preferredLanguages"] == [] and user["data"] == {}
    assert user["lastLoginInstant"] == event["createInstant"], "this login"
    assert user["insertInstant"] <= user["lastUpdateInstant"] <= event["createInstant"]
    assert user["passwordLastUpdateInstant"] >= user["insertInstant"]
    [identity] = user["identities"]  # 1.59: UserIdentity, id/tenantId/userId are @JsonIgnore
    assert identity["type"] == "email" and identity["value"] == user["email"] and identity["primary"] is True
    assert identity["verified"] is True and identity["verifiedReason"] == "Completed"
    assert user["usernameStatus"] == "ACTIVE"
    assert user["verified"] is True
    assert user["tenantId"] == event["tenantId"]
    assert user["connectorId"] == FUSIONAUTH_CONNECTOR
    [registration] = user["registrations"]
    assert registration["applicationId"] == event["applicationId"]
    assert is_uuid(registration["id"]) and registration["id"] != user["id"]
    assert registration["roles"] == ["user"]
    assert registration["usernameStatus"] == "ACTIVE"
    assert isinstance(registration["insertInstant"], int) and registration["insertInstant"] < event["createInstant"]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("- login: {actor: alice}", "PASSWORD"),
        ("- login: {actor: alice, method: otp}", "ONE_TIME_PASSWORD"),
        ("- login: {actor: alice, method: passkey}", "WebAuthn"),
        ("- login: {actor: alice, method: magic_link}", "PASSWORDLESS"),
        ("- login: {actor: alice, method: unspecified}", "PASSWORD"),
        ("- api_login: {actor: alice, grant: password}", "PASSWORD"),
        ("- login: {actor: alice}\n- background_login: {actor: alice}", "PING"),
        ("- login: {actor: alice}\n- propagate_session: {actor: alice, to: admin-app}", "PING"),
        ("- sso_login: {actor: alice, provider: google}", "GOOGLE"),
        ("- sso_login: {actor: alice, provider: facebook}", "FACEBOOK"),
        ("- sso_login: {actor: alice, provider: apple}", "APPLE"),
        ("- sso_login: {actor: alice, provider: linkedin}", "LINKEDIN"),
        ("- sso_login: {actor: alice, provider: twitter}", "TWITTER"),
        ("- sso_login: {actor: alice, provider: github}", "OPENID_CONNECT"),
        ("- sso_login: {actor: alice, provider: okta, protocol: saml}", "SAMLv2"),
        ("- sso_login: {actor: alice, provider: google, protocol: saml}", "SAMLv2"),
    ],
)
def test_authentication_type_is_a_documented_value(step: str, expected: str, seed_auth_types: set[str]) -> None:
    logins = of_type(render(step), "user.login.success")
    assert logins[-1]["authenticationType"] == expected
    assert {e["authenticationType"] for e in logins} <= seed_auth_types


def test_identity_provider_ids_and_names() -> None:
    github = only(render("- sso_login: {actor: alice, provider: github}"), "user.login.success")
    assert is_uuid(github["identityProviderId"]) and github["identityProviderId"] != GOOGLE_IDP
    assert github["identityProviderName"] == "Github"
    again = only(render("- sso_login: {actor: bob, provider: github}", actors="bob: {}"), "user.login.success")
    assert again["identityProviderId"] == github["identityProviderId"], "an identity provider's id is stable"


# -- failures --------------------------------------------------------------------------------
def test_no_event_for_a_user_that_does_not_exist() -> None:
    events = render(
        "- login: {actor: ghost}\n- login: {actor: ghost, error: invalid_user_credentials}\n"
        "- login: {actor: alice, error: user_not_found}\n- api_login: {actor: ghost, grant: password}",
        actors="alice: {}\nghost: {registered: false}",
    )
    assert events == []


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("invalid_user_credentials", "credentials"),
        ("password_missing", "credentials"),
        ("invalid_code", "credentials"),
        ("access_denied", "lambdaValidation"),
    ],
)
def test_failed_login_has_reason_code(error: str, code: str) -> None:
    events = render(f"- login: {{actor: alice, error: {error}}}")
    assert [e.type for e in events] == ["user.login.failed"]
    failed = body(events[0])
    assert failed["reason"]["code"] == code
    if code == "lambdaValidation":
        assert is_uuid(failed["reason"]["lambdaId"])
        assert isinstance(failed["reason"]["lambdaResult"]["generalErrors"], list)
    else:
        assert list(failed["reason"]) == ["code"]
    for absent in ("connectorId", "identityProviderId", "identityProviderName"):
        assert absent not in failed
    assert failed["authenticationType"] == "PASSWORD"
    assert is_uuid(failed["applicationId"]) and failed["user"]["id"]
    assert failed["ipAddress"] == failed["info"]["ipAddress"]  # UserLoginFailedEvent keeps the old field too
    assert failed["linkedObjectId"] == failed["user"]["id"]
    assert list(failed) == [
        "applicationId",
        "authenticationType",
        "createInstant",
        "id",
        "info",
        "ipAddress",
        "linkedObjectId",
        "reason",
        "tenantId",
        "type",
        "user",
    ]


def test_failed_login_keeps_the_method() -> None:
    failed = only(render("- login: {actor: alice, method: otp, error: invalid_code}"), "user.login.failed")
    assert failed["authenticationType"] == "ONE_TIME_PASSWORD"


@pytest.mark.parametrize(
    "error", ["user_disabled", "user_temporarily_disabled", "session_expired", "identity_provider_error"]
)
def test_other_failures_emit_nothing(error: str) -> None:
    steps = f"- login: {{actor: alice, error: {error}}}\n- sso_login: {{actor: alice, error: {error}}}"
    assert render(steps) == []


def test_lockout_emits_no_event_and_locked_logins_are_silent() -> None:
    events = render(
        "- login: {actor: alice, error: invalid_user_credentials}\n"
        "- login: {actor: alice, error: invalid_user_credentials}\n"
        "- login: {actor: alice}",
        defaults="{client: web-app, lockout: {failures: 2, duration: 15m}}",
    )
    assert [e.type for e in events] == ["user.login.failed", "user.login.failed"]


# -- login extras ------------------------------------------------------------------------------
def test_new_device_and_suspicious_logins() -> None:
    events = render("- login: {actor: alice, new_device: true, threats: [impossible_travel, BotDetected]}")
    assert [e.type for e in events] == ["user.login.success", "user.login.new-device", "user.login.suspicious"]
    success, new_device, suspicious = (body(e) for e in events)
    assert set(new_device) == set(success)
    assert suspicious["threatsDetected"] == ["ImpossibleTravel", "BotDetected"]
    assert set(suspicious["threatsDetected"]) <= THREATS
    assert suspicious["linkedObjectId"] == success["user"]["id"]
    assert list(suspicious).index("threatsDetected") == list(suspicious).index("type") - 1
    for event in (success, new_device, suspicious):
        assert event["authenticationType"] == "PASSWORD"


# -- tokens ----------------------------------------------------------------------------------
def test_jwt_refresh_is_flat_without_user() -> None:
    events = render("- login: {actor: alice}\n- refresh: {actor: alice}\n- refresh: {actor: alice}")
    login = only(events, "user.login.success")
    refreshes = of_type(events, "jwt.refresh")
    assert len(refreshes) == 2
    for refresh in refreshes:
        assert "user" not in refresh
        assert list(refresh) == [
            "type",
            "createInstant",
            "id",
            "info",
            "tenantId",
            "applicationId",
            "linkedObjectId",
            "token",
            "refreshToken",
            "userId",
        ], "the documented example's order; `original` is omitted without a token on the request"
        assert refresh["linkedObjectId"] == refresh["userId"]  # JWTRefreshEvent.getLinkedObjectId
        assert refresh["userId"] == login["user"]["id"]
        assert refresh["applicationId"] == login["applicationId"]
        assert refresh["token"].count(".") == 2
        assert isinstance(refresh["refreshToken"], str) and len(refresh["refreshToken"]) == 40
    assert refreshes[0]["refreshToken"] == refreshes[1]["refreshToken"], "refresh tokens are reusable by default"
    assert refreshes[0]["token"] != refreshes[1]["token"]


def test_refresh_failure_and_logout_emit_nothing() -> None:
    events = render(
        "- login: {actor: alice}\n- refresh: {actor: alice, error: invalid_token}\n- logout: {actor: alice}"
    )
    assert [e.type for e in events] == ["user.login.success"]


def test_code_exchange_and_client_credentials_emit_nothing() -> None:
    events = render(
        "- login: {actor: alice}\n- code_to_token: {actor: alice}\n- api_login: {actor: svc}",
        actors="alice: {}\nsvc: {kind: client, client_id: reporting}",
    )
    assert [e.type for e in events] == ["user.login.success"]


def test_refresh_token_revoke_shapes() -> None:
    events = render(
        "- login: {actor: alice}\n"
        "- emit: {vendor: fusionauth, type: jwt.refresh-token.revoke, actor: alice}\n"
        "- emit: {vendor: fusionauth, type: jwt.refresh-token.revoke, actor: bob}\n"
        "- emit: {vendor: fusionauth, type: jwt.refresh-token.revoke}",
        actors="alice: {}\nbob: {}",
    )
    login, single, all_user, application = (body(e) for e in events)
    app = login["applicationId"]
    assert single["applicationId"] == app
    assert single["applicationTimeToLiveInSeconds"] == {app: 3600}
    assert single["userId"] == single["user"]["id"] == login["user"]["id"]
    assert single["refreshToken"]["userId"] == login["user"]["id"]
    assert single["refreshToken"]["token"] and single["linkedObjectId"] == single["userId"]  # the code's rule
    assert list(single).index("userId") == list(single).index("user") - 1
    assert "applicationId" not in all_user and "refreshToken" not in all_user
    assert all_user["userId"] == all_user["user"]["id"]
    assert all_user["applicationTimeToLiveInSeconds"] == {app: 3600}
    assert all_user["linkedObjectId"] == all_user["userId"]
    assert set(application) == {"applicationId", "applicationTimeToLiveInSeconds", "createInstant", "id"} | {
        "info",
        "tenantId",
        "type",
    }


def test_refresh_token_in_revoke_matches_jwt_refresh() -> None:
    events = render(
        "- login: {actor: alice}\n- refresh: {actor: alice}\n"
        "- emit: {vendor: fusionauth, type: jwt.refresh-token.revoke, actor: alice}"
    )
    assert (
        only(events, "jwt.refresh")["refreshToken"] == only(events, "jwt.refresh-token.revoke")["refreshToken"]["token"]
    )


# -- registration and identity providers -------------------------------------------------------
def test_register_creates_user_and_registration_without_login() -> None:
    events = render("- register: {actor: alice}\n- code_to_token: {actor: alice}")
    assert [e.type for e in events] == [
        "user.create",
        "user.registration.create",
        "user.create.complete",
        "user.registration.create.complete",
    ]
    created, registration, _, _ = (body(e) for e in events)
    assert "registrations" not in created["user"]
    assert created["linkedObjectId"] == created["user"]["id"]
    assert registration["applicationId"] == registration["registration"]["applicationId"]
    assert registration["registration"]["id"] == registration["user"]["registrations"][0]["id"]
    assert registration["registration"]["insertInstant"] == created["createInstant"]
    assert list(registration) == [
        "applicationId",
        "createInstant",
        "id",
        "info",
        "linkedObjectId",
        "registration",
        "tenantId",
        "type",
        "user",
    ]


def test_failed_register_emits_nothing() -> None:
    assert render("- register: {actor: alice, error: email_in_use}") == []


def test_sso_first_login_sequence() -> None:
    events = render(
        "- sso_login: {actor: alice, provider: google, first: true}\n- sso_login: {actor: alice, provider: google}"
    )
    assert [e.type for e in events] == [
        "user.create",
        "user.registration.create",
        "user.create.complete",
        "user.registration.create.complete",
        "user.identity-provider.link",
        "user.update",
        "user.update.complete",
        "user.login.success",
        "user.update",  # "generated each time a user logs in via an IdP" (user-update.mdx), returning too
        "user.update.complete",
        "user.login.success",
    ]
    link = only(events, "user.identity-provider.link")["identityProviderLink"]
    login = of_type(events, "user.login.success")[0]
    assert link["identityProviderId"] == login["identityProviderId"] == GOOGLE_IDP
    assert link["identityProviderName"] == "Google"
    assert link["identityProviderType"] == "Google"
    assert link["userId"] == login["user"]["id"]
    assert link["displayName"] == login["user"]["email"]
    assert isinstance(link["identityProviderUserId"], str)
    assert list(link) == [
        "displayName",
        "identityProviderId",
        "identityProviderName",
        "identityProviderType",
        "identityProviderUserId",
        "insertInstant",
        "lastLoginInstant",
        "tenantId",
        "token",
        "userId",
    ]


def test_sso_link_to_existing_account_and_link_identity() -> None:
    events = render(
        "- sso_login: {actor: alice, provider: github, first: true, link: true}\n"
        "- link_identity: {actor: alice, provider: okta}"
    )
    assert [e.type for e in events] == [
        "user.identity-provider.link",
        "user.update",
        "user.update.complete",
        "user.login.success",
        "user.identity-provider.link",
    ]
    assert body(events[0])["identityProviderLink"]["identityProviderType"] == "OpenIDConnect"
    assert body(events[4])["identityProviderLink"]["identityProviderName"] == "Okta"


def test_saml_link_has_no_token() -> None:
    link = only(
        render("- sso_login: {actor: alice, provider: corp, protocol: saml, first: true, link: true}"),
        "user.identity-provider.link",
    )
    assert link["identityProviderLink"]["identityProviderType"] == "SAMLv2"
    assert "token" not in link["identityProviderLink"]


# -- account changes ---------------------------------------------------------------------------
def test_update_profile_carries_original() -> None:
    events = render(
        "- update_profile: {actor: alice, first_name: Robert}", actors="alice: {first_name: Bob, last_name: Smith}"
    )
    assert [e.type for e in events] == ["user.update", "user.update.complete"]
    for update in (body(e) for e in events):
        assert update["original"]["firstName"] == "Bob"
        assert update["user"]["firstName"] == "Robert"
        assert update["original"]["id"] == update["user"]["id"]


def test_update_email() -> None:
    events = render("- update_email: {actor: alice, email: new@example.com}", actors="alice: {email: old@example.com}")
    assert [e.type for e in events] == ["user.update", "user.email.update", "user.update.complete"]
    change = only(events, "user.email.update")
    assert change["previousEmail"] == "old@example.com"
    assert change["user"]["email"] == "new@example.com"
    update = only(events, "user.update")
    assert update["original"]["email"] == "old@example.com"
    assert update["user"]["verified"] is False


def test_verify_email_and_required_actions() -> None:
    events = render(
        "- update_email: {actor: alice}\n- verify_email: {actor: alice}\n"
        "- required_action: {actor: alice, action: verify_email}\n"
        "- required_action: {actor: alice, action: update_password}\n"
        "- required_action: {actor: alice, action: terms_and_conditions}\n"
        "- password_reset: {actor: alice}\n- update_password: {actor: alice}\n- send_verify_email: {actor: alice}"
    )
    assert [e.type for e in events][3:] == [
        "user.email.verified",
        "user.identity.verified",
        "user.email.verified",
        "user.identity.verified",
        "user.password.update",
        "user.password.reset.send",
        "user.password.update",
    ]
    for verified in of_type(events, "user.email.verified"):
        assert verified["user"]["verified"] is True
    identity = of_type(events, "user.identity.verified")[0]
    assert identity["loginId"] == identity["user"]["email"] and identity["loginIdType"] == "email"
    assert list(identity)[-4:] == ["type", "loginId", "loginIdType", "user"]


# -- emit --------------------------------------------------------------------------------------
def catalog_types() -> list[str]:
    return Registry().vendor(VENDOR).catalog.all_types()


def test_every_event_type_renders_by_emit() -> None:
    types = catalog_types()
    steps = "- login: {actor: alice}\n" + "".join(
        f"- emit: {{vendor: fusionauth, type: {t}, actor: alice}}\n" for t in types
    )
    events = render(steps)[1:]
    assert [e.type for e in events] == types
    for event in events:
        data = body(event)
        assert data["type"] == event.type
        if event.type.startswith("user."):
            assert data["user"]["id"]


def test_deactivate_and_two_factor_shapes() -> None:
    events = render(
        "- emit: {vendor: fusionauth, type: user.deactivate, actor: alice}\n"
        "- emit: {vendor: fusionauth, type: user.two-factor.method.add, actor: alice}\n"
        "- emit: {vendor: fusionauth, type: user.two-factor.success, actor: alice}"
    )
    deactivate, method_add, success = (body(e) for e in events)
    assert deactivate["user"]["active"] is False
    assert method_add["method"]["method"] == "authenticator" and len(method_add["method"]["id"]) == 4
    assert success["method"] == "authenticator" and success["linkedObjectId"] == success["user"]["id"]


def test_emit_fields_override_and_raw_types() -> None:
    events = render(
        "- emit: {vendor: fusionauth, type: user.action, actor: alice, fields: {event: {action: {phase: start}}}}\n"
        "- emit: {vendor: fusionauth, type: user.login.failed, actor: alice, fields: {event: {reason: {code: lambdaValidation}}}}"
    )
    assert body(events[0])["action"] == {"phase": "start"}
    assert body(events[1])["reason"]["code"] == "lambdaValidation"


# -- across everything ---------------------------------------------------------------------------
TOUR = """
- register: {actor: carol}
- login: {actor: alice}
- login: {actor: alice, method: otp, new_device: true, threats: [UnrecognizedDevice]}
- login: {actor: alice, error: invalid_user_credentials}
- login: {actor: alice, error: access_denied}
- login: {actor: ghost}
- refresh: {actor: alice}
- background_login: {actor: alice}
- propagate_session: {actor: alice, to: admin-app}
- logout: {actor: alice}
- sso_login: {actor: bob, provider: google, first: true}
- sso_login: {actor: bob, provider: corp, protocol: saml}
- link_identity: {actor: bob, provider: apple}
- update_profile: {actor: bob}
- update_email: {actor: bob}
- verify_email: {actor: bob}
- required_action: {actor: bob, action: update_password}
- password_reset: {actor: carol}
- update_password: {actor: carol}
- api_login: {actor: carol, grant: password}
- refresh: {actor: carol}
- emit: {vendor: fusionauth, type: jwt.refresh-token.revoke, actor: carol}
- emit: {vendor: fusionauth, type: jwt.refresh-token.revoke}
- emit: {vendor: fusionauth, type: user.registration.update, actor: carol}
- emit: {vendor: fusionauth, type: user.two-factor.method.add, actor: bob}
"""
TOUR_ACTORS = "alice: {}\nbob: {}\ncarol: {registered: false}\nghost: {registered: false}"


@pytest.fixture(scope="module")
def tour() -> list[Event]:
    return render(TOUR, actors=TOUR_ACTORS)


def test_no_null_or_empty_value_anywhere(tour: list[Event]) -> None:
    assert len(tour) > 25
    for event in tour:
        for path, value in walk(event.body):
            assert value is not None, f"{event.type}: null at {path}"
            assert value != "", f"{event.type}: empty string at {path}"


def test_envelope_of_every_event(tour: list[Event]) -> None:
    for event in tour:
        data = body(event)
        assert data["type"] == event.type
        assert data["id"] == event.id and is_uuid(data["id"])
        assert isinstance(data["createInstant"], int)
        assert data["createInstant"] == int(event.time.timestamp() * 1000)
        assert is_uuid(data["tenantId"])
        assert data["info"]["ipAddress"]
    assert len({e.id for e in tour}) == len(tour), "event ids are unique"
    types = set(catalog_types()) | set(Registry().vendor(VENDOR).catalog.raw_types)
    assert {e.type for e in tour} <= types


def test_ids_are_consistent_across_one_actors_events(tour: list[Event]) -> None:
    tenants = set()
    by_actor: dict[str, dict[str, set[Any]]] = {}
    for event in tour:
        data = body(event)
        tenants.add(data["tenantId"])
        if event.actor is None:
            continue
        seen = by_actor.setdefault(event.actor, {"user": set(), "email_at_login": set(), "registration": {}})
        user_id = data.get("user", {}).get("id") or data.get("userId")
        seen["user"].add(user_id)
        if "userId" in data and "user" in data:
            assert data["userId"] == data["user"]["id"]
        for registration in data.get("user", {}).get("registrations", []):
            key = registration["applicationId"]
            assert seen["registration"].setdefault(key, registration["id"]) == registration["id"]
            assert registration["insertInstant"] <= data["createInstant"]
        if "registration" in data:
            key = data["registration"]["applicationId"]
            assert seen["registration"].setdefault(key, data["registration"]["id"]) == data["registration"]["id"]
        if "linkedObjectId" in data and event.type != "jwt.refresh-token.revoke":
            assert data["linkedObjectId"] == user_id
        if data.get("user", {}).get("tenantId"):
            assert data["user"]["tenantId"] == data["tenantId"]
    assert len(tenants) == 1
    for actor, seen in by_actor.items():
        assert len(seen["user"]) == 1, f"{actor} has several user ids: {seen['user']}"
    ids = [next(iter(seen["user"])) for seen in by_actor.values()]
    assert len(set(ids)) == len(ids), "actors have distinct ids"


def test_application_ids_follow_the_client(tour: list[Event]) -> None:
    apps = {body(e)["applicationId"] for e in tour if e.action == "login"}
    assert len(apps) == 1
    propagated = [body(e) for e in tour if e.action == "propagate_session"]
    assert len(propagated) == 1 and propagated[0]["applicationId"] not in apps
    assert propagated[0]["user"]["registrations"][0]["applicationId"] == propagated[0]["applicationId"]


def test_same_seed_same_payloads() -> None:
    first = [e.record() for e in render(TOUR, actors=TOUR_ACTORS, seed=3)]
    second = [e.record() for e in render(TOUR, actors=TOUR_ACTORS, seed=3)]
    assert json.dumps(first) == json.dumps(second)


def test_catalog_covers_every_action() -> None:
    catalog = Registry().vendor(VENDOR).catalog
    for action in vocabulary().actions:
        if action == "emit":
            continue
        assert action in catalog.actions, f"{action} missing from the catalog"
        if not catalog.actions[action]:
            assert action in catalog.notes, f"{action} emits nothing but has no note saying why"
    assert catalog.actions["logout"] == []
    assert "user.logout" not in catalog.all_types()
    assert catalog.error_format == "" and catalog.type_format == "{type}"


# -- the domain classes' field lists (fusionauth-java-client src/main/java/io/fusionauth/domain) --
USER_FIELDS = {  # User + SecureIdentity, as new User(user).secure() serializes them
    "active", "birthDate", "breachedPasswordLastCheckedInstant", "breachedPasswordStatus", "cleanSpeakId",
    "connectorId", "data", "email", "expiry", "firstName", "middleName", "lastName", "fullName", "imageUrl",
    "mobilePhone", "parentEmail", "timezone", "phoneNumber", "id", "tenantId", "insertInstant",
    "lastUpdateInstant", "lastLoginInstant", "passwordLastUpdateInstant", "memberships", "passwordChangeRequired",
    "passwordChangeReason", "preferredLanguages", "registrations", "twoFactor", "uniqueUsername", "username",
    "usernameStatus", "verified", "verifiedInstant", "identities",
}  # fmt: skip
REGISTRATION_FIELDS = {"applicationId", "id", "insertInstant", "lastLoginInstant", "lastUpdateInstant", "roles",
                       "username", "usernameStatus", "verified", "verifiedInstant", "data", "preferredLanguages",
                       "timezone"}  # fmt: skip
IDENTITY_FIELDS = {"displayValue", "insertInstant", "lastLoginInstant", "lastUpdateInstant", "moderationStatus",
                   "primary", "type", "value", "verified", "verifiedInstant", "verifiedReason"}  # fmt: skip
VERIFIED_REASONS = {"Skipped", "Trusted", "Unverifiable", "Implicit", "Pending", "Completed", "Disabled",
                    "Administrative", "Import"}  # fmt: skip
INFO_FIELDS = {"ipAddress", "userAgent", "os", "deviceName", "deviceType", "deviceDescription", "data", "location"}


def tour_events(vendor: str = VENDOR) -> list[Event]:
    from emulator.render import load

    return list(render_events(load("tour"), vendor, 3, registry=REGISTRY))


@pytest.mark.parametrize("vendor", [VENDOR, f"{VENDOR}@1.45", f"{VENDOR}@1.25"])
def test_every_user_object_has_only_the_domain_classes_fields(vendor: str) -> None:
    old = vendor.endswith("1.25")
    for event in tour_events(vendor):
        e = body(event)
        for user in (e.get("user"), e.get("original") if event.type.startswith("user.update") else None):
            if not user:
                continue
            allowed = USER_FIELDS | ({"twoFactorEnabled"} if old else set())
            assert set(user) <= allowed, (event.type, set(user) - allowed)
            assert ("twoFactorEnabled" in user) == old and ("twoFactor" in user) != old
            for registration in user.get("registrations", []):
                assert set(registration) <= REGISTRATION_FIELDS, event.type
                assert "verified" in registration or old, "UserRegistration.verified is a primitive: always written"
            for identity in user.get("identities", []):
                assert set(identity) <= IDENTITY_FIELDS and identity["verifiedReason"] in VERIFIED_REASONS
        assert set(e.get("info", {})) <= INFO_FIELDS
        if e.get("info", {}).get("deviceType"):
            assert e["info"]["deviceType"] in DEVICE_TYPES


def test_linked_object_id_and_the_other_fields_of_later_releases() -> None:
    latest = [body(e) for e in tour_events()]
    older = [body(e) for e in tour_events(f"{VENDOR}@1.45")]
    assert all("linkedObjectId" not in e for e in older), "BaseUserEvent's linkedObjectId came with 1.53"
    for e in latest:
        if "user" in e and "linkedObjectId" in e:
            assert e["linkedObjectId"] == e["user"]["id"]
    assert sum("linkedObjectId" in e for e in latest) > len(latest) / 2
    assert all("identities" not in e.get("user", {}) and "verifiedInstant" not in e.get("user", {}) for e in older)
    assert all("reason" not in e for e in older if e["type"] == "user.login.failed")
    assert not [e for e in older if e["type"] in ("user.identity.verified", "user.two-factor.challenge")]
    link = next(e for e in older if e["type"] == "user.identity-provider.link")["identityProviderLink"]
    assert "identityProviderName" not in link and "identityProviderType" not in link, "1.46"


def test_two_factor_events_carry_client_risk_and_challenge_has_no_method() -> None:
    found = {
        e.type: body(e) for e in tour_events() if e.type.startswith("user.two-factor.") and "method." not in e.type
    }
    assert set(found) == {"user.two-factor.challenge", "user.two-factor.success", "user.two-factor.failed-attempt"}
    for event_type, event in found.items():
        assert event["clientRisk"] in ("LOW", "MEDIUM", "HIGH"), "a String: Intelligent MFA's calculated risk"
        assert ("method" in event) == (event_type != "user.two-factor.challenge")


def test_the_seed_shape_is_fusionauth_1_25() -> None:
    user = only(render("- login: {actor: alice}", vendor=f"{VENDOR}@1.25"), "user.login.success")["user"]
    assert user["twoFactorEnabled"] is False and "twoFactor" not in user
