"""The console page as files: served at / with their content types, locked down by its headers
(a strict Content-Security-Policy, no framing, no sniffing), holding no data and no inline code,
and served without the API's modules (``serve`` stays quick to start)."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from emulator.server.app import make_app
from emulator.server.page import FOLDER
from emulator.server.service import Service
from emulator.store import EVENT_FILTERS, Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def client(aiohttp_client, registry):
    service = Service(Store(), registry, token="the-token")
    yield await aiohttp_client(make_app(service))
    await service.close()


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/style.css", "text/css"),
        ("/console/icon.svg", "image/svg+xml"),
    ],
)
async def test_each_file_with_its_type_and_locked_down(client, path, kind):
    response = await client.get(path)  # no token: the page holds no data, the API it calls does
    assert response.status == 200 and response.content_type == kind
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    again = await client.get(path, headers={"If-None-Match": headers["ETag"]})
    assert again.status == 304


async def test_the_page_learns_the_filters_from_the_store(client):
    text = await (await client.get("/")).text()
    assert "{{console}}" not in text
    assert "&quot;event_filters&quot;: [" + ", ".join(f"&quot;{n}&quot;" for n in EVENT_FILTERS) + "]" in text


@pytest.mark.parametrize("path", ["/console/missing.js", "/console/index.html", "/console/..%2Fpage.py", "/x"])
async def test_nothing_else_is_served(client, path):
    response = await client.get(path)
    assert response.status == 404 and response.content_type == "application/problem+json"


async def test_the_api_still_needs_the_token_and_sends_nothing_to_sniff(client):
    response = await client.get("/api/events")
    assert response.status == 401 and response.headers["X-Content-Type-Options"] == "nosniff"


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self.tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tag = tag
        self.found.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.tag in ("script", "style") and data.strip():
            self.inline.append(data.strip()[:40])


def test_no_inline_code_and_nothing_from_another_host():
    page = Tags()
    page.feed((FOLDER / "index.html").read_text("utf-8"))
    attributes = [(tag, name, value) for tag, attrs in page.found for name, value in attrs.items()]
    assert page.inline == []  # the policy would refuse inline code anyway: none is written
    assert [a for a in attributes if a[1].startswith("on") or a[1] == "style"] == []
    linked = [value or "" for _, name, value in attributes if name in ("src", "href", "action")]
    assert linked and all(v.startswith(("/console/", "#")) for v in linked), linked
    script = (FOLDER / "app.js").read_text("utf-8")
    assert not re.search(r"\beval\(|new Function|innerHTML|insertAdjacentHTML|document\.write", script)
    assert not re.search(r"""fetch\(\s*['"`]https?:""", script)  # calls go to this origin only


def test_serving_the_page_imports_none_of_the_api():
    code = (
        "import sys, asyncio\n"
        "from aiohttp.test_utils import TestClient, TestServer\n"
        "from emulator.server.app import make_app\n"
        "from emulator.server.service import Service\n"
        "from emulator.store import Store\n"
        "from emulator.vendors.registry import Registry\n"
        "async def main():\n"
        "    async with TestClient(TestServer(make_app(Service(Store(), Registry())))) as c:\n"
        "        assert (await c.get('/')).status == 200 and (await c.get('/console/app.js')).status == 200\n"
        "    print('emulator.server.api' in sys.modules, 'jinja2' in sys.modules)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr
