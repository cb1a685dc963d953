"""Retry policies on their own: which failures are retried, how long each wait is, when to stop."""

from __future__ import annotations

import random

import pytest

from emulator.delivery.retry import Failure, PolicyError, policy_from_spec, preset, retry_after_seconds
from emulator.delivery.targets import build_target

RNG = random.Random(1)


def waits(policy, failure, limit=50):
    out, elapsed, n = [], 0.0, 1
    while n <= limit:
        wait = policy.next_wait(n, elapsed, failure, RNG)
        if wait is None:
            return out
        out.append(wait)
        elapsed += wait
        n += 1
    return out


def vendor_policy(registry, vendor):
    return build_target({"name": "t", "url": "http://localhost/x", "vendor": vendor}, registry).retry


def test_standard_webhooks_schedule():
    policy = policy_from_spec(preset("standard-webhooks"), "standard-webhooks")
    assert policy.attempts == 8
    assert waits(policy, Failure(status=500)) == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert waits(policy, Failure(kind="timeout"))[:2] == [5, 300]
    assert waits(policy, Failure(status=301)) == [5, 300, 1800, 7200, 18000, 36000, 36000]  # 3xx is a failure


def test_gone_and_abort_stop_at_once():
    policy = policy_from_spec(preset("standard-webhooks"))
    assert policy.next_wait(1, 0, Failure(status=410), RNG) is None
    assert policy.next_wait(1, 0, Failure(status=500, abort=True), RNG) is None


def test_idaas_retries_only_5xx_twice_with_jitter(registry):
    policy = vendor_policy(registry, "idaas")
    assert policy.attempts == 3
    got = waits(policy, Failure(status=503))
    assert len(got) == 2
    assert 1.8 <= got[0] <= 2.2 and 3.6 <= got[1] <= 4.4
    assert waits(policy, Failure(status=429)) == []
    assert waits(policy, Failure(status=404)) == []
    assert waits(policy, Failure(kind="timeout")) == []


def test_fusionauth_three_more_attempts_back_to_back_only_after_a_transaction(registry):
    target = build_target({"name": "t", "url": "http://localhost/x", "vendor": "fusionauth"}, registry)
    assert waits(target.retry, Failure(status=500)) == [], "None, the default transaction type, fires and forgets"
    assert waits(target.transaction_retry, Failure(status=500)) == [0, 0, 0]
    assert waits(target.transaction_retry, Failure(kind="timeout")) == [0, 0, 0]


def test_keycloak_exponential_from_500ms(registry):
    policy = vendor_policy(registry, "keycloak")
    got = waits(policy, Failure(status=500))
    nominal = [0.5, 2.5, 12.5, 62.5, 180.0]
    for wait, base in zip(got, nominal, strict=False):
        assert base * 0.5 <= wait <= base * 1.5
    assert sum(got) <= 900
    assert all(w <= 180 * 1.5 for w in got)
    assert waits(policy, Failure(kind="network")) == []  # the extension's code does not retry transport errors


def test_flip_delivers_like_keycloak(registry):
    flip = build_target(
        {"name": "t", "url": "http://localhost/x", "vendor": "flip", "signing": {"secret": "s"}}, registry
    )
    keycloak = build_target({"name": "t", "url": "http://localhost/x", "vendor": "keycloak"}, registry)
    assert flip.retry.attempts == keycloak.retry.attempts and flip.signing.scheme == "keycloak-hmac"


def test_retry_after_is_honoured_and_capped():
    policy = policy_from_spec({"attempts": 3, "schedule": ["1s"], "retry_on": ["429"]})
    assert policy.next_wait(1, 0, Failure(status=429, retry_after="7"), RNG) == 7
    assert policy.next_wait(1, 0, Failure(status=429, retry_after="999999"), RNG) == 3600
    assert policy.next_wait(1, 0, Failure(status=429, retry_after="soon"), RNG) == 1
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10


