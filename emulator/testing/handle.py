"""A started webhook receiver as a test sees it: every wait in a blocking and an awaitable form."""

from __future__ import annotations

from collections.abc import Sequence

from emulator.testing.harness import LoopThread
from emulator.testing.receiver import Webhook, WebhookReceiver
from emulator.vendors.registry import Registry


class ReceiverHandle:
    """A started ``WebhookReceiver`` seen from a test: every wait has a blocking and an awaitable form."""

    def __init__(self, harness: LoopThread, receiver: WebhookReceiver) -> None:
        self.harness = harness
        self.receiver = receiver

    @property
    def url(self) -> str:
        return self.receiver.url

    @property
    def received(self) -> list[Webhook]:
        return list(self.receiver.received)

    def expect(self, vendor: str, secret: str | Sequence[str] | None = None, scheme: str | None = None) -> None:
        """Read what arrives as ``vendor``'s webhooks and check signatures with ``secret``."""
        self.receiver.read_as(WebhookReceiver(vendor, secret, scheme, registry=Registry()))

    def respond(self, *answers: int | str, per_event: bool = True, delay: float = 0.0, then: int | str = 200) -> None:
        self.receiver.respond(*answers, per_event=per_event, delay=delay, then=then)

    def matching(self, type: str | None = None, user: str | None = None) -> list[Webhook]:
        return self.receiver.matching(type, user)

    def wait_for(
        self, count: int = 1, type: str | None = None, user: str | None = None, timeout: float = 5.0
    ) -> list[Webhook]:
        __tracebackhide__ = True
        return self.harness.run(self.receiver.wait_for(count, type, user, timeout), name="wait_for")

    async def wait_for_async(
        self, count: int = 1, type: str | None = None, user: str | None = None, timeout: float = 5.0
    ) -> list[Webhook]:
        return await self.harness.run_async(self.receiver.wait_for(count, type, user, timeout))

    def wait_quiet(self, period: float = 0.2, timeout: float = 10.0) -> list[Webhook]:
        __tracebackhide__ = True
        return self.harness.run(self.receiver.wait_quiet(period, timeout), name="wait_quiet")

    async def wait_quiet_async(self, period: float = 0.2, timeout: float = 10.0) -> list[Webhook]:
        return await self.harness.run_async(self.receiver.wait_quiet(period, timeout))

    def assert_received(
        self, type: str | None = None, count: int | None = None, user: str | None = None
    ) -> list[Webhook]:
        __tracebackhide__ = True
        return self.receiver.assert_received(type, count, user)

    def assert_signed(self) -> None:
        __tracebackhide__ = True
        self.receiver.assert_signed()

    def duplicates(self) -> dict[str, int]:
        return self.receiver.duplicates()
