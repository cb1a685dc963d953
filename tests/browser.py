"""Real browsers and real servers for the tests that need them: Debian's Chromium driven by
Playwright, ``idp-emulator serve`` as a user starts it, and plain pages on other origins."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("IDP_EMULATOR_CHROMIUM", "/usr/bin/chromium")
# the test's own stand-in for a DNS-rebinding page: this name resolves to loopback in the browser only
REBOUND = "rebound.test"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1",
]


def missing_browser() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}: install Debian's package 'chromium' (apt install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is missing: pip install -e '.[test]'"
    return None


def launch() -> Iterator[object]:
    """A headless Chromium for the whole session; skipped (or, in CI, failed) when there is none."""
    reason = missing_browser()
    if reason is not None:
        if os.environ.get("IDP_EMULATOR_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield browser
        browser.close()


class Served:
    """``idp-emulator serve`` in its own process, on a free port."""

    def __init__(self, folder: Path, *args: str, env: dict[str, str] | None = None) -> None:
        environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        for name in ("IDP_EMULATOR_CONFIG", "IDP_EMULATOR_TOKEN"):
            if not env or name not in env:
                environment.pop(name, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--port", "0", "--db", str(folder / "e.db"), *args],
            cwd=folder,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        assert "serving on" in first, first + (self.process.stderr.read() if self.process.stderr else "")
        self.url = first.split("serving on ", 1)[1].split()[0]
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)


@contextmanager
def page_server(html: str) -> Iterator[str]:
    """A plain page on another origin (another port): what a site the developer visits could serve."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
