"""Shared helpers for the test suite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator.scenario.bundled import bundled_names
from emulator.vendors.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
SEEDS = Path(__file__).resolve().parent / "seeds"  # verbatim copies of the vendor seed documents
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"  # the originals, when the checkout sits beside them


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry()


PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "REQUEST_METHOD")


@pytest.fixture(autouse=True)
def no_ambient_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sender honours HTTP(S)_PROXY: the machine's own settings (either case) must not send the
    suite's loopback requests to a proxy. A test that wants a proxy sets one itself."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def vendor_names() -> list[str]:
    return Registry().names


def scenario_names() -> list[str]:
    return bundled_names()


def seed_text(name: str) -> str:
    """A seed document's text (the vendor ground truth shipped beside the checkout)."""
    return (SEEDS / name).read_text("utf-8")


def flip_seed_lists() -> tuple[list[str], list[str]]:
    """Event types and error codes as listed in Flip's Authentication Events document."""
    text = seed_text("flip-authentication-events.txt")
    types_part = text.split("Event Types", 1)[1].split("Error Codes", 1)[0]
    errors_part = text.split("Error Codes", 1)[1].split("Was this article helpful", 1)[0]
    types = re.findall(r"^([A-Z][A-Z_]+[A-Z]) [A-Z]", types_part, re.M)
    errors = []
    for line in errors_part.splitlines():
        line = line.strip()
        m = re.match(r"^([a-z]+(?:_[a-z]+)+) ", line)
        if m:
            errors.append(m.group(1))
        elif line.startswith("Failed to verify login action"):
            errors.append("Failed to verify login action")
    return types, errors


def walk(value, path=""):
    """Every (path, value) in a payload, depth first."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright: one per test module, since Playwright's
    synchronous API keeps an event loop of its own running until it stops (async tests need theirs)."""
    from browser import launch

    yield from launch()


@pytest.fixture
async def api(aiohttp_client, registry):
    """The server's whole application through aiohttp's test client, over a store in memory;
    ``api.service`` is the emulator behind it."""
    from emulator.server.app import make_app
    from emulator.server.service import Service
    from emulator.store import Store

    service = Service(Store(), registry)
    client = await aiohttp_client(make_app(service))
    client.service = service
    yield client
    await service.close()


@pytest.fixture(scope="session")
def harness():
    """One event loop thread for the in-process emulator of every test module that uses it."""
    from emulator.testing.harness import LoopThread

    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def in_process(harness):
    """The emulator behind the ``idp_emulator`` fixture, started once per module (store in memory)."""
    from emulator.testing.emulator import Emulator

    emulator = harness.run(Emulator(harness).start())
    yield emulator
    harness.run(emulator.stop())


@pytest.fixture
def receiver(harness):
    """A webhook receiver on a free loopback port that reads nothing as any vendor until told."""
    from emulator.testing.handle import ReceiverHandle
    from emulator.testing.receiver import WebhookReceiver

    started = WebhookReceiver()
    harness.run(started.start())
    yield ReceiverHandle(harness, started)
    harness.run(started.stop())
