"""Receivers that misbehave: each misbehaviour is an attempt with a clear reason and the policy's
next step, within the target's timeouts; the emulator never hangs and never crashes."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest
from receiver import Receiver, start_receiver

from emulator.delivery.runner import deliver_run
from emulator.delivery.targets import build_target
from emulator.render import load
from emulator.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)
TWICE = {"attempts": 2, "schedule": ["1s"], "retry_on": ["any"]}


async def one_login(registry, url, **spec):
    """Deliver one LOGIN event to ``url``; returns the summary and its attempt log."""
    t = build_target(
        {"name": "t", "url": url, "vendor": "keycloak", "events": ["LOGIN"], "retry": TWICE, **spec}, registry
    )
    store = Store()
    summary = await deliver_run(load("login"), [t], store, 7, NOW, time_scale=0.001, registry=registry)
    return summary, store.attempts(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_connection_refused(registry):
    summary, attempts = await one_login(registry, f"http://127.0.0.1:{free_port()}/hook")
    assert summary.failed == 1 and len(attempts) == 2
    assert all("connection refused" in a["error"] and a["status"] is None for a in attempts)
    assert attempts[0]["next_delay_ms"] == 1000 and attempts[1]["next_delay_ms"] is None


async def test_dns_failure(registry):
    summary, attempts = await one_login(registry, "http://no-such-host.invalid/hook")
    assert summary.failed == 1
    assert "cannot resolve host no-such-host.invalid" in attempts[0]["error"]


async def test_a_receiver_that_hangs_is_cut_off_at_the_read_timeout(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: ("sleep", 30)))
    began = time.monotonic()
    summary, attempts = await one_login(registry, receiver.url, timeouts={"read": "200ms"})
    assert time.monotonic() - began < 5
    assert summary.failed == 1 and len(attempts) == 2
    assert attempts[0]["error"] == "no answer within 0.2 s (read timeout)"


async def test_a_reset_connection(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: ("reset",) if nth == 1 else (200,)))
    summary, attempts = await one_login(registry, receiver.url)
    assert summary.ok and len(attempts) == 2
    assert attempts[0]["status"] is None
    assert "closed the connection" in attempts[0]["error"] or "reset" in attempts[0]["error"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((500,), "HTTP 500"),
        ((429, {"Retry-After": "2"}), "HTTP 429"),
        ((301, {"Location": "https://elsewhere.example/hook"}), "redirect to https://elsewhere.example/hook"),
    ],
)
async def test_failing_answers_are_recorded_and_retried(aiohttp_server, registry, answer, reason):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: answer if nth == 1 else (200,)))
    summary, attempts = await one_login(registry, receiver.url)
    assert summary.ok and len(attempts) == 2 and len(receiver.requests) == 2
    assert attempts[0]["status"] == answer[0] and reason in attempts[0]["error"]
    if answer[0] == 429:
        assert attempts[0]["next_delay_ms"] == 2000  # Retry-After beats the 1 s schedule


async def test_a_50_mb_answer_is_cut_to_an_excerpt(aiohttp_server, registry):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: ("big", 50 * 1024 * 1024)))
    began = time.monotonic()
    summary, attempts = await one_login(registry, receiver.url)
    assert summary.ok and len(attempts) == 1
    assert len(attempts[0]["response_body"]) == 4096
    assert time.monotonic() - began < 5  # the rest of the answer was never read


async def test_a_store_that_cannot_be_written_is_reported(registry, tmp_path):
    from emulator.store import StoreError

    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable idp-emulator store"):
        Store(bad)
