"""The consumer against FusionAuth's webhooks as the emulator plays them: the app runs on the test's loop."""

from __future__ import annotations

import pytest
from aiohttp import web
from app import FAILURES, OUTAGE, SEEN, USERS, Failure, handle, make_app

SECRET = "consumer-tests-hmac-key-of-32-bytes-or-more"  # PyJWT warns about HS256 keys under 32 bytes


@pytest.fixture
def app() -> web.Application:
    return make_app(SECRET)


@pytest.fixture
async def url(aiohttp_server, app: web.Application) -> str:
    server = await aiohttp_server(app)
    return str(server.make_url("/webhooks/fusionauth"))


async def test_first_sso_login_creates_the_user_once(idp_emulator, app, url):
    result = await idp_emulator.play_async("sso-first-login", "fusionauth", url, secret=SECRET)

    assert result.ok, result.deliveries
    [login] = result.bodies("user.login.success")
    user = login["event"]["user"]
    assert list(app[USERS]) == [user["id"]]
    assert app[USERS][user["id"]].email == user["email"]
    assert app[USERS][user["id"]].logins == 1
    assert len(app[SEEN]) == len(result.events)  # every event handled, the ones it ignores included


@pytest.mark.parametrize(
    ("error", "reason"), [("invalid_user_credentials", "credentials"), ("access_denied", "lambdaValidation")]
)
async def test_failed_login_keeps_fusionauths_reason(idp_emulator, app, url, error, reason):
    result = await idp_emulator.trigger_async("login", "fusionauth", url, error=error, secret=SECRET)

    assert result.types == ["user.login.failed"]
    user_id = result.bodies()[0]["event"]["user"]["id"]
    assert app[FAILURES] == [Failure(user_id, reason)]
    assert app[USERS] == {}


async def test_failed_login_of_an_unknown_user_sends_nothing(idp_emulator, app, url):
    result = await idp_emulator.trigger_async(
        "login", "fusionauth", url, error="invalid_user_credentials", actor={"registered": False}, secret=SECRET
    )

    assert result.events == []  # FusionAuth has no event for it: do not count on one
    assert app[FAILURES] == []


async def test_an_event_delivered_twice_is_handled_once(idp_emulator, app, url):
    first = await idp_emulator.play_async("sso-first-login", "fusionauth", url, secret=SECRET, seed=7)
    again = await idp_emulator.play_async("sso-first-login", "fusionauth", url, secret=SECRET, seed=7)

    assert [e["event_id"] for e in again.events] == [e["event_id"] for e in first.events]
    assert again.summary.delivered == len(again.events)  # answered 200, so FusionAuth does not retry
    [user] = app[USERS].values()
    assert user.logins == 1
    assert len(app[FAILURES]) == 1


# FusionAuth's retries after a webhook transaction held: "up to three additional times", back to back
HELD_TRANSACTION_RETRIES = {"attempts": 4, "schedule": ["0s"], "retry_on": ["non-2xx", "timeout", "network"]}


async def test_an_outage_loses_the_login_under_fusionauths_default(idp_emulator, app, url):
    app[OUTAGE].remaining = 1

    result = await idp_emulator.trigger_async("login", "fusionauth", url, secret=SECRET)

    assert not result.ok  # the default transaction type None fires and forgets: no retry
    assert result.summary.attempts == 1
    assert app[USERS] == {}  # the app must reconcile (e.g. from the user API), not wait for a retry


async def test_retries_get_a_login_through_an_outage(idp_emulator, app, url):
    app[OUTAGE].remaining = 2

    result = await idp_emulator.trigger_async("login", "fusionauth", url, secret=SECRET, retry=HELD_TRANSACTION_RETRIES)

    assert result.ok
    assert result.summary.attempts == 3  # 500, 500, then 200
    [user] = app[USERS].values()
    assert user.logins == 1


@pytest.mark.parametrize("secret", ["someone-elses-key-that-is-32-bytes-long", None], ids=["wrong-key", "unsigned"])
async def test_a_bad_signature_is_rejected(idp_emulator, app, url, secret):
    result = await idp_emulator.trigger_async("login", "fusionauth", url, secret=secret)

    assert not result.ok
    assert result.summary.failed == 1
    assert result.deliveries[0]["last_status"] == 401
    assert app[USERS] == {}
    assert app[SEEN] == set()


def test_what_fusionauth_sends_is_what_the_app_reads(idp_emulator, webhook_receiver):
    """The sync form, no server: the receiver records the bytes, then the app's handler reads them."""
    webhook_receiver.respond(500, 200)  # every event fails once, so each one arrives twice
    result = idp_emulator.play(
        "sso-first-login", "fusionauth", webhook_receiver, secret=SECRET, retry=HELD_TRANSACTION_RETRIES
    )

    webhook_receiver.wait_for(2 * len(result.events))
    webhook_receiver.assert_signed()
    webhook_receiver.assert_received("user.login.success", count=2)
    assert set(webhook_receiver.duplicates().values()) == {2}

    app = make_app(SECRET)
    handled = [handle(app, w.json()["event"]) for w in webhook_receiver.received]
    assert handled.count(True) == len(result.events)
    [user] = app[USERS].values()
    assert user.logins == 1
