"""Entrust IDaaS payloads against the seed document (Authentication events): the envelope, the
data fields and their order, the authenticator names and the timestamp format are read from the
seed's example payloads and field tables; the other event shapes follow docs.trustedauth.com."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from functools import cache

import pytest
from conftest import seed_text, walk

from emulator.render import load, render_events
from emulator.scenario.loader import load_scenario_text
from emulator.scenario.vocabulary import vocabulary
from emulator.vendors.registry import Registry

VENDOR = "idaas"


@cache
def seed_examples() -> dict[str, dict]:
    """The seed's example payloads that are complete JSON documents, by event type."""
    text = seed_text("idaas-authentication-events.txt")
    found: dict[str, dict] = {}
    start = depth = 0
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                try:
                    doc = json.loads(text[start : i + 1])
                except json.JSONDecodeError:
                    continue  # the envelope sketch with a "// Event-specific data here" comment
                found[doc["type"]] = doc
    return found


def seed_methods() -> list[str]:
    """The authentication methods the seed names as examples of `token`."""
    text = seed_text("idaas-authentication-events.txt")
    listed = re.search(r"tokenAuthentication method used \(e\.g\., ([^)]*)\)", text).group(1)
    return re.findall(r'"([A-Z]+)"', listed)


def seed_top_level_fields() -> list[str]:
    text = seed_text("idaas-authentication-events.txt")
    table = text.split("Top-level fields", 1)[1].split("Event types", 1)[0]
    return re.findall(r"^([a-z][A-Za-z]*?)(?:string|object)[A-Z]", table, re.M)


def render(text: str, seed: int = 5):
    return list(render_events(load_scenario_text(text, "t.yaml"), VENDOR, seed))


def steps(*lines: str, actors: str = "alice: {}\n  bob: {}") -> str:
    body = "\n".join(f"  - {line}" for line in lines)
    return f"name: t\nactors:\n  {actors}\nsteps:\n{body}\n"


EMIT_ONLY = [
    "user.deleted",
    "kba.question.created",
    "grid.created",
    "grid.email.sent",
    "grid.password.email.sent",
    "passkey.created",
    "passkey.updated",
    "passkey.deleted",
    "face.biometric.created",
]


@cache
def emitted():
    """alice logs in, then one emit of every type no action produces, and of the admin-shaped user.created
    and magiclink.email.sent."""
    emits = [
        f"emit: {{vendor: idaas, type: {t}, actor: alice}}"
        for t in [*EMIT_ONLY, "user.created", "magiclink.email.sent"]
    ]
    return render(steps("login: alice", *emits))


@cache
def everything():
    return list(render_events(load("tour"), VENDOR, 3)) + emitted()


def test_seed_examples_are_parsed():
    examples = seed_examples()
    assert sorted(examples) == ["authentication.failed", "authentication.succeeded"]
    assert seed_top_level_fields() == ["id", "type", "accountId", "eventTime", "data"]
    assert seed_methods() == ["OTP", "PASSWORD", "FIDO"]


def test_catalog_has_the_16_types_including_the_seed_types_and_every_action():
    catalog = Registry().vendor(VENDOR).catalog
    types = catalog.all_types()
    assert len(types) == len(set(types)) == 16
    assert set(seed_examples()) <= set(types)
    assert catalog.event_ids == "uuid7"
    for action in vocabulary().actions:
        if action != "emit":
            assert action in catalog.actions, action
            if not catalog.actions[action]:
                assert catalog.notes.get(action), f"{action} emits nothing and needs a note saying why"


def test_every_type_is_produced_by_the_tour_or_an_emit():
    catalog = Registry().vendor(VENDOR).catalog
    assert {e.type for e in everything()} == set(catalog.all_types())


