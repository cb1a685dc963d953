"""The pytest plugin (registered as ``idp_emulator`` through the ``pytest11`` entry point).

Fixtures:

- ``idp_emulator``: plays scenarios or triggers one action against any URL, in process, with an
  in-memory store; ``play``/``trigger`` block, ``play_async``/``trigger_async`` await. It serves
  its signing keys on a free port (``idp_emulator.jwks_url``).
- ``webhook_receiver``: a consumer on a free loopback port that records each request, checks its
  signature, and answers as told (``respond(500, 500, 200)``, ``"drop"``, ``delay=``); with
  waiting helpers (``wait_for``, ``wait_quiet``, and their ``_async`` forms) and assertions.

Both run on one event loop on a thread of their own, so they serve sync and async tests alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from emulator.testing.harness import LoopThread

if TYPE_CHECKING:  # the emulator is imported when a fixture is first used, not at every pytest start
    from emulator.testing.emulator import Emulator
    from emulator.testing.handle import ReceiverHandle


@pytest.fixture(scope="session")
def _idp_emulator_loop() -> Iterator[LoopThread]:
    harness = LoopThread()
    yield harness
    harness.close()


@pytest.fixture(scope="session")
def _idp_emulator_registry() -> Any:
    from emulator.vendors.registry import Registry

    return Registry()  # compiled templates are shared by every test of the session


@pytest.fixture
def idp_emulator(_idp_emulator_loop: LoopThread, _idp_emulator_registry: Any) -> Iterator[Emulator]:
    """The emulator, in process: ``idp_emulator.play("login", "keycloak", webhook_receiver)``."""
    from emulator.testing.emulator import Emulator

    emulator = _idp_emulator_loop.run(Emulator(_idp_emulator_loop, _idp_emulator_registry).start())
    yield emulator
    _idp_emulator_loop.run(emulator.stop())


@pytest.fixture
def webhook_receiver(_idp_emulator_loop: LoopThread) -> Iterator[ReceiverHandle]:
    """A webhook consumer on a free port: ``webhook_receiver.url``, ``.respond(500, 200)``, ``.wait_for(...)``."""
    from emulator.testing.handle import ReceiverHandle
    from emulator.testing.receiver import WebhookReceiver

    receiver = WebhookReceiver()
    _idp_emulator_loop.run(receiver.start())
    yield ReceiverHandle(_idp_emulator_loop, receiver)
    _idp_emulator_loop.run(receiver.stop())


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "idp_emulator: tests that use the idp-emulator fixtures")


FIXTURES = frozenset({"idp_emulator", "webhook_receiver"})


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: Any) -> None:
    """An ``async def`` test that uses our fixtures runs on pytest-asyncio's loop without the project
    setting ``asyncio_mode = auto`` or marking it: the plugin marks it, before pytest-asyncio looks."""
    import inspect

    if not (inspect.iscoroutinefunction(obj) and collector.funcnamefilter(name)):
        return
    wanted = set(inspect.signature(obj).parameters)
    marks = {m.name for m in getattr(obj, "pytestmark", [])}
    if wanted & FIXTURES and "asyncio" not in marks:
        pytest.mark.asyncio(obj)