def test_max_elapsed_stops_early():
    policy = policy_from_spec({"attempts": 100, "initial": "10s", "multiplier": 2, "max_elapsed": "60s"})
    assert waits(policy, Failure(status=500)) == [10, 20]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"attempts": 0}, "attempts: expected a whole number from 1 to 1000"),
        ({"schedule": []}, "schedule: expected a list"),
        ({"schedule": ["soon"]}, "schedule[0]: expected a duration"),
        ({"jitter": 2}, "jitter: expected a number from 0 to 1"),
        ({"retry_on": ["6xx"]}, "retry_on: unknown class '6xx'"),
        ({"atempts": 3}, "unknown retry setting 'atempts'"),
    ],
)
def test_bad_policies_say_which_field(spec, message):
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        policy_from_spec(spec)


@pytest.mark.parametrize(
    ("vendor", "words"),
    [
        ("keycloak", ["keycloak-hmac", "x5", "retried on: 3xx, 4xx, 429, 5xx"]),
        ("fusionauth", ["fusionauth-jwt", "connect 1 s, read 2 s"]),
        ("idaas", ["after 2 s, 4 s", "retried on: 5xx"]),
        ("strivacity", ["header", "timeout, network"]),
    ],
)
def test_catalog_shows_how_each_vendor_delivers_by_default(vendor, words):
    import io

    from emulator.cli import main

    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        assert main(["catalog", "--vendor", vendor]) == 0
    section = out.getvalue().split("delivery by default:", 1)[1]
    assert all(w in section for w in words), section[:600]


# p2-inc/keycloak-events HttpSenderEventListenerProvider.send: any status < 200 or >= 300 is a retryable
# SenderException(true) (no special case for any code); the response is read only for its status (no
# Retry-After); a transport exception is SenderException(false), which schedule() does not retry.
P2_RETRIED = (301, 302, 400, 404, 408, 410, 429, 500, 502, 503)


def test_keycloak_retries_as_p2_does(registry):
    policy = vendor_policy(registry, "keycloak")
    for status in P2_RETRIED:
        assert policy.next_wait(1, 0, Failure(status=status), RNG) is not None, status
    assert policy.next_wait(1, 0, Failure(kind="network"), RNG) is None
    assert policy.next_wait(1, 0, Failure(kind="timeout"), RNG) is None
    asked = policy.next_wait(1, 0, Failure(status=503, retry_after="3000"), random.Random(2))
    assert asked is not None and asked < 3000, "Retry-After is not read"
    target = build_target({"name": "t", "url": "http://localhost/x", "vendor": "keycloak"}, registry)
    assert target.disable_on_gone is False, "p2 keeps a webhook whatever it answers"


def test_keycloak_strict_is_ours_and_polite(registry):
    policy = build_target(
        {"name": "t", "url": "http://localhost/x", "vendor": "keycloak", "retry": "keycloak-strict"}, registry
    ).retry
    assert policy.next_wait(1, 0, Failure(status=410), RNG) is None
    assert policy.next_wait(1, 0, Failure(status=503, retry_after="120"), RNG) >= 120
    assert policy.next_wait(1, 0, Failure(kind="network"), RNG) is not None


def test_keycloak_timeouts_are_ours_and_said_to_be(registry):
    from emulator.vendors.overview import catalog_data

    facts = catalog_data(registry, "keycloak")["vendors"][0]["delivery_sources"]
    assert "ours" in facts["timeouts"]["note"]
    target = build_target({"name": "t", "url": "http://localhost/x", "vendor": "keycloak"}, registry)
    assert (target.connect_timeout, target.read_timeout) == (10, 30)
    older = build_target({"name": "t", "url": "http://localhost/x", "vendor": "keycloak@25.0"}, registry)
    assert older.read_timeout == 5, "p2 0.30-0.32 used Keycloak's pooled client, 5 s socket timeout"
    assert older.retry.multiplier == 1.5 and older.retry.max_interval == 60, "the backoff before p2 0.40"
