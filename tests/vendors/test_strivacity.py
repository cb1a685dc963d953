"""Strivacity account events against the seed document (Registration and login): the labels, the
block codes and names, the outcome codes and the external-provider metadata shape are read from
the seed; the record's fields follow the AccountEventResponse schema."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from functools import cache

from conftest import seed_text, walk

from emulator.render import load, render_events
from emulator.scenario.loader import load_scenario_text
from emulator.scenario.vocabulary import vocabulary
from emulator.vendors.registry import Registry

VENDOR = "strivacity"
# AccountEventResponse fields, in the order of the documented examples (the schema lists them alphabetically)
RECORD = [
    "eventId",
    "type",
    "labels",
    "startTimestamp",
    "endTimestamp",
    "loginSessionId",
    "variantId",
    "actor",
    "actorApplication",
    "actorClient",
    "subject",
    "actions",
]
EVENT_TYPES = {
    "customerFlow",
    "selfService",
    "administrative",
    "scheduled",
    "bulkOperation",
    "systemInitiatedOperation",
}
ACTOR = ["accountId", "ip", "location", "userAgent", "userName", "store"]
SUBJECT = ["accountId", "requestedSubject", "userName", "store"]
ACTION = ["type", "timestamp", "actor", "http", "notifications", "details"]
DETAIL = ["type", "name", "label", "outcome", "timestamp", "metadata"]
# blocks and outcomes on Strivacity's "Password authentication" page (docs.strivacity.com/docs/password-authentication),
# which names no display label for them
PASSWORD_PAGE_BLOCKS = {
    "prePassword": {"passwordIsNeeded", "passwordIsNotNeeded"},
    "passwordEnroll": {"passwordEnrolled"},
    "password": {"hookAuthenticated", "passwordAuthenticated", "passwordAuthenticatorCreated", "rejected"},
    "forgottenPasswordEmail": {"magicLinkSent"},
    "forgottenPasswordPhone": {"passcodeSent"},
}
PASSWORD_PAGE_LABELS = {f"{o}:{e}" for o in ("success", "failure") for e in ("password_authentication", "password_reset")} | {
    "success:forgotten_password_request", "success:password_change", "failure:account_lock",
}  # fmt: skip
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@cache
def seed() -> tuple[list[str], dict[str, tuple[str, list[str]]], dict]:
    """Labels; block code -> (block name, outcome codes); the external-provider metadata example."""
    text = seed_text("strivacity-registration-and-login.txt")
    labels_part = text.split("Labels", 1)[1].split("Blocks", 1)[0]
    labels = re.findall(r"((?:success|failure):[a-z_]+)", labels_part)
    blocks_part = text.split("Blocks", 1)[1].split("External login provider metadata", 1)[0]
    blocks: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in blocks_part.splitlines():
        block = re.match(r"^([A-Z][^(•]*?)\s*\((\w+)\)", line)
        if block:
            current = block.group(2)
            blocks[current] = (block.group(1), [])
            continue
        outcome = re.match(r"^\s+•\s*[^()]+\((\w+)\)\s*$", line)
        if outcome and current:
            blocks[current][1].append(outcome.group(1))
    example = text.split("Example:", 1)[1]
    identities = json.loads("{" + example[example.index('"identities"') :].strip() + "}")
    return labels, blocks, identities


def render(text: str, seed_: int = 5):
    return list(render_events(load_scenario_text(text, "t.yaml"), VENDOR, seed_))


def steps(*lines: str, actors: str = "alice: {}\n  bob: {}") -> str:
    body = "\n".join(f"  - {line}" for line in lines)
    return f"name: t\nactors:\n  {actors}\nsteps:\n{body}\n"


def details(event) -> list[dict]:
    return [d for action in event.body.get("actions", []) for d in action.get("details", [])]


def blocks_of(event) -> list[tuple[str, str]]:
    return [(d["name"], d["outcome"]) for d in details(event)]


ALL_OUTCOMES = steps(
    "login: {actor: alice, hint: true, remember_device: true}",
    "background_login: alice",
    "login: {actor: alice, error: not_allowed, protocol: oidc}",
    "login: {actor: alice, error: not_allowed, protocol: saml}",
    "logout: alice",
    "logout: {actor: alice, error: session_expired}",
    "register: carol",
    "register: {actor: dave, error: password_rejected}",
    "register: {actor: dave, error: email_in_use}",
    "sso_login: {actor: erin, provider: microsoft, first: true}",
    "sso_login: {actor: frank, provider: google, first: true, error: federated_identity_account_exists}",
    "sso_login: {actor: frank, provider: google, first: true, error: email_mismatch}",
    "sso_login: {actor: frank, provider: google, first: true, error: identity_provider_login_failure}",
    "sso_login: {actor: frank, provider: google, first: true, error: rejected_by_user}",
    "sso_login: {actor: erin, provider: microsoft, error: not_allowed}",
    "sso_login: {actor: erin, provider: microsoft, error: identity_provider_error}",
    actors="alice: {}\n  carol: {registered: false}\n  dave: {registered: false}\n"
    "  erin: {registered: false}\n  frank: {registered: false}",
)


@cache
def all_outcomes():
    return render(ALL_OUTCOMES)


@cache
def everything():
    """The tour (which emits the five administrative types) and every outcome."""
    return list(render_events(load("tour"), VENDOR, 3)) + all_outcomes()


def test_seed_is_parsed():
    labels, blocks, identities = seed()
    assert sorted(labels) == sorted(
        f"{o}:{e}" for o in ("success", "failure") for e in ("login", "logout", "registration")
    )
    assert len(blocks) == 8
    assert blocks["externalLoginProvider"][0] == "External login provider assessment"
    assert blocks["rejectLoginSaml2"] == ("Reject login SAML2", ["rejected"])
    assert sum(len(outcomes) for _, outcomes in blocks.values()) == 17
    assert list(identities["identities"]["microsoft"]) == ["id", "display", "metadata"]


def test_every_label_block_and_outcome_of_the_seed_is_rendered():
    labels, blocks, _ = seed()
    events = all_outcomes()
    seen_labels = {label for e in events for label in e.body["labels"]}
    assert set(labels) <= seen_labels, sorted(set(labels) - seen_labels)
    seen = {pair for e in events for pair in blocks_of(e)}
    expected = {(code, outcome) for code, (_, outcomes) in blocks.items() for outcome in outcomes}
    assert expected <= seen, sorted(expected - seen)
    known = {code: set(outcomes) for code, (_, outcomes) in blocks.items()} | PASSWORD_PAGE_BLOCKS
    for event in everything():
        for name, outcome in blocks_of(event):
            assert outcome in known[name], (name, outcome)


def test_details_name_the_block_as_the_seed_does():
    _, blocks, _ = seed()
    for event in everything():
        for detail in details(event):
            assert list(detail) == [k for k in DETAIL if k in detail]
            assert detail["type"] == "block"
            if detail["name"] in PASSWORD_PAGE_BLOCKS:
                assert "label" not in detail, "the Password authentication page documents no label for it"
            else:
                assert detail["label"] == blocks[detail["name"]][0]
            assert TIMESTAMP.match(detail["timestamp"])


def test_catalog_labels_and_every_action():
    catalog = Registry().vendor(VENDOR).catalog
    labels, _, _ = seed()
    assert set(labels) <= set(catalog.all_types())
    assert set(catalog.all_types()) >= PASSWORD_PAGE_LABELS
    assert all(re.match(r"^(success|failure):[a-z_]+$", t) for t in catalog.all_types())
    for action in vocabulary().actions:
        if action != "emit":
            assert action in catalog.actions, action
            if not catalog.actions[action]:
                assert catalog.notes.get(action), f"{action} emits nothing and needs a note saying why"
    assert {e.type for e in everything()} == set(catalog.all_types())


def test_record_follows_the_account_event_schema():
    for event in everything():
        body = event.body
        assert list(body) == [k for k in RECORD if k in body], list(body)
        uuid.UUID(body["eventId"])
        assert body["eventId"] == event.id
        assert body["type"] in EVENT_TYPES
        assert event.type in body["labels"]
        assert all(re.match(r"^(success|failure):[a-z_]+$", label) for label in body["labels"])
        start, end = body["startTimestamp"], body["endTimestamp"]
        assert TIMESTAMP.match(start) and TIMESTAMP.match(end)
        assert datetime.fromisoformat(end) > datetime.fromisoformat(start)
        if "actor" in body:
            assert list(body["actor"]) == [k for k in ACTOR if k in body["actor"]]
        assert list(body["subject"]) == [k for k in SUBJECT if k in body["subject"]]
        for action in body.get("actions", []):
            assert list(action) == [k for k in ACTION if k in action]
            assert action["type"] in EVENT_TYPES and TIMESTAMP.match(action["timestamp"])


def test_fields_with_empty_values_are_not_included():
    for event in everything():
        for path, value in walk(event.body):
            assert value is not None and value not in ("", [], {}), (event.type, path)


def test_login_blocks():
    hint, background, oidc, saml, *_ = all_outcomes()
    assert hint.type == "success:login" and hint.body["labels"] == ["success:login"]
    assert blocks_of(hint) == [("loginHint", "preFill"), ("loadDeviceSession", "success")]
    assert blocks_of(background) == [("loadDeviceSession", "success")]
    assert (oidc.type, blocks_of(oidc)) == ("failure:login", [("rejectLoginOidc", "rejected")])
    assert (saml.type, blocks_of(saml)) == ("failure:login", [("rejectLoginSaml2", "rejected")])
    [plain, failed] = render(steps("login: alice", "login: {actor: alice, error: invalid_user_credentials}"))
    assert "actions" not in plain.body and "actions" not in failed.body
    assert failed.body["labels"] == ["failure:login"]


def test_session_id_is_the_same_from_login_to_logout_and_absent_on_failure():
    events = render(
        steps("login: alice", "refresh: alice", "logout: alice", "login: {actor: bob, error: invalid_user_credentials}")
    )
    assert [e.type for e in events] == ["success:login", "success:logout", "failure:login"]
    login, logout, failure = (e.body for e in events)
    assert login["loginSessionId"] == logout["loginSessionId"]
    assert "loginSessionId" not in failure
    assert login["actor"]["accountId"] == login["subject"]["accountId"] == logout["subject"]["accountId"]
    assert failure["subject"]["accountId"] != login["subject"]["accountId"]


def test_registration():
    events = all_outcomes()
    ok, password, email = (e for e in events if e.action == "register")
    assert ok.type == "success:registration" and ok.body["labels"] == ["success:registration", "success:login"]
    assert blocks_of(ok) == [("registration", "success"), ("postRegistration", "accepted")]
    assert ok.body["loginSessionId"]
    assert password.type == "failure:registration" and password.body["labels"] == ["failure:registration"]
    assert blocks_of(password) == [("registration", "success"), ("postRegistration", "rejected")]
    assert blocks_of(email) == [("registration", "rejected")]
    assert "accountId" not in email.body["subject"] and email.body["subject"]["requestedSubject"]
    [no_login] = render(steps("register: {actor: zoe, login: false}", actors="zoe: {registered: false}"))
    assert no_login.body["labels"] == ["success:registration"] and "loginSessionId" not in no_login.body


def test_external_login_provider_blocks():
    sso = [e for e in all_outcomes() if e.action == "sso_login"]
    assert [(e.type, e.body["labels"], blocks_of(e)) for e in sso] == [
        (
            "success:login",
            ["success:registration", "success:login"],
            [
                ("externalLoginProvider", "identified"),
                ("externalLoginProvider", "created"),
                ("postExternalLogin", "allowed"),
            ],
        ),
        ("failure:login", ["failure:login"], [("externalLoginProvider", "accountAlreadyExists")]),
        ("failure:login", ["failure:login"], [("externalLoginProvider", "emailMismatch")]),
        ("failure:login", ["failure:login"], [("externalLoginProvider", "failed")]),
        ("failure:login", ["failure:login"], [("externalLoginProvider", "rejected")]),
        (
            "failure:login",
            ["failure:login"],
            [("externalLoginProvider", "identified"), ("postExternalLogin", "rejected")],
        ),
        (
            "failure:login",
            ["failure:login"],
            [("externalLoginProvider", "identified"), ("postExternalLogin", "showError")],
        ),
    ]
    [linked] = render(steps("sso_login: {actor: alice, provider: github, first: true, link: true}"))
    assert linked.body["labels"] == ["success:login"]
    assert blocks_of(linked) == [("externalLoginProvider", "identified"), ("postExternalLogin", "allowed")]


def test_provider_metadata_has_the_seed_example_shape():
    _, _, example = seed()
    shape = example["identities"]["microsoft"]
    first = next(e for e in all_outcomes() if e.action == "sso_login")
    identified = details(first)[0]
    assert identified["outcome"] == "identified"
    identities = identified["metadata"]["identities"]
    assert list(identities) == ["microsoft"]
    entry = identities["microsoft"]
    assert list(entry) == list(shape)
    assert re.match(r"^microsoft\|[0-9a-f]{16}$", entry["id"]) and re.match(r"^microsoft\|[0-9a-f]+$", shape["id"])
    assert entry["display"] == first.body["actor"]["userName"]
    assert list(entry["metadata"]) == list(shape["metadata"])
    assert entry["metadata"]["givenName"] and entry["metadata"]["surname"]
    assert "metadata" not in details(first)[1]  # created
    failed = [e for e in all_outcomes() if blocks_of(e) == [("externalLoginProvider", "failed")]]
    assert failed and "metadata" not in details(failed[0])[0]
    [google] = render(steps("sso_login: {actor: alice, provider: google}"))
    claims = details(google)[0]["metadata"]["identities"]["google"]["metadata"]
    assert claims["email"] == google.body["subject"]["userName"] and claims["email_verified"] is True


def test_account_changes_are_self_service_account_updates():
    events = render(
        steps(
            "login: alice",
            "update_profile: {actor: alice, first_name: Alicia}",
            "update_email: alice",
            "update_password: alice",
            "update_password: {actor: alice, error: password_rejected}",
            "link_identity: {actor: alice, provider: github}",
            "verify_email: alice",
            "verify_email: {actor: alice, error: expired_code}",
            "refresh: alice",
            "password_reset: alice",
            "send_verify_email: alice",
            "required_action: {actor: alice, action: update_password}",
            "api_login: svc",
            actors="alice: {}\n  svc: {kind: client}",
        )
    )
    assert [e.type for e in events] == [
        "success:login",
        "success:account_update",
        "success:account_update",
        "success:password_change",  # the Password authentication page's label for a changed password
        "success:account_update",
        "success:account_activation",
        "failure:account_activation",
        "success:forgotten_password_request",
    ]
    for update in events[1:5]:
        assert update.body["type"] == "selfService"
        assert update.body["loginSessionId"] == events[0].body["loginSessionId"]
    assert events[5].body["type"] == "customerFlow"
    [block] = events[-1].body["actions"][0]["details"]
    assert (block["name"], block["outcome"]) == ("forgottenPasswordEmail", "magicLinkSent")


def test_emitted_administrative_events():
    emitted = [e for e in everything() if e.action == "emit" and e.body["type"] == "administrative"]
    assert len(emitted) == 5
    for event in emitted:
        body = event.body
        assert body["type"] == "administrative"
        assert "actor" not in body and "loginSessionId" not in body
        assert body["subject"]["accountId"] and body["subject"]["store"] == "Customers"


def test_same_seed_same_bytes():
    first = [json.dumps(e.record()) for e in render_events(load("tour"), VENDOR, 9)]
    second = [json.dumps(e.record()) for e in render_events(load("tour"), VENDOR, 9)]
    assert first == second
