"""Long-running commands (serve, listen) end on Ctrl-C or SIGTERM, cleanly and quietly.

The handlers are installed before a command says it is ready, so a signal sent the moment the
banner appears still ends it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal


def stop_requested() -> asyncio.Event:
    """An event set when the process is asked to stop (SIGINT or SIGTERM), from now on."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
