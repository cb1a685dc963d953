"""An event loop on a thread of its own, so sync tests and async tests drive the same emulator.

The emulator and its receivers live on this loop. A sync test calls ``run`` and blocks until the
answer; an async test awaits ``run_async`` and its own loop stays free to serve the app under
test, which the emulator may be delivering to at that very moment.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="idp-emulator", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None, name: str = "play") -> T:
        """Run ``coro`` on the emulator's loop and wait for it (from sync code only)."""
        __tracebackhide__ = True
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise RuntimeError(
                f"{name}() blocks, and an event loop is running here (an async test?): "
                f"await its _async form instead: await ...{name}_async(...)"
            )
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()  # the run stops here; it must not deliver into the next test
            raise TimeoutError(f"{name}() did not finish within {timeout:g} s; it was cancelled") from None

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the emulator's loop while the caller's loop goes on."""
        __tracebackhide__ = True
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
