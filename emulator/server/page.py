"""The console page: the files of ``console/`` served at ``/`` (the page) and ``/console/<file>``
(its script, style and icon), with no build step and nothing fetched from another host.

These handlers import nothing of the API: ``serve`` is ready as soon as aiohttp is, and the page's
first paint waits only for three small files (the API's modules load with its first call). Each
file is read once and kept; ``index.html`` is a template that receives what the page must not
write down a second time (the names of the events' filters come from the store).

Every answer locks the page down: a Content-Security-Policy that lets scripts, styles and
connections come from this origin only (no inline script, no other host), no framing by another
page (clickjacking), no MIME sniffing, no referrer. The page holds no data: with ``--token`` every
call it makes to the API carries the token it asked for.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path

from aiohttp import web

from emulator import __version__
from emulator.store import DELIVERY_FILTERS, EVENT_FILTERS

FOLDER = Path(__file__).resolve().parent / "console"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
FILE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\.(?:js|css|svg)")
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
LOCKED = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # kept, but checked again (ETag): a new version shows at the next load
}
DATA_MARK = "{{console}}"


def _settings() -> str:
    """What the page learns from the server before its first call, escaped for an HTML attribute."""
    data = {"version": __version__, "event_filters": list(EVENT_FILTERS), "delivery_filters": list(DELIVERY_FILTERS)}
    return html.escape(json.dumps(data), quote=True)


class Files:
    """The console's files, each read (and ``index.html`` filled in) on its first request."""

    def __init__(self, folder: Path = FOLDER) -> None:
        self.folder = folder
        self.kept: dict[str, tuple[bytes, str]] = {}  # name -> (content, ETag)

    def get(self, name: str) -> tuple[bytes, str] | None:
        if name in self.kept:
            return self.kept[name]
        path = self.folder / name
        if not path.is_file():
            return None
        content = path.read_bytes()
        if name == "index.html":
            content = content.replace(DATA_MARK.encode(), _settings().encode())
        found = self.kept[name] = (content, '"' + hashlib.sha256(content).hexdigest()[:32] + '"')
        return found

    def answer(self, request: web.Request, name: str) -> web.Response:
        found = self.get(name)
        if found is None:
            raise web.HTTPNotFound(text=f"no console file {name!r}")
        content, tag = found
        headers = {**LOCKED, "ETag": tag}
        if request.headers.get("If-None-Match") == tag:
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = TYPES[Path(name).suffix]
        return web.Response(body=content, headers=headers)


FILES: web.AppKey[Files] = web.AppKey("console files")


async def index(request: web.Request) -> web.Response:
    """The console page (its pages are parts of the URL's fragment: one document, one load)."""
    return request.app[FILES].answer(request, "index.html")


async def asset(request: web.Request) -> web.Response:
    """One of the page's own files; any other name, or a path, is a 404."""
    name = request.match_info["name"]
    if not FILE_NAME.fullmatch(name):
        raise web.HTTPNotFound(text=f"no console file {name!r}")
    return request.app[FILES].answer(request, name)


def add_page(app: web.Application) -> None:
    app[FILES] = Files()
    app.router.add_get("/", index)
    app.router.add_get("/console/{name}", asset)
