"""The pytest plugin as someone who only installed the package meets it: fixtures found through the entry point.

Each check runs pytest in a subprocess on a test file written here, so nothing of this suite (conftest,
ini, sys.path) helps; the cases are grouped into two runs, one sync without any ini and one async.
"""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]

# other plugins of this venv that a user of the package need not have (and that take ~0.3 s each to load)
UNRELATED = ("-p", "no:hypothesispytest", "-p", "no:faker", "-p", "no:aiohttp")

SYNC_TESTS = """
    import pytest

    SECRET = "plugin-test-secret"

    @pytest.mark.idp_emulator  # the plugin registers the marker: --strict-markers accepts it
    def test_keycloak_retries_until_accepted(idp_emulator, webhook_receiver):
        webhook_receiver.respond(500, 200)
        result = idp_emulator.play("login", "keycloak", webhook_receiver, secret=SECRET)

        logins = webhook_receiver.wait_for(2, type="LOGIN")
        assert [w.answered for w in logins] == [500, 200]
        assert logins[0].id == logins[1].id
        webhook_receiver.assert_signed()
        assert all(w.verdict.ok for w in webhook_receiver.received)
        assert result.ok
        assert result.types == ["LOGIN", "CODE_TO_TOKEN", "LOGOUT"]
        assert result.summary.attempts == 2 * len(result.events)
        assert webhook_receiver.duplicates() == {e["event_id"]: 2 for e in result.events}

    def test_expected_logouts_that_did_not_come(idp_emulator, webhook_receiver):
        idp_emulator.play("login", "keycloak", webhook_receiver)
        webhook_receiver.assert_received(type="LOGOUT", count=5)

    def test_wait_for_what_never_comes(webhook_receiver):
        webhook_receiver.wait_for(1, type="LOGIN", timeout=0.3)
"""

ASYNC_TESTS = """
    from aiohttp import web

    async def test_async_forms(idp_emulator, webhook_receiver):
        webhook_receiver.respond(500, 200)
        result = await idp_emulator.play_async("login", "keycloak", webhook_receiver, secret="plugin-test-secret")
        await webhook_receiver.wait_for_async(2, type="LOGIN")
        await webhook_receiver.wait_quiet_async(0.05)
        failed = await idp_emulator.trigger_async("login", "keycloak", webhook_receiver, error="invalid_user_credentials")

        webhook_receiver.assert_signed()  # the trigger signed with the secret the receiver checks with
        assert result.summary.attempts == 6
        assert failed.types == ["LOGIN_ERROR"]
        assert webhook_receiver.assert_received("LOGIN_ERROR", count=2)[-1].answered == 200

    async def test_an_app_on_the_tests_own_loop_is_served_meanwhile(idp_emulator):
        got = []

        async def hook(request):
            got.append(await request.json())
            return web.Response()

        app = web.Application()
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            result = await idp_emulator.trigger_async("login", "keycloak", f"http://127.0.0.1:{port}/hook")
        finally:
            await runner.cleanup()
        assert result.ok
        assert got == result.bodies()  # delivered to the test's loop while the test awaited

    async def test_blocking_play_in_an_async_test(idp_emulator, webhook_receiver):
        idp_emulator.play("login", "keycloak", webhook_receiver)

    async def test_blocking_wait_in_an_async_test(webhook_receiver):
        webhook_receiver.wait_for(1)
"""


def test_sync_use_without_any_configuration(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sync_use=SYNC_TESTS)

    no_asyncio = ("-p", "no:asyncio")  # sync use needs no pytest-asyncio
    result = pytester.runpytest_subprocess("--strict-markers", "--durations=0", *UNRELATED, *no_asyncio, timeout=60)

    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["plugins:*idp-emulator-*"])  # loaded through the pytest11 entry point alone
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: expected 5 webhook(s) of type LOGOUT, got 1. Received:",
            "*  1. <access.LOGIN id=* user=* signature not checked (no secret) -> 200>",
            "*  2. <access.CODE_TO_TOKEN id=* -> 200>",
            "*  3. <access.LOGOUT id=* -> 200>",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*AssertionError: waited 0.3 s for 1 webhook(s) of type LOGIN. Received:", "*(nothing)"]
    )
    waited = re.search(r"([\d.]+)s call +test_sync_use.py::test_wait_for_what_never_comes", result.stdout.str())
    assert waited, result.stdout.str()
    assert 0.25 <= float(waited.group(1)) < 1.0  # gives up at its timeout, not at the 5 s default


def test_async_use_and_the_blocking_forms_in_async_tests(pytester: pytest.Pytester) -> None:
    # no asyncio_mode and no marks: the plugin runs async tests that use its fixtures on pytest-asyncio's loop
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_async_use=ASYNC_TESTS)

    result = pytester.runpytest_subprocess(*UNRELATED, timeout=60)

    result.assert_outcomes(passed=2, failed=2)
    helpful = "blocks, and an event loop is running here (an async test?): await its _async form instead: "
    result.stdout.fnmatch_lines(
        [
            f"E   *RuntimeError: play() {helpful}await ...play_async(...)",
            f"E   *RuntimeError: wait_for() {helpful}await ...wait_for_async(...)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "FAILED test_async_use.py::test_blocking_play_in_an_async_test - RuntimeError*",
            "FAILED test_async_use.py::test_blocking_wait_in_an_async_test - RuntimeError*",
        ]
    )
