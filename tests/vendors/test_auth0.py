"""Auth0: log streams (each tenant log as {log_id, data} with its type code, framed as the stream's content
format says, with the static Authorization header) and Event Streams (CloudEvents, read here with the
``cloudevents`` SDK). The type codes and their names are Auth0's table (log-event-type-codes), copied here."""

from __future__ import annotations

import json
import re

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_structured
from cloudevents.core.formats.json import JSONFormat

from emulator.render import load, render_events
from emulator.vendors.encoding import event_json
from emulator.vendors.registry import Registry

VENDOR = "auth0"
TOKEN = "Bearer auth0-stream-token"
# auth0.com/docs/deploy-monitor/logs/log-event-type-codes: code -> event name (the codes the issue names and more)
CODES = {
    "s": "Success Login",
    "f": "Failed Login",
    "fp": "Failed Login (Incorrect Password)",
    "fu": "Failed Login (Invalid Email/Username)",
    "ss": "Success Signup",
    "fs": "Failed Signup",
    "sepft": "Success Exchange (Refresh Token for Access Token)",
    "feacft": "Failed Exchange (Authorization Code for Access Token)",
    "slo": "Success Logout",
    "scoa": "Success Cross Origin Authentication",
    "fcoa": "Failed Cross Origin Authentication",
    "limit_wc": "Blocked Account",
    "limit_mu": "Blocked IP Address",
}
STREAM_TYPES = {"user.created", "user.updated", "user.deleted"}
LOG_FIELDS = {"date", "type", "client_id", "client_name", "ip", "hostname", "log_id", "tenant_name"}


@pytest.fixture(scope="module")
def tour():
    return list(render_events(load("tour"), VENDOR, 3))


def test_every_named_code_is_in_the_catalog_with_auth0s_name(tour):
    catalog = Registry().vendor(VENDOR).catalog
    for code, name in CODES.items():
        assert catalog.events[code].doc == name
    assert {e.type for e in tour} == set(catalog.all_types())


def test_log_events(tour):
    for event in (e for e in tour if e.type not in STREAM_TYPES):
        body = event.body
        assert list(body) == ["log_id", "data"] and body["log_id"] == body["data"]["log_id"] == event.id
        assert re.fullmatch(r"900\d{53}", event.id)  # 56 digits, as Auth0's log ids
        data = body["data"]
        assert set(data) >= LOG_FIELDS and data["type"] == event.type
    by_type = {e.type: e.body["data"] for e in tour}
    assert by_type["fp"]["description"] == "Wrong email or password." and "error" in by_type["fp"]["details"]
    assert by_type["s"]["strategy_type"] in ("database", "social") and by_type["s"]["user_id"].startswith("auth0|")
    assert "user_id" not in by_type["fu"]  # an unknown user has no id


def test_event_streams_are_cloudevents(tour):
    streams = [e for e in tour if e.type in STREAM_TYPES]
    assert {e.type for e in streams} == STREAM_TYPES
    for event in streams:
        message = HTTPMessage(
            headers={"content-type": "application/cloudevents+json"}, body=event_json(event.body, "", "")
        )
        cloud = from_structured(message, JSONFormat())  # the SDK checks the required attributes and their types
        assert cloud.get_specversion() == "1.0" and cloud.get_type() == event.type
        assert cloud.get_source().startswith("urn:auth0:") and re.fullmatch(r"evt_[a-zA-Z0-9]{22}", cloud.get_id())
        assert cloud.get_dataschema().endswith(f"/api/v2/schemas/{event.type}")
        assert re.fullmatch(r"est_[a-zA-Z0-9]{22}", cloud.get_extension("a0stream"))
        assert cloud.get_extension("a0tenant") == "acme"
        assert cloud.get_data()["object"]["email"]


@pytest.mark.parametrize(("framing", "read"), [
    ("lines", lambda body: [json.loads(line) for line in body.decode().splitlines()]),
    ("array", lambda body: json.loads(body)),
    ("object", lambda body: [json.loads(body)]),
])  # fmt: skip
def test_deliveries_are_framed_as_the_stream_says(in_process, receiver, framing, read):
    receiver.expect(VENDOR, TOKEN)
    result = in_process.play("login", VENDOR, receiver, secret=TOKEN, format=framing)
    assert result.ok, result
    hooks = receiver.received  # one per event: a request carrying a batch is read event by event
    assert len(hooks) == result.summary.events
    firsts = [hook for hook in hooks if hook.position == 0]  # one per request
    assert len(firsts) == (len(hooks) if framing == "object" else 1)  # the vendor's batch: up to 100 logs
    for hook in firsts:
        logs = read(hook.body)
        assert hook.headers["Authorization"] == TOKEN and str(hook.verdict) == "signature valid"
        assert hook.body.endswith(b"\n") == (framing == "lines") and hook.batch == len(logs)
    assert [(h.type, h.id) for h in hooks] == [
        (log["data"]["type"], log["log_id"]) for hook in firsts for log in read(hook.body)
    ]


def test_the_default_framing_is_json_lines_and_a_wrong_one_is_named():
    from emulator.delivery.targets import build_target
    from emulator.errors import Problem

    target = build_target({"url": "http://127.0.0.1:9/", "vendor": VENDOR}, Registry())
    assert target.framing == "lines"
    with pytest.raises(Problem, match="format: expected one of object, array, lines, got 'csv'"):
        build_target({"url": "http://127.0.0.1:9/", "vendor": VENDOR, "format": "csv"}, Registry())
