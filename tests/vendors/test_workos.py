"""WorkOS events checked with WorkOS's own Python SDK: each payload of every bundled scenario (and an
example of every catalog type) is parsed by the SDK's event models into the model of its type, and
the model written back is the payload itself, so there is no field the SDK does not know, none it
requires that is missing, and no value it reads otherwise. Delivered over loopback, each request
verifies with the SDK's webhook verification (which also parses the event)."""

from __future__ import annotations

import re
from functools import cache

import pytest
from conftest import scenario_names
from workos import WorkOSClient
from workos.events.models import EventSchema, EventSchemaUnknown

from emulator.render import load, render_events
from emulator.vendors.examples import examples
from emulator.vendors.registry import Registry

VENDOR = "workos"
SECRET = "workos-webhook-secret"
WEBHOOKS = WorkOSClient(api_key="sk_test_emulator", client_id="client_emulator").webhooks
ULID = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"


@cache
def shared_registry() -> Registry:
    return Registry()


@cache
def rendered() -> list:
    return [e for s in scenario_names() for e in render_events(load(s), VENDOR, 7, registry=shared_registry())]


def sdk_round_trip(body: dict) -> None:
    model = EventSchema.from_dict(body)
    assert not isinstance(model, EventSchemaUnknown), f"the SDK does not know {body['event']!r}"
    assert type(model).__name__.lower().replace("_", "") == body["event"].replace(".", "").replace("_", "")
    assert model.to_dict() == body, f"{body['event']}: the SDK's model of it differs from what was sent"


def test_every_bundled_render_is_what_the_sdk_models_say():
    events = rendered()
    assert events
    for event in events:
        sdk_round_trip(event.body)
        assert event.body["event"] == event.type


def test_every_catalog_type_has_an_sdk_model_and_matches_it():
    shown = examples(shared_registry(), VENDOR)
    assert set(shown) == set(shared_registry().vendor(VENDOR).event_types())
    for event in shown.values():
        sdk_round_trip(event.body)


def test_ids_are_prefixed_ulids_and_the_event_id_sorts_by_time():
    events = rendered()
    for event in events:
        assert re.fullmatch(f"event_{ULID}", event.body["id"])
        data = event.body["data"]
        if "user_id" in data and data["user_id"] is not None:
            assert re.fullmatch(f"user_{ULID}", data["user_id"])
    one_run = list(render_events(load("tour"), VENDOR, 7, registry=shared_registry()))
    ids = [e.body["id"] for e in one_run]
    assert ids == sorted(ids)  # the ULID is the event's uuid7: ids sort as the events happened


def test_a_failed_sign_in_carries_workos_error_code_and_message():
    failed = [e for e in rendered() if e.type == "authentication.password_failed"]
    assert failed
    for event in failed:
        error = event.body["data"]["error"]
        assert error["code"] in shared_registry().vendor(VENDOR).catalog.errors_known
        assert error["message"] == shared_registry().vendor(VENDOR).catalog.error_docs[error["code"]]
    codes = {e.body["data"]["error"]["code"] for e in failed}
    assert "invalid_credentials" in codes


def test_a_session_ends_revoked_with_the_id_it_began_with():
    events = rendered()
    created = {e.body["data"]["id"] for e in events if e.type == "session.created"}
    revoked = [e.body["data"] for e in events if e.type == "session.revoked" and e.action == "logout"]
    assert revoked
    for data in revoked:
        assert data["id"] in created and data["status"] == "revoked" and data["ended_at"]


def test_delivered_events_verify_with_the_sdk_and_the_receiver_reads_them(idp_emulator, webhook_receiver):
    webhook_receiver.expect(VENDOR, SECRET)
    result = idp_emulator.play("login", VENDOR, webhook_receiver, secret=SECRET)
    got = webhook_receiver.wait_for(len(result.events))
    assert [w.type for w in got] == [e["type"] for e in result.events]
    webhook_receiver.assert_signed()
    for webhook in got:
        header = webhook.headers["WorkOS-Signature"]
        assert re.fullmatch(r"t=\d{13}, v1=[0-9a-f]{64}", header)
        model = WEBHOOKS.verify_event(event_body=webhook.body, event_signature=header, secret=SECRET)
        assert model.to_dict() == webhook.json()
        assert webhook.id == webhook.json()["id"] and webhook.user
        with pytest.raises(ValueError):
            WEBHOOKS.verify_header(event_body=webhook.body + b" ", event_signature=header, secret=SECRET)


async def test_listen_reads_and_verifies_workos_webhooks(registry):
    from testing.test_listen import deliver, start_listen, stop

    proc, url = await start_listen("--vendor", VENDOR, "--secret", SECRET)
    summary = await deliver(registry, url, VENDOR, signing={"secret": SECRET})
    out = await stop(proc)
    lines = [line for line in out.splitlines() if "POST /webhooks" in line]
    assert summary.ok and len(lines) == summary.attempts >= 2
    assert all("signature valid" in line and "user=" in line for line in lines)
    assert "authentication.password_succeeded" in lines[0] and "session.created" in lines[1]
