"""A page the developer happens to visit cannot drive or read the emulator, in a real browser.

Each test starts ``idp-emulator serve`` as a user would and opens, in headless Chromium, a page on
another origin that tries what an attacker's page would: ``fetch`` without CORS, a form post, a
DNS-rebound host name. The store shows that nothing happened; the emulator's own page still works.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from browser import REBOUND, Served, page_server


@pytest.fixture
def served(tmp_path):
    server = Served(tmp_path)
    yield server
    server.stop()


def api(served: Served, path: str) -> dict:
    """What the API says to a program on this machine (no browser, no Origin)."""
    with urllib.request.urlopen(served.url + path, timeout=10) as response:
        return json.loads(response.read())


ATTACK = """<!doctype html>
<form id="form" method="post" action="{emu}/api/targets" enctype="text/plain">
  <input name='{{"name": "evil", "url": "https://evil.example/", "vendor": "keycloak", "x": "' value='"}}'>
</form>
<script>
  const run = JSON.stringify({{scenario: "login", vendor: "keycloak", targets: ["https://evil.example/"]}});
  window.results = [];
  async function attack() {{
    const client = JSON.stringify({{id: "evil", redirect_uris: ["https://evil.example/*"]}});
    for (const [path, type, body] of [["/api/runs", "text/plain", run],
        ["/api/trigger", "application/x-www-form-urlencoded", run], ["/api/clients", "text/plain", client],
        ["/api/oidc/keys", "text/plain", "{{}}"]]) {{
      try {{
        await fetch("{emu}" + path, {{method: "POST", mode: "no-cors", headers: {{"Content-Type": type}}, body: body}});
        window.results.push(path + " sent");
      }} catch (e) {{ window.results.push(path + " failed"); }}
    }}
    try {{
      const r = await fetch("{emu}/api/runs", {{method: "POST", headers: {{"Content-Type": "application/json"}}, body: run}});
      window.results.push("cors " + r.status);
    }} catch (e) {{ window.results.push("cors refused"); }}
    try {{
      await (await fetch("{emu}/api/events")).json();
      window.results.push("read events");
    }} catch (e) {{ window.results.push("read refused"); }}
    window.done = true;
  }}
</script>
"""


def test_a_page_on_another_origin_can_neither_start_a_run_nor_create_a_target_or_client(browser, served):
    with page_server(ATTACK.format(emu=served.url)) as attacker:
        page = browser.new_page()
        try:
            page.goto(attacker)
            page.evaluate("attack()")
            page.wait_for_function("window.done === true", timeout=10_000)
            results = page.evaluate("window.results")
            with page.expect_navigation():
                page.evaluate("document.getElementById('form').submit()")
            answer = page.content()
        finally:
            page.close()
    assert "cors refused" in results and "read refused" in results  # no CORS header anywhere
    assert "/api/clients sent" in results and "/api/oidc/keys sent" in results  # the server refused them
    assert "Cross-site request" in answer  # the form's post was refused with a problem document
    assert api(served, "/api/runs")["runs"] == []
    assert api(served, "/api/targets")["targets"] == []
    assert [c["id"] for c in api(served, "/api/clients")["clients"]] == ["web-app"]  # the stand-in only
    assert {k["status"] for k in api(served, "/api/oidc/keys")["keys"]} == {"active"}  # never rotated


def test_a_rebound_host_name_gets_nothing(browser, served):
    page = browser.new_page()
    try:
        refused = page.goto(f"http://{REBOUND}:{served.port}/api/targets")
        assert refused is not None and refused.status == 403
        assert "Unknown host" in refused.text() and "targets" not in refused.json()
        own = page.goto(f"{served.url}/api/health")  # the same server by its own name answers
        assert own is not None and own.status == 200
        status = page.evaluate(
            """async () => (await fetch('/api/runs', {method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({scenario: 'login', vendor: 'keycloak', targets: ['http://127.0.0.1:9/']})})).status"""
        )
        assert status == 202  # a page of the server's own origin (the console) may drive it
    finally:
        page.close()