def test_envelope_is_exactly_the_documented_top_level_fields():
    fields = seed_top_level_fields()
    example = seed_examples()["authentication.succeeded"]
    account_ids = set()
    for event in everything():
        body = event.body
        assert list(body) == fields == list(example)
        assert body["id"] == event.id and body["type"] == event.type
        assert all(isinstance(body[k], type(example[k])) for k in fields)
        account_ids.add(body["accountId"])
    assert len(account_ids) == 1
    uuid.UUID(account_ids.pop())


def test_event_time_has_the_seed_format_and_is_the_event_time_in_seconds():
    example = seed_examples()["authentication.succeeded"]["eventTime"]
    pattern = "^" + re.sub(r"\d", r"\\d", example) + "$"
    for event in everything():
        stamp = event.body["eventTime"]
        assert re.match(pattern, stamp), stamp
        parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert parsed == event.time.replace(microsecond=0)


def test_ids_are_time_ordered_uuid7():
    for run in (list(render_events(load("tour"), VENDOR, 3)), emitted()):
        previous = 0
        for event in run:
            value = uuid.UUID(event.body["id"])
            assert value.version == 7 and value.variant == uuid.RFC_4122
            millis = value.int >> 80
            assert millis == int(event.time.timestamp() * 1000)
            assert millis > previous
            previous = millis
        ids = [e.body["id"] for e in run]
        assert ids == sorted(ids), "ids sort in emission order"


def test_no_null_or_empty_values_anywhere():
    for event in everything():
        for path, value in walk(event.body):
            assert value is not None, (event.type, path)
            assert value not in ("", [], {}), (event.type, path)


@pytest.mark.parametrize("event_type", ["authentication.succeeded", "authentication.failed"])
def test_authentication_data_has_the_documented_fields_in_order_and_types(event_type):
    example = seed_examples()[event_type]["data"]
    line = "login: {actor: alice, method: otp" + (
        ", error: invalid_user_credentials}" if "failed" in event_type else "}"
    )
    [event] = render(steps(line))
    assert event.type == event_type
    data = event.body["data"]
    assert list(data) == list(example)
    for key, value in example.items():
        assert type(data[key]) is type(value), key
        if isinstance(value, dict):
            assert list(data[key]) == list(value)
            assert all(type(data[key][k]) is type(v) for k, v in value.items())
    assert data["subjectType"] == example["subjectType"] == "USER"
    assert data["token"] == example["token"] == "OTP"
    assert ("entityAttributes" in data) == (event_type == "authentication.succeeded")


def test_authentication_data_describes_the_actor():
    alice_login, bob_failure = render(steps("login: alice", "login: {actor: bob, error: user_disabled}"))
    for event in (alice_login, bob_failure):
        data = event.body["data"]
        uuid.UUID(data["subject"])
        assert data["resourceName"] == "User Portal"
        assert re.match(r"^\d+\.\d+\.\d+\.\d+$", data["sourceIp"])
    assert alice_login.body["data"]["subject"] != bob_failure.body["data"]["subject"]
    assert alice_login.body["data"]["entityAttributes"] == {"registrationRequired": False}
    # the failure has no error code field: only the type tells it failed
    assert set(bob_failure.body["data"]) == set(alice_login.body["data"]) - {"entityAttributes"}


def test_token_is_the_authentication_method():
    lines = [
        "login: {actor: alice, method: password}",
        "login: {actor: alice, method: otp}",
        "login: {actor: alice, method: passkey}",
        "login: {actor: alice, method: magic_link}",
        "login: {actor: alice, method: unspecified}",
        "api_login: {actor: alice, grant: password}",
        "sso_login: {actor: alice, provider: google}",
    ]
    tokens = [e.body["data"].get("token") for e in render(steps(*lines)) if e.type.startswith("authentication.")]
    assert tokens == ["PASSWORD", "OTP", "FIDO", "MAGICLINK", None, "PASSWORD", "EXTERNAL"]
    assert set(seed_methods()) <= set(tokens)


