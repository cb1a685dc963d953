"""What /proc says about a process: CPU time used and resident memory (Linux; no new dependency)."""

from __future__ import annotations

import math
import os
from pathlib import Path


def process_cpu(pid: int | str | None) -> float:
    """User and system CPU seconds of ``pid`` so far (NaN when it cannot be read)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(key: str, pid: int | str = "self") -> float:
    """A ``kB`` figure from /proc/PID/status (VmRSS: resident now, VmHWM: resident peak); NaN if absent."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return math.nan


def thread_times() -> tuple[float, float]:
    """CPU seconds this process's main thread has run, and seconds it has waited, runnable, for a
    core (``/proc/self/task/PID/schedstat``); NaN when they cannot be read."""
    try:
        ran, waited = Path(f"/proc/self/task/{os.getpid()}/schedstat").read_text().split()[:2]
    except (OSError, ValueError):
        return math.nan, math.nan
    return int(ran) / 1e9, int(waited) / 1e9
