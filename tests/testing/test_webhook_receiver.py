"""The programmable receiver, driven by real runs over loopback: answers, waits, readings."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from emulator.delivery.runner import deliver_run
from emulator.delivery.targets import build_target
from emulator.render import load, render_events
from emulator.store import Store
from emulator.testing.receiver import WebhookReceiver
from emulator.testing.wire import read, type_matches
from emulator.vendors.registry import Registry

NOW = datetime.now(UTC).replace(microsecond=0)


async def run(registry, receiver, scenario="login", vendor="fusionauth", **spec):
    t = build_target({"name": "t", "url": receiver.url, "vendor": vendor, **spec}, registry)
    store = Store()
    summary = await deliver_run(load(scenario), [t], store, 1, NOW, 0.001, registry=registry)
    return summary, store


@functools.cache
def token_key() -> str:
    """An RSA key (PEM), for a vendor whose body is a token signed with one (RS256)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


@pytest.mark.parametrize("vendor", Registry().names)  # every vendor, a new one too
async def test_it_reads_every_vendors_id_type_and_user(registry, vendor):
    async with WebhookReceiver(vendor, registry=registry) as receiver:
        # a vendor whose body is a signed token (its wire says ``body: jwt``: SSF's SETs) sends none without a key
        signed = receiver.wire.get("body") == "jwt"
        await run(registry, receiver, "tour", vendor, **({"signing": {"secret": token_key()}} if signed else {}))
        events = list(render_events(load("tour"), vendor, 1, NOW, registry))
        # what a consumer reads in each rendered body (a token's claims as they are rendered)
        wire = {k: v for k, v in receiver.wire.items() if k != "body"}
        expected = Counter((read(json.dumps(e.body).encode(), wire).id, e.type) for e in events)
        assert None not in {found for found, _ in expected}, f"{vendor}: an event without the wire's id"
        assert len(receiver.received) == len(events)
        for webhook in receiver.received:
            # ids need not be unique (Clerk's is the resource's: a user's id in user.created and user.updated)
            match = next((k for k in expected if k[0] == webhook.id and type_matches(k[1], webhook.types, wire)), None)
            assert match is not None, (webhook.id, webhook.types)
            expected[match] -= 1
            if not expected[match]:
                del expected[match]
        assert not expected
        assert sum(1 for w in receiver.received if w.user) > len(receiver.received) / 2


async def test_answers_per_event_then_200(registry):
    async with WebhookReceiver("fusionauth", "fa-secret-of-a-proper-length-123", registry=registry) as receiver:
        receiver.respond(500, 500, 200)
        summary, _ = await run(
            registry, receiver, signing={"secret": "fa-secret-of-a-proper-length-123"}, retry="standard-webhooks"
        )
        assert summary.ok and summary.attempts == 3
        assert [w.answered for w in receiver.received] == [500, 500, 200]
        receiver.assert_signed()


async def test_answers_in_arrival_order(registry):
    async with WebhookReceiver("keycloak", registry=registry) as receiver:
        receiver.respond(503, per_event=False)  # only the very first request fails
        summary, _ = await run(registry, receiver, vendor="keycloak", ordering="actor")
        assert summary.ok and summary.attempts == 4
        assert [w.answered for w in receiver.received].count(503) == 1


async def test_drop_and_hang(registry):
    async with WebhookReceiver("keycloak", registry=registry) as receiver:
        receiver.respond("drop", "hang", then=200, per_event=False)
        spec = {"retry": {"attempts": 3, "schedule": ["1s"], "retry_on": ["any"]}, "timeouts": {"read": "300ms"}}
        summary, store = await run(registry, receiver, vendor="keycloak", events=["LOGIN"], **spec)
        errors = [a["error"] for a in store.attempts(1)]
        assert summary.ok and len(errors) == 3
        assert "closed the connection without answering" in errors[0]
        assert errors[1] == "no answer within 0.3 s (read timeout)"
    # stopping returned although a handler was still hanging


async def test_delay(registry):
    async with WebhookReceiver("keycloak", registry=registry) as receiver:
        receiver.respond(delay=0.2)
        began = time.monotonic()
        summary, _ = await run(registry, receiver, vendor="keycloak", events=["LOGIN"])
        assert summary.ok and time.monotonic() - began >= 0.2


async def test_waits_end_when_the_condition_holds_and_fail_readably(registry):
    async with WebhookReceiver("keycloak", registry=registry) as receiver:
        task = asyncio.create_task(run(registry, receiver, "tour", "keycloak"))
        got = await receiver.wait_for(2, type="LOGOUT", timeout=10)
        assert len(got) >= 2 and all(w.type == "access.LOGOUT" for w in got)
        await task
        quiet = await receiver.wait_quiet(period=0.05, timeout=5)
        assert len(quiet) == len(receiver.received)
        with pytest.raises(AssertionError) as info:
            await receiver.wait_for(1, type="NO_SUCH_TYPE", timeout=0.1)
        assert "waited 0.1 s for 1 webhook(s) of type NO_SUCH_TYPE" in str(info.value)
        assert "access.LOGIN id=" in str(info.value)
        with pytest.raises(AssertionError, match=r"expected 5 webhook\(s\) of type LOGOUT, got \d+"):
            receiver.assert_received("LOGOUT", count=5)
        assert receiver.assert_received("LOGIN*")
        assert receiver.duplicates() == {}


async def test_duplicates_are_counted(registry):
    async with WebhookReceiver("keycloak", registry=registry) as receiver:
        await run(registry, receiver, vendor="keycloak", events=["LOGIN"])
        await run(registry, receiver, vendor="keycloak", events=["LOGIN"])  # same seed: same event id
        assert list(receiver.duplicates().values()) == [2]


async def test_bad_signatures_are_reported(registry):
    async with WebhookReceiver("keycloak", "right-secret", registry=registry) as receiver:
        await run(registry, receiver, vendor="keycloak", signing={"secret": "wrong-secret"}, events=["LOGIN"])
        assert "X-Keycloak-Signature does not match" in str(receiver.received[0].verdict)
        with pytest.raises(AssertionError, match="bad signature"):
            receiver.assert_signed()


def test_answers_are_checked():
    with pytest.raises(ValueError, match="status code, 'drop' or 'hang'"):
        WebhookReceiver().respond(700)


async def test_assert_signed_needs_a_secret_and_something_to_check(registry):
    async with WebhookReceiver("keycloak", registry=registry) as receiver:
        with pytest.raises(AssertionError, match="no webhook arrived"):
            receiver.assert_signed()
        await run(registry, receiver, vendor="keycloak", events=["LOGIN"])
        with pytest.raises(AssertionError, match="no secret to check signatures with"):
            receiver.assert_signed()


async def test_only_the_newest_requests_are_kept(registry):
    async with WebhookReceiver("keycloak", registry=registry, keep=2) as receiver:
        await run(registry, receiver, vendor="keycloak")
        assert [w.type for w in receiver.received] == ["access.CODE_TO_TOKEN", "access.LOGOUT"]


def test_listen_never_prints_terminal_escapes():
    from emulator.testing.listen import printable

    assert printable("id=\x1b]0;PWNED\x07\x1b[31mRED") == "id=\\x1b]0;PWNED\\x07\\x1b[31mRED"
