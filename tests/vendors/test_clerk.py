"""Clerk: every event of the tour, delivered over loopback as Svix delivers it, checked with the ``svix``
library's ``Webhook.verify`` and against the types of Clerk's own Backend SDK (clerk/javascript,
packages/backend/src/api/resources/Webhooks.ts and JSON.ts), whose field lists are copied here."""

from __future__ import annotations

import base64
import re

import pytest
from svix.webhooks import Webhook, WebhookVerificationError

from emulator.render import load, render_events
from emulator.vendors.registry import Registry

VENDOR = "clerk"
SECRET = "whsec_" + base64.b64encode(b"clerk-signing-secret-32-bytes!!!").decode()

# Webhooks.ts: the WebhookEvent union, type -> the JSON interface of its data
SDK_TYPES = {
    "user.created": "UserJSON",
    "user.updated": "UserJSON",
    "user.deleted": "DeletedObjectJSON",
    "session.created": "SessionJSON",
    "session.ended": "SessionJSON",
    "session.removed": "SessionJSON",
    "session.revoked": "SessionJSON",
    "email.created": "EmailJSON",
}
# JSON.ts: the members each interface requires (optional ones, marked '?', are left out), and `object`
SDK_FIELDS = {
    "UserJSON": (
        "user",
        "id username first_name last_name image_url has_image primary_email_address_id primary_phone_number_id"
        " primary_web3_wallet_id password_enabled two_factor_enabled totp_enabled backup_code_enabled"
        " email_addresses phone_numbers web3_wallets external_accounts saml_accounts password_last_updated_at"
        " public_metadata private_metadata unsafe_metadata external_id last_sign_in_at banned locked"
        " lockout_expires_in_seconds verification_attempts_remaining created_at updated_at last_active_at"
        " create_organization_enabled create_organizations_limit delete_self_enabled legal_accepted_at locale",
    ),
    "SessionJSON": (
        "session",
        "id client_id user_id status actor last_active_at expire_at abandon_at created_at updated_at",
    ),
    "EmailJSON": ("email", "id from_email_name email_address_id delivered_by_clerk"),
    "DeletedObjectJSON": (None, "object deleted"),
}
EMAIL_ADDRESS_FIELDS = ["id", "object", "email_address", "verification", "linked_to"]
# Webhook<EvtType, Data> = { type; object: 'event'; data; event_attributes }; the docs add timestamp and instance_id
ENVELOPE = ["data", "event_attributes", "instance_id", "object", "timestamp", "type"]
# Svix's schedule (docs.svix.com/retries): immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
SVIX_WAITS = [5, 300, 1800, 7200, 18000, 36000, 36000]
KSUID = re.compile(r"[0-9A-Za-z]{27}")


@pytest.fixture(scope="module")
def tour():
    return list(render_events(load("tour"), VENDOR, 3))


def test_the_catalog_names_only_types_of_the_sdk_and_the_tour_emits_them(tour):
    catalog = Registry().vendor(VENDOR).catalog
    assert set(catalog.all_types()) == set(SDK_TYPES)
    assert {e.type for e in tour} == set(SDK_TYPES)


def test_every_event_has_the_sdk_envelope_and_data(tour):
    for event in tour:
        body = event.body
        assert list(body) == ENVELOPE  # alphabetical, as Clerk writes it
        assert body["object"] == "event" and body["type"] == event.type
        assert set(body["event_attributes"]["http_request"]) == {"client_ip", "user_agent"}
        assert body["timestamp"] == int(event.time.timestamp() * 1000)  # milliseconds
        assert body["instance_id"].startswith("ins_") and KSUID.fullmatch(body["instance_id"][4:])
        data = body["data"]
        kind, fields = SDK_FIELDS[SDK_TYPES[event.type]]
        missing = [f for f in fields.split() if f not in data]
        assert not missing, f"{event.type}: {missing}"
        if kind:
            assert data["object"] == kind
        assert list(data) == sorted(data), event.type


def test_users_sessions_and_emails_carry_clerk_ids_and_nulls(tour):
    users = [e.body["data"] for e in tour if e.type in ("user.created", "user.updated")]
    for user in users:
        assert user["id"].startswith("user_") and KSUID.fullmatch(user["id"][5:])
        assert user["external_id"] is None and user["primary_phone_number_id"] is None  # sent as null
        address = user["email_addresses"][0]
        assert all(f in address for f in EMAIL_ADDRESS_FIELDS) and address["id"] == user["primary_email_address_id"]
        assert address["verification"]["status"] in ("verified", "unverified")
        for account in user["external_accounts"]:
            assert account["provider"].startswith("oauth_") and account["object"] == "external_account"
    sso = [e.body["data"] for e in tour if e.type == "user.created" and e.action == "sso_login"]
    assert sso and sso[0]["external_accounts"] and sso[0]["password_enabled"] is False
    assert any(u["locked"] and u["lockout_expires_in_seconds"] > 0 for u in users)  # the brute-force lockout
    for event in tour:
        if event.type.startswith("session."):
            assert event.body["data"]["status"] == event.type.split(".")[1].replace("created", "active")
            assert event.body["data"]["id"].startswith("sess_")
    deleted = next(e.body["data"] for e in tour if e.type == "user.deleted")
    assert deleted == {"deleted": True, "id": deleted["id"], "object": "user"}


def test_svix_schedule_timeout_and_ids():
    vendor = Registry().vendor(VENDOR)
    from emulator.delivery.targets import build_target

    target = build_target({"url": "http://127.0.0.1:9/", "vendor": VENDOR, "signing": {"secret": SECRET}}, Registry())
    assert target.signing.scheme == "svix"
    assert list(target.retry.schedule) == SVIX_WAITS and target.retry.attempts == 8
    assert target.read_timeout == 15
    assert vendor.catalog.event_ids == "msg_{ksuid}"


def test_deliveries_verify_with_svix_and_a_changed_byte_does_not(in_process, receiver):
    result = in_process.play("tour", VENDOR, receiver, secret=SECRET, seed=3)
    assert result.ok, result
    received = receiver.received
    assert len(received) == result.summary.events > 20
    for hook in received:
        headers = {k.lower(): v for k, v in hook.headers.items()}
        Webhook(SECRET).verify(hook.body, headers)  # raises unless valid (it reads webhook-* too: none is sent)
        assert headers["svix-id"].startswith("msg_") and not any(h.startswith("webhook-") for h in headers)
        assert hook.verdict.ok is True  # the receiver (and listen) read it as Clerk's too
    tampered = bytearray(received[0].body)
    tampered[5] ^= 1
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(bytes(tampered), {k.lower(): v for k, v in received[0].headers.items()})
