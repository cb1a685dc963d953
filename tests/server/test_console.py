"""The console page, driven in headless Chromium against ``idp-emulator serve`` started as a user
starts it: every page is used the way a person would (mouse and keyboard), waits are Playwright's
own (a locator's expectation, never a sleep), and each test leaves screenshots of what it saw at a
laptop's and a phone's width in ``tests/.screenshots/``.

One server serves the module; each test makes its own run and looks only at it, so tests do not
depend on one another. The token test starts a server of its own.
"""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from pathlib import Path

import pytest
from browser import Served, page_server

from emulator.render import load, render_events

SHOTS = Path(__file__).resolve().parent.parent / ".screenshots"  # ignored by git
WAIT = 10_000  # ms: the longest any expectation waits (a run of a few events takes well under a second)
SECRET = "console-test-secret-value"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = Served(tmp_path_factory.mktemp("console"))
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    """A fresh browser profile (its own localStorage and sessionStorage) at a laptop's size."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    yield page
    context.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def shoot(page, name: str, full: bool = True) -> None:
    """What the page shows at 1280x800 and at 390x844, for people to look at."""
    SHOTS.mkdir(exist_ok=True)
    size = page.viewport_size
    for label, width, height in (("desktop", 1280, 800), ("phone", 390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=full)
    page.set_viewport_size(size)


def call(served: Served, path: str, body: dict | None = None, token: str | None = None) -> dict:
    """The API as a program on this machine uses it (no browser)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(served.url + path, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def start(served: Served, scenario: str, *targets: object, token: str | None = None) -> str:
    body = {"scenario": scenario, "vendor": "flip", "targets": list(targets), "time_scale": 0, "seed": 7}
    return call(served, "/api/runs", body, token)["run"]


def closed_port() -> str:
    """A URL nothing listens on: every delivery to it fails at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


def rows_of(page, run_id: str):
    return page.locator(f'#events-table tbody tr:has(td[data-col="run"] span[title="{run_id}"])')


def test_a_run_started_in_the_page_shows_its_rows_live(browser, served, page):
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(served.url + "/")
    expect(page.locator("#live")).to_have_attribute("data-state", "on")
    expect(page.locator("#events-status")).not_to_be_empty()

    driver = page.context.new_page()  # a second tab drives; the first only watches
    driver.goto(served.url + "/#/run")
    driver.select_option("#run-scenario", "login")
    driver.select_option("#run-vendor", "flip")
    driver.fill("#run-seed", "7")
    driver.fill("#run-scale", "0")
    driver.get_by_role("button", name="Start").click()
    expect(driver.locator("#run-facts")).to_contain_text("finished")
    run_id = driver.locator("#run-id").text_content()
    expect(driver.locator("#run-facts")).to_contain_text("3 delivered, 0 failed")

    page.bring_to_front()  # (a tab in the background runs its timers once a second at most)
    rows = rows_of(page, run_id)  # the watching tab was never reloaded: the stream brought them
    expect(rows).to_have_count(3)
    expect(rows.locator('td[data-col="type"]')).to_have_text(["LOGOUT", "CODE_TO_TOKEN", "LOGIN_USERNAME_PASSWORD"])
    expect(rows.locator('td[data-col="status"]')).to_have_text(["delivered"] * 3)
    rows.last.locator('td[data-col="type"] span').hover()
    expect(page.locator("#tip")).to_contain_text("A user has logged in using the login form.")  # Flip's own words
    assert asked and all(url.startswith(served.url + "/") for url in asked), asked  # no other host, ever
    shoot(page, "events", full=False)
    shoot(driver, "run")


def test_a_hidden_column_stays_hidden_after_a_reload(served, page):
    page.goto(served.url + "/#/events")
    header = page.locator('#events-table th[data-col="ip"]')
    expect(header).to_be_visible()
    page.get_by_role("button", name="Columns").click()
    menu = page.locator("#columns-menu")
    expect(menu).to_be_visible()
    menu.get_by_label("IP address").uncheck()
    expect(header).to_be_hidden()
    shoot(page, "columns-menu", full=False)
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    page.reload()
    expect(page.locator("#events-status")).not_to_be_empty()
    expect(header).to_be_hidden()
    expect(page.locator('#events-table td[data-col="ip"]:visible')).to_have_count(0)
    page.get_by_role("button", name="Columns").click()
    expect(menu.get_by_label("IP address")).not_to_be_checked()


def test_filtering_by_error_code_puts_the_view_in_the_url(browser, served, page):
    run_id = start(served, "login-failure", f"{served.url}/sink/failures")
    played = list(render_events(load("login-failure"), "flip", seed=7))
    page.goto(f"{served.url}/#/events?run={run_id}")
    expect(page.locator("#events-status")).to_contain_text(f"{len(played)} events matching the filters")
    page.fill("#filter-error", "user_temporarily_disabled")
    page.press("#filter-error", "Enter")
    expect(page).to_have_url(re.compile(rf"/#/events\?error=user_temporarily_disabled&run={run_id}$"))
    wanted = [e for e in played if e.error == "user_temporarily_disabled"]
    rows = page.locator("#events-table tbody tr")
    expect(rows).to_have_count(len(wanted))
    expect(rows.locator('td[data-col="error"]')).to_have_text(["user_temporarily_disabled"] * len(wanted))
    shoot(page, "events-filtered", full=False)

    shared = page.context.new_page()  # the URL is the view: another tab opens the same rows
    shared.goto(page.url)
    expect(shared.locator("#filter-error")).to_have_value("user_temporarily_disabled")
    expect(shared.locator("#events-table tbody tr")).to_have_count(len(wanted))


def test_an_event_opens_on_its_payload_headers_and_attempts(served, page):
    sink = {"name": "signed", "url": f"{served.url}/sink/signed", "signing": {"secret": SECRET}}
    run_id = start(served, "logout", sink)
    page.goto(f"{served.url}/#/events?run={run_id}")
    rows = page.locator("#events-table tbody tr")
    expect(rows).to_have_count(6)
    rows.first.focus()  # the keyboard alone: arrows move between rows, Enter opens one
    page.keyboard.press("ArrowDown")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    panel = page.locator("#detail")
    expect(panel).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text("LOGOUT")
    expect(panel).to_contain_text("A user has logged out.")
    expect(panel.locator("pre.json").first).to_contain_text('"type": "LOGOUT"')
    delivery = panel.locator("article.delivery")
    expect(delivery.locator("table.attempts > tbody > tr")).to_have_count(1)
    expect(delivery.locator("table.attempts > tbody > tr")).to_contain_text("200")
    expect(delivery.locator("table.request")).to_contain_text("X-Keycloak-Signature")
    delivery.get_by_role("button", name="Copy as curl").click()
    command = delivery.locator("pre.command")
    expect(command).to_be_visible()
    expect(command).to_contain_text("curl -sS -X POST")
    assert SECRET not in page.content()
    shoot(page, "event-detail", full=False)
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(rows.nth(1)).to_be_focused()  # back where the person was


def test_the_deliveries_page_shows_what_failed_before_its_live_stream_opened(served, page):
    """The page's first load, then failures, then its live stream: on opening, the stream brings the
    page up to date (no attempt will come to tell it)."""
    held = []
    page.route("**/api/stream", lambda route: held.append(route))  # the page's stream waits until let through
    with page.expect_response(lambda r: "/api/deliveries?status=failed" in r.url):
        page.goto(f"{served.url}/#/deliveries")
    with urllib.request.urlopen(served.url + "/api/stream?kind=attempt", timeout=WAIT / 1000) as stream:
        assert stream.readline().startswith(b": idp-emulator live stream")  # listening before the run
        run_id = start(served, "login", {"name": "before-the-stream", "url": closed_port(), "retry": "none"})
        failed: set[int] = set()
        while len(failed) < 3:  # each of the run's 3 deliveries failed, committed: the stream said so
            line = stream.readline()
            attempt = json.loads(line[6:]) if line.startswith(b"data: ") else {}
            if attempt.get("delivery_status") == "failed":
                failed.add(attempt["delivery"])
                failed &= {d["id"] for d in call(served, f"/api/deliveries?run={run_id}")["deliveries"]}
    rows = page.locator("#failed-table tbody tr", has_text="before-the-stream")
    expect(rows).to_have_count(0)  # the page loaded before any of them
    [opening] = held
    opening.continue_()
    expect(rows).to_have_count(3)


def test_a_failed_delivery_is_resent(served, page):
    run_id = start(served, "login", {"name": "closed-port", "url": closed_port(), "retry": "none"})
    page.goto(f"{served.url}/#/deliveries")
    failed = page.locator("#failed-table tbody tr", has_text="closed-port")
    expect(failed).to_have_count(3)  # each of the run's events failed once
    first = failed.first
    expect(first.locator('td[data-label="Attempts"]')).to_have_text("1")
    shoot(page, "deliveries")
    first.get_by_role("button", name=re.compile("Resend")).click()
    expect(page.locator("#toast")).to_contain_text("queued again")
    expect(first.locator('td[data-label="Attempts"]')).to_have_text("2")  # sent again, failed again, live
    deliveries = call(served, f"/api/deliveries?run={run_id}")["deliveries"]
    assert sorted(d["attempts"] for d in deliveries) == [1, 1, 2]


def test_a_target_is_added_and_sent_its_test_event(served, page):
    page.goto(f"{served.url}/#/targets")
    page.fill("#target-name", "billing")
    page.select_option("#target-vendor", "keycloak")
    page.fill("#target-url", f"{served.url}/sink/billing")
    page.fill("#target-secret", SECRET)
    page.fill("#target-events", "LOGIN*, LOGOUT")
    page.get_by_role("button", name="Save").click()
    row = page.locator('#targets-table tr[data-target="billing"]')
    expect(row).to_contain_text("keycloak")
    expect(page.locator("#target-secret")).to_have_value("")  # the form forgets it too
    assert SECRET not in page.content()
    assert call(served, "/api/targets/billing")["config"]["signing"]["secret"] == "<hidden>"
    row.get_by_role("button", name="Send billing a test event").click()
    page.select_option("#target-test-type", "LOGIN_ERROR")
    page.get_by_role("button", name="Send test event").click()
    result = page.locator("#target-test-result")
    expect(result).to_contain_text("LOGIN_ERROR answered HTTP 200")
    expect(result).to_contain_text("accepted")
    received = call(served, "/api/sinks/billing")["requests"]
    assert len(received) == 1 and received[0]["body"]["type"] == "access.LOGIN_ERROR"  # Keycloak's wire name
    assert "X-Keycloak-Signature" in received[0]["headers"]
    shoot(page, "targets")


def test_a_scenario_problem_shows_at_its_line(served, page):
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{served.url}/#/scenarios")
    page.fill("#scenario-name", "my-story")
    broken = "name: my-story\nactors:\n  alice: {}\nsteps:\n  - lgin: alice\n  - logout: alice\n"
    page.fill("#scenario-yaml", broken)
    line = page.locator("#scenario-gutter li").nth(4)  # line 5
    expect(line).to_have_class(re.compile(r"\bproblem\b"))
    expect(line).to_have_attribute("title", re.compile("did you mean 'login'"))
    expect(page.locator("#scenario-gutter li.problem")).to_have_count(1)
    problem = page.locator("#scenario-problems button")
    expect(problem).to_have_text(re.compile(r"^Line 5, column 5: unknown action 'lgin'; did you mean 'login'\?"))
    shoot(page, "scenario-editor")
    problem.click()
    expect(page.locator("#scenario-yaml")).to_be_focused()

    page.fill("#scenario-yaml", broken.replace("lgin", "login"))
    expect(page.locator("#scenario-verdict")).to_have_text("No problems.")
    page.get_by_role("button", name="Upload").click()
    mine = page.locator("#scenario-list li", has_text="my-story")
    expect(mine).to_contain_text("uploaded")
    mine.get_by_role("button", name="Delete my-story").click()
    expect(mine).to_have_count(0)


def test_the_catalog_shows_each_vendor_with_examples(served, page):
    page.goto(f"{served.url}/#/catalog?vendor=fusionauth")
    body = page.locator("#catalog-body")
    example = body.locator("details", has_text="user.login.failed").first
    example.locator("summary").click()
    expect(example.locator("pre.json")).to_contain_text('"type": "user.login.failed"')
    expect(body).to_contain_text("credentials")  # how FusionAuth reports invalid_user_credentials
    expect(body.locator("dl.facts")).to_contain_text("fusionauth-jwt")  # how it delivers by default
    page.select_option("#catalog-vendor", "flip")
    expect(page).to_have_url(re.compile(r"#/catalog\?vendor=flip$"))
    expect(body).to_contain_text("Failed to verify login action")
    shoot(page, "catalog", full=False)


ATTACK = """<!doctype html>
<iframe id="frame" src="{emu}/"></iframe>
<form id="form" method="post" action="{emu}/api/deliveries/{delivery}/resend" enctype="text/plain">
  <input name='{{"x": "' value='"}}'>
</form>
<script>
  window.results = [];
  async function attack() {{
    try {{
      await fetch("{emu}/api/deliveries/{delivery}/resend", {{method: "POST", mode: "no-cors", body: "{{}}"}});
      window.results.push("resend sent");
    }} catch (e) {{ window.results.push("resend failed"); }}
    try {{
      await (await fetch("{emu}/api/deliveries/{delivery}/curl")).json();
      window.results.push("read the signed request");
    }} catch (e) {{ window.results.push("read refused"); }}
    window.done = true;
  }}
</script>
"""


def test_a_page_elsewhere_can_neither_frame_the_console_nor_use_its_calls(served, page):
    start(served, "logout", {"name": "cross-site", "url": closed_port(), "retry": "none"})
    page.goto(f"{served.url}/#/deliveries")  # the console itself: wait until the failures are recorded
    failed = page.locator("#failed-table tbody tr", has_text="cross-site")
    expect(failed).to_have_count(6)
    delivery = failed.first.get_attribute("data-delivery")
    with page_server(ATTACK.format(emu=served.url, delivery=delivery)) as attacker:
        other = page.context.new_page()
        other.goto(attacker)
        other.evaluate("attack()")
        results = other.evaluate("window.results")
        framed = other.frame_locator("#frame").locator("body")
        expect(framed).to_contain_text("Cross-site request")  # a frame of another site gets no console at all
        expect(framed.locator("nav")).to_have_count(0)
        with other.expect_navigation():
            other.evaluate("document.getElementById('form').submit()")
        answer = other.content()
    assert "read refused" in results  # no CORS header: the answer never reaches another origin
    assert "Cross-site request" in answer  # the form's post was refused with a problem document
    kept = call(served, f"/api/deliveries/{delivery}")
    assert kept["status"] == "failed" and kept["attempts"] == 1  # nothing was resent


def test_with_a_token_the_page_asks_once_and_its_stream_works(browser, tmp_path):
    token = "console-token-0123456789"
    served = Served(tmp_path, "--token", token)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT)
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(served.url + "/")
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible()
        shoot(page, "token", full=False)
        page.fill("#token-input", token)
        page.keyboard.press("Enter")
        expect(dialog).to_be_hidden()
        expect(page.locator("#live")).to_have_attribute("data-state", "on")
        expect(page.locator("#events-status")).to_contain_text("No events yet")
        driver = context.new_page()  # another tab asks too (sessionStorage is the tab's own)
        driver.goto(served.url + "/#/run")
        driver.fill("#token-input", token)
        driver.keyboard.press("Enter")
        driver.select_option("#run-scenario", "login")
        driver.select_option("#run-vendor", "keycloak")
        driver.fill("#run-scale", "0")
        driver.get_by_role("button", name="Start").click()  # to the built-in sink, which wants the token too
        expect(driver.locator("#run-facts")).to_contain_text("3 delivered, 0 failed")
        run_id = driver.locator("#run-id").text_content()
        page.bring_to_front()
        expect(rows_of(page, run_id)).to_have_count(3)  # live, through the stream read with the token
        page.reload()  # the tab keeps the token: no second question
        expect(rows_of(page, run_id)).to_have_count(3)
        expect(dialog).to_be_hidden()
        assert not any(token in url for url in asked)  # the token travels in a header, never in a URL
    finally:
        context.close()
        served.stop()