def test_unknown_user_failure_has_no_subject_id():
    [event] = render(steps("login: ghost", actors="ghost: {registered: false}"))
    assert event.type == "authentication.failed"
    data = event.body["data"]
    assert "subject" not in data and data["subjectName"]


def test_sso_first_login_creates_the_user_then_authenticates():
    events = render(
        steps(
            "sso_login: {actor: erin, provider: google, first: true}",
            "sso_login: {actor: bob, provider: github, first: true, link: true}",
            "sso_login: {actor: frank, provider: microsoft, first: true, error: email_mismatch}",
            actors="erin: {registered: false}\n  bob: {}\n  frank: {registered: false}",
        )
    )
    assert [(e.actor, e.type) for e in events] == [
        ("erin", "user.created"),
        ("erin", "authentication.succeeded"),
        ("bob", "authentication.succeeded"),
        ("frank", "authentication.failed"),
    ]
    created, login = events[0].body["data"], events[1].body["data"]
    assert created["entityType"] == "USERS"
    assert created["entityId"] == created["subject"] == login["subject"]
    assert created["entityName"] == created["entityAttributes"]["userId"] == login["subjectName"]
    assert "subscriberAdminRoleName" not in created
    assert login["token"] == "EXTERNAL"
    assert "subject" not in events[3].body["data"]


def test_magic_link_login_sends_the_email_first():
    events = render(
        steps(
            "login: {actor: alice, method: magic_link}",
            "login: {actor: alice, method: magic_link, error: expired_code}",
            "login: {actor: alice, method: magic_link, error: email_send_failed}",
        )
    )
    assert [e.type for e in events] == [
        "magiclink.email.sent",
        "authentication.succeeded",
        "magiclink.email.sent",
        "authentication.failed",
        "authentication.failed",
    ]
    link = events[0].body["data"]
    assert link["entityType"] == "MAGICLINKS"
    assert link["subject"] == events[1].body["data"]["subject"]
    assert link["entityAttributes"]["contactType"] == "Email"
    assert "@" in link["entityAttributes"]["contactValue"]
    assert events[0].time < events[1].time


def test_registration_then_login():
    events = render(
        steps(
            "register: carol",
            "register: {actor: dave, login: false}",
            "register: {actor: erin, error: email_in_use}",
            actors="carol: {registered: false}\n  dave: {registered: false}\n  erin: {registered: false}",
        )
    )
    assert [(e.actor, e.type) for e in events] == [
        ("carol", "user.registration.completed"),
        ("carol", "authentication.succeeded"),
        ("dave", "user.registration.completed"),
    ]
    assert events[1].body["data"]["token"] == "PASSWORD"
    assert events[0].body["data"]["entityId"] == events[1].body["data"]["subject"]


def test_account_changes():
    events = render(
        steps(
            "update_password: alice",
            "required_action: {actor: alice, action: update_password}",
            "required_action: {actor: alice, action: verify_email}",
            "update_profile: {actor: alice, first_name: Alicia}",
            "update_email: {actor: alice, email: alicia@example.com}",
            "update_password: {actor: alice, error: password_rejected}",
        )
    )
    assert [e.type for e in events] == ["password.updated", "password.updated", "user.updated", "user.updated"]
    password = events[0].body["data"]
    assert list(password) == [
        "subject",
        "subjectName",
        "subjectType",
        "resourceName",
        "sourceIp",
        "entityType",
        "entityId",
        "entityName",
    ]
    assert password["entityType"] == "USERPASSWORDS"
    assert password["entityId"] == password["subject"]
    assert events[2].body["data"]["entityAttributes"]["firstName"] == "Alicia"
    assert events[3].body["data"]["entityAttributes"]["email"] == "alicia@example.com"
    assert {e.body["data"]["subject"] for e in events} == {password["subject"]}


