"""Okta event hooks: every event of the tour is a System Log event that Okta's own Python SDK reads
(``okta.models.LogEvent``) to the same values; the envelope and the one-time verification follow
developer.okta.com/docs/concepts/event-hooks, checked over loopback: the challenge comes before the
first delivery, a consumer that answers it wrongly gets nothing, and the reason says what was expected."""

from __future__ import annotations

from datetime import datetime

import pytest
from okta.models.log_event import LogEvent

from emulator.delivery.targets import build_target
from emulator.render import load, render_events
from emulator.vendors.registry import Registry

VENDOR = "okta"
SECRET = "okta-hook-secret"
# the event hook request body (developer.okta.com/docs/concepts/event-hooks, "Event hook request")
ENVELOPE = {"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1"}
ENVELOPE_KEYS = ["eventType", "eventTypeVersion", "cloudEventsVersion", "source", "eventId", "data", "eventTime"]


def without_nulls(value):
    if isinstance(value, dict):
        kept = {k: without_nulls(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in kept.items() if v != {}}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


@pytest.fixture(scope="module")
def tour():
    return list(render_events(load("tour"), VENDOR, 3))


def test_every_event_is_a_log_event_of_the_okta_sdk(tour):
    for event in tour:
        body = event.body
        assert {k: body[k] for k in ENVELOPE} == ENVELOPE and list(body)[:7] == ENVELOPE_KEYS
        assert body["contentType"] == "application/json" and body["eventId"] == event.id
        assert body["source"].startswith("https://") and "/api/v1/eventHooks/" in body["source"]
        [log] = body["data"]["events"]
        parsed = LogEvent.from_dict(log)  # pydantic: types and enums (severity, credentialType, ...)
        read = parsed.model_dump(by_alias=True, mode="json")
        assert datetime.fromisoformat(read.pop("published")) == datetime.fromisoformat(log["published"])
        assert without_nulls(read) == without_nulls({k: v for k, v in log.items() if k != "published"}), event.type
        assert parsed.event_type == event.type and parsed.outcome.result in ("SUCCESS", "FAILURE")


def test_outcomes_reasons_and_severity():
    text = """
name: t
actors: {alice: {}, mallory: {email: mallory@example.com}}
defaults: {lockout: {failures: 2, duration: 15m}}
steps:
  - login: {actor: mallory, error: invalid_user_credentials}
  - login: {actor: mallory, error: invalid_user_credentials}
  - login: {actor: alice, method: otp}
"""
    from emulator.scenario.loader import load_scenario_text

    events = list(render_events(load_scenario_text(text, "t.yaml"), VENDOR, 1))
    logs = [(e.type, e.body["data"]["events"][0]) for e in events]
    failed = [log for kind, log in logs if kind == "user.session.start" and log["outcome"]["result"] == "FAILURE"]
    assert len(failed) == 2 and all(log["outcome"]["reason"] == "INVALID_CREDENTIALS" for log in failed)
    assert all(log["severity"] == "WARN" and log["legacyEventType"] == "core.user_auth.login_failed" for log in failed)
    lock = next(log for kind, log in logs if kind == "user.account.lock")
    assert lock["target"][0]["alternateId"] == "mallory@example.com"
    kinds = [kind for kind, _ in logs]
    assert kinds[-3:] == ["user.authentication.auth_via_mfa", "user.session.start", "user.authentication.sso"]
    mfa = logs[-3][1]
    assert mfa["authenticationContext"]["credentialType"] == "OTP"


def test_delivery_defaults_follow_okta():
    target = build_target({"url": "http://127.0.0.1:9/", "vendor": VENDOR, "signing": {"secret": SECRET}}, Registry())
    assert (target.signing.scheme, target.signing.header, target.signing.value) == ("header", "Authorization", SECRET)
    assert target.total_timeout == 3 and target.retry.attempts == 2  # 3 s, one retry
    assert "4xx" not in target.retry.retry_on and "5xx" in target.retry.retry_on
    assert target.verification is not None and target.verification.header == "X-Okta-Verification-Challenge"


def test_the_challenge_comes_first_and_the_receiver_answers_it(in_process, receiver):
    receiver.expect(VENDOR, SECRET)
    result = in_process.play("login", VENDOR, receiver, secret=SECRET)
    assert result.ok, result
    assert len(receiver.receiver.verifications) == 1
    hooks = receiver.received
    assert hooks and all(h.method == "POST" and h.headers["Authorization"] == SECRET for h in hooks)
    assert all(str(h.verdict) == "signature valid" for h in hooks)


@pytest.mark.parametrize(("answer", "says"), [(200, "an empty body, not JSON"), (404, "answered HTTP 404")])
def test_a_wrong_answer_to_the_challenge_stops_every_delivery_and_says_why(in_process, receiver, answer, says):
    receiver.respond(answer, per_event=False, then=answer)  # a consumer that does not know Okta's challenge
    result = in_process.play("login", VENDOR, receiver.url, secret=SECRET)  # a URL: not read as Okta's
    assert not result.ok and result.summary.delivered == 0 and result.summary.attempts == result.summary.events
    [failure] = result.summary.failures
    reason = failure["reason"]
    assert says in reason and "X-Okta-Verification-Challenge" in reason and '{"verification": "' in reason
    assert [h.method for h in receiver.received] == ["GET"]  # the challenge, and nothing after it
