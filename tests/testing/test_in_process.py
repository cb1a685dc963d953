"""The in-process emulator behind the ``idp_emulator`` fixture, used directly."""

from __future__ import annotations

import jwt
import pytest
from test_signing import EC_PEM, RSA_PEM

from emulator.testing.emulator import Emulator
from emulator.testing.handle import ReceiverHandle
from emulator.testing.harness import LoopThread
from emulator.testing.receiver import WebhookReceiver


@pytest.fixture(scope="module")
def harness():
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture
def emulator(harness):
    emu = harness.run(Emulator(harness).start())
    yield emu
    harness.run(emu.stop())


@pytest.fixture
def receiver(harness):
    r = WebhookReceiver()
    harness.run(r.start())
    yield ReceiverHandle(harness, r)
    harness.run(r.stop())


@pytest.mark.parametrize(("pem", "alg"), [(RSA_PEM, "RS256"), (EC_PEM, "ES256")])
def test_consumers_verify_with_the_published_jwks(emulator, receiver, pem, alg):
    result = emulator.play("login", "fusionauth", receiver, secret=pem)
    assert result.ok
    token = receiver.wait_for(1)[0].headers["X-FusionAuth-Signature-JWT"]
    assert jwt.get_unverified_header(token)["alg"] == alg  # taken from the key
    key = jwt.PyJWKClient(emulator.jwks_url).get_signing_key_from_jwt(token)
    assert "request_body_sha256" in jwt.decode(token, key.key, algorithms=[alg])
    receiver.assert_signed()


def test_trigger_one_action_with_an_error(emulator, receiver):
    result = emulator.trigger(
        "login", "fusionauth", receiver, error="invalid_user_credentials", actor={"email": "mallory@example.com"}
    )
    assert result.types == ["user.login.failed"]
    body = result.bodies("user.login.failed")[0]["event"]
    assert body["reason"]["code"] == "credentials" and body["user"]["email"] == "mallory@example.com"
    receiver.assert_received("user.login.failed", count=1, user="mallory@example.com")


def test_fan_out_and_inline_yaml(emulator, receiver):
    scenario = (
        "name: two-logins\nactors: {alice: {}}\nsteps:\n  - login: {actor: alice}\n    repeat: {count: 2, every: 1m}\n"
    )
    other = WebhookReceiver()
    emulator.harness.run(other.start())
    try:
        result = emulator.play(scenario, "keycloak", [receiver, other.url], seed=9)
        assert result.types == ["LOGIN", "CODE_TO_TOKEN", "LOGIN", "CODE_TO_TOKEN"]
        assert result.summary.delivered == 8
        assert len(receiver.received) == len(other.received) == 4
    finally:
        emulator.harness.run(other.stop())


async def test_blocking_calls_in_an_async_test_say_what_to_use(emulator, receiver):
    with pytest.raises(RuntimeError, match="await its _async form"):
        emulator.play("login", "keycloak", receiver)
    result = await emulator.play_async("login", "keycloak", receiver)
    assert result.ok
    assert len(await receiver.wait_for_async(3)) == 3


def test_faults_and_transactions_from_a_test(emulator, receiver):
    result = emulator.play("login", "keycloak", receiver, faults=[{"duplicate": {"copies": 1}}], seed=3)
    assert result.ok and len(receiver.duplicates()) == len(result.events) == 3
    receiver.respond(then=500)
    failed = emulator.trigger("login", "fusionauth", receiver, transaction="Any")
    assert failed.summary.steps[0]["committed"] is False


def test_a_play_that_times_out_is_cancelled(emulator, receiver):
    with pytest.raises(TimeoutError, match=r"play\(\) did not finish within 0.3 s; it was cancelled"):
        emulator.play("login", "keycloak", receiver, faults=[{"delay": {"fixed": "30s"}}], time_scale=1, timeout=0.3)
    assert receiver.received == []