def test_no_logout_refresh_session_or_client_credentials_events():
    events = render(
        steps(
            "login: alice",
            "refresh: alice",
            "code_to_token: alice",
            "logout: alice",
            "api_login: svc",
            "password_reset: alice",
            "send_verify_email: alice",
            "verify_email: alice",
            "link_identity: alice",
            actors="alice: {}\n  svc: {kind: client}",
        )
    )
    assert [e.type for e in events] == ["authentication.succeeded"]


def test_background_and_propagated_sessions_carry_no_token():
    events = render(steps("login: alice", "background_login: alice", "propagate_session: {actor: alice, to: intranet}"))
    assert [e.type for e in events] == ["authentication.succeeded"] * 3
    assert [("token" in e.body["data"]) for e in events] == [True, False, False]


# shapes of the emit-only events, from the docs.trustedauth.com example payloads
ENTITY_TYPES = {
    "user.created": "USERS",
    "user.deleted": "USERS",
    "kba.question.created": "USERQUESTIONS",
    "grid.created": "GRIDS",
    "grid.email.sent": "GRIDS",
    "grid.password.email.sent": "GRIDS",
    "passkey.created": "FIDOTOKENS",
    "passkey.updated": "FIDOTOKENS",
    "passkey.deleted": "FIDOTOKENS",
    "magiclink.email.sent": "MAGICLINKS",
    "face.biometric.created": "FACE",
}
ENTITY_ATTRIBUTES = {
    "USERS": ["userId", "firstName", "lastName", "email"],
    "GRIDS": ["serialNumber", "expired", "state", "type", "userId", "createDate"],
    "FIDOTOKENS": ["userIdStored", "relyingPartyId", "origin"],
    "MAGICLINKS": ["contactValue", "magicLinkType", "contactType"],
    "FACE": ["userId", "status"],
}
ADMIN_ACTED = {"user.created", "user.deleted", "magiclink.email.sent", "face.biometric.created"}


def test_emitted_events_follow_the_documented_examples():
    login, *rest = emitted()
    alice = login.body["data"]
    payloads = {e.type: e.body["data"] for e in rest}
    assert set(payloads) == set(ENTITY_TYPES)
    for event_type, data in payloads.items():
        entity = ENTITY_TYPES[event_type]
        head = ["subject", "subjectName", "subjectType", "resourceName", "sourceIp"]
        admin = ["subscriberAdminRoleName"] if event_type in ADMIN_ACTED else []
        tail = ["entityType", "entityId", "entityName"] + (["entityAttributes"] if entity in ENTITY_ATTRIBUTES else [])
        assert list(data) == head + admin + tail, event_type
        assert data["entityType"] == entity
        uuid.UUID(data["entityId"])
        if entity in ENTITY_ATTRIBUTES:
            assert list(data["entityAttributes"]) == ENTITY_ATTRIBUTES[entity], event_type
        if event_type.startswith("user."):
            # an administrator acts on alice
            assert data["subject"] != alice["subject"] and data["entityId"] == alice["subject"]
            assert data["resourceName"] == "Administration Portal"
        else:
            assert data["subject"] == alice["subject"]
    grid = payloads["grid.created"]["entityAttributes"]
    assert isinstance(grid["serialNumber"], int) and grid["expired"] is False and grid["state"] == "PENDING"
    assert payloads["passkey.created"]["entityAttributes"]["userIdStored"] is True
    assert payloads["magiclink.email.sent"]["entityAttributes"]["magicLinkType"] == "Registration"


def test_emit_fields_merge_into_the_payload():
    [event] = render(
        steps("emit: {vendor: idaas, type: passkey.deleted, actor: alice, fields: {data: {entityName: YubiKey 5}}}")
    )
    assert event.body["data"]["entityName"] == "YubiKey 5"
    assert event.body["data"]["entityType"] == "FIDOTOKENS"


def test_same_seed_same_bytes():
    first = [json.dumps(e.record()) for e in render_events(load("tour"), VENDOR, 9)]
    second = [json.dumps(e.record()) for e in render_events(load("tour"), VENDOR, 9)]
    assert first == second
