"""A benchmark's receiver: a program in a second interpreter, started and waited for, killed after.

The benches that post to a local receiver keep it in its own process, so its work is charged to
neither side; each brings its own program (``bench/deliver.py`` a bare aiohttp server,
``bench/load.py`` a counting llhttp one) and shares the starting, waiting and stopping here.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Self

from procstat import process_cpu

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class ReceiverProcess:
    """``program`` run by ``python -c`` with the host, a free port and ``args``; a context manager
    that returns once the port accepts connections."""

    def __init__(self, program: str, path: str, *args: str) -> None:
        self.program, self.args = program, args
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}{path}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        command = [sys.executable, "-c", self.program, HOST, str(self.port), *self.args]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the receiver exited (code {self.process.returncode})") from None
                if time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"the receiver did not listen on {HOST}:{self.port} within 30 s") from None
                time.sleep(0.01)  # poll again: the interpreter is still starting

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def cpu_seconds(self) -> float:
        """User and system CPU time of the receiver so far (from /proc)."""
        return process_cpu(self.process.pid if self.process else None)
