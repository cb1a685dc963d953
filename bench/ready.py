"""Start-up benchmark: how long ``idp-emulator serve`` takes from launch to answering ``/api/ready``.

Issue 4 asks that the server be ready in under a second with no configuration. Each round launches
a process and times it from ``spawn`` until a ``GET`` of its ready URL answers 200:

- **serve**: ``python -m emulator serve --port 0 --db <fresh file>`` (bundled scenarios, no config),
  ready URL ``/api/ready``;
- **bare**: a minimal aiohttp application in a fresh interpreter (``python -c``: import aiohttp,
  one route, listen on a free port), the floor any aiohttp server on this machine pays.

Rounds interleave (bare, serve, bare, serve, ...) so both see the same machine load; the medians,
their ratio and the targets (serve under 1 s, and at most 1.5 times the bare app) are printed.
A benchmark, not a test: it exits 0.

    .venv/bin/python bench/ready.py              # 7 rounds of each
    .venv/bin/python bench/ready.py --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.0  # seconds
RATIO = 1.5  # serve's median at most this many times the bare app's
BARE = """
import asyncio, sys
from aiohttp import web

async def main():
    app = web.Application()
    app.router.add_get("/ready", lambda request: web.json_response({"status": "ready"}))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print("serving on http://127.0.0.1:%d" % site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def launch(command: list[str], ready_path: str) -> float:
    """Seconds from spawn to a 200 on the ready URL."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "serving on " not in line:
            raise SystemExit(f"the process did not start: {line!r}")
        base = line.split("serving on ", 1)[1].split()[0]
        while True:
            try:
                with urllib.request.urlopen(base + ready_path, timeout=5) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.005)
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    bare: list[float] = []
    serve: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.rounds):
            bare.append(launch([sys.executable, "-c", BARE], "/ready"))
            db = str(Path(folder) / f"r{i}.db")
            serve.append(launch([sys.executable, "-m", "emulator", "serve", "--port", "0", "--db", db], "/api/ready"))
    b, s = statistics.median(bare), statistics.median(serve)
    print(f"bare aiohttp app   median {b * 1000:7.0f} ms   (rounds: {', '.join(f'{x * 1000:.0f}' for x in bare)})")
    print(f"idp-emulator serve median {s * 1000:7.0f} ms   (rounds: {', '.join(f'{x * 1000:.0f}' for x in serve)})")
    print(f"ratio serve/bare   {s / b:.2f}")
    print(f"target: ready in under {TARGET:.0f} s: {'PASS' if s < TARGET else 'BELOW TARGET'}")
    print(f"target: ratio at most {RATIO}: {'PASS' if s / b <= RATIO else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()
