"""`idp-emulator run`, `resume` and `resend` as a user runs them: separate processes, a real
receiver on loopback, and a `kill -9` in the middle of a run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys

from receiver import Receiver, start_receiver

SECRET = "TOPSECRET-kc-signing-key"


async def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulator",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, out.decode(), err.decode()


def logins(tmp_path, count: int):
    path = tmp_path / "logins.yaml"
    path.write_text(
        "name: many-logins\nactors:\n  alice: {}\n  bob: {}\nsteps:\n"
        f"  - login: {{actor: alice}}\n    repeat: {{count: {count // 2}, every: 1s}}\n"
        f"  - login: {{actor: bob}}\n    repeat: {{count: {count // 2}, every: 1s}}\n"
    )
    return path


async def test_run_prints_a_json_summary_and_exits_0(aiohttp_server, tmp_path):
    receiver = await start_receiver(aiohttp_server)
    code, out, err = await cli(
        "run", "login", "--vendor", "keycloak", "--target", receiver.url, "--seed", "1",
        "--db", str(tmp_path / "s.db"), "--secret", SECRET, "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["delivered"] == 3 and summary["failed"] == 0 and summary["attempts"] == 3
    assert len(receiver.requests) == 3
    assert SECRET not in out + err
    assert SECRET.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


async def test_faults_given_as_flags_as_emulator_yaml_writes_them(aiohttp_server, tmp_path):
    receiver = await start_receiver(aiohttp_server)
    code, _, err = await cli(
        "run", "login", "--vendor", "keycloak", "--target", receiver.url, "--seed", "1", "--db", str(tmp_path / "s.db"),
        "--secret", SECRET, "--json", "--fault", "duplicate: {copies: 2}", "--fault", "content_type: {value: text/plain}",
    )  # fmt: skip
    assert code == 0, err
    ids = [r.event_id for r in receiver.requests]
    assert len(ids) == 9 and all(ids.count(i) == 3 for i in ids)  # each of the 3 events, and 2 copies of it
    assert {r.headers["Content-Type"] for r in receiver.requests} == {"text/plain"}


async def test_a_failed_delivery_makes_the_exit_status_1_and_shows_in_the_table(aiohttp_server, tmp_path):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (500,)))
    code, out, err = await cli(
        "run", "login", "--vendor", "fusionauth", "--target", receiver.url, "--seed", "1",
        "--db", str(tmp_path / "s.db"), "--time-scale", "0",
    )  # fmt: skip
    assert code == 1
    assert "fusionauth-jwt needs a secret; sending unsigned" in err
    line = next(row for row in out.splitlines() if row.strip().startswith("127.0.0.1"))
    assert line.split()[1:] == ["0", "1", "1"]  # delivered, failed, attempts (None: fire and forget)


async def test_fan_out_from_a_config_file(aiohttp_server, tmp_path):
    a = await start_receiver(aiohttp_server)
    b = await start_receiver(aiohttp_server)
    config = tmp_path / "emulator.yaml"
    config.write_text(
        f"store: {tmp_path / 'runs.db'}\n"
        "targets:\n"
        f"  - {{name: fa, url: '{a.url}', vendor: fusionauth, signing: {{secret: '${{FA_SECRET}}'}}}}\n"
        f"  - {{name: kc, url: '{b.url}', vendor: keycloak, events: [LOGIN]}}\n"
    )
    code, out, err = await cli(
        "run", "login", "--config", str(config), "--seed", "2", "--json", env={"FA_SECRET": SECRET}
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["targets"] == {
        "fa": {"delivered": 1, "failed": 0, "attempts": 1},
        "kc": {"delivered": 1, "failed": 0, "attempts": 1},
    }
    assert "X-FusionAuth-Signature-JWT" in a.requests[0].headers


async def test_bad_command_lines_are_explained(tmp_path):
    db = str(tmp_path / "s.db")
    cases = [
        (["run", "login", "--db", db], "no target: pass --target URL"),
        (["run", "login", "--target", "http://localhost:1/x", "--db", db], "pass --vendor"),
        (["run", "login", "--vendor", "keycloak", "--target", "billing", "--db", db], "neither a URL"),
        (["run", "login", "--vendor", "keycloak", "--target", "http://localhost:1/x", "--signing", "hmac", "--db", db],
         "unknown signing scheme 'hmac'"),
        (["run", "login", "--vendor", "keycloak", "--target", "http://localhost:1/x", "--retry", "fast", "--db", db],
         "unknown retry preset 'fast'"),
        (["run", "login", "--vendor", "keycloak", "--target", "http://localhost:1/x", "--time-scale", "nan", "--db", db],
         "--time-scale: expected a number"),
        (["run", "login", "--vendor", "keycloak", "--target", "http://localhost:1/x", "--header", "nocolon", "--db", db],
         "expected 'Name: value'"),
        (["run", "login", "--vendor", "keycloak", "--target", "http://localhost:1/x", "--fault", "dupe", "--db", db],
         "faults[0]: unknown fault 'dupe'; did you mean 'duplicate'?"),
        (["run", "login", "--vendor", "keycloak", "--target", "http://localhost:1/x", "--fault", "drop: {", "--db", db],
         "--fault 'drop: {': "),
        (["run", "login", "--vendor", "keycloak", "--target", "http://localhost:1/x", "--db", str(tmp_path)],
         "is a folder"),
    ]  # fmt: skip
    for args, message in cases:
        code, _, err = await cli(*args)
        assert code != 0 and message in err, (args, err)
        assert "Traceback" not in err


async def test_kill_9_in_the_middle_of_a_2000_event_run_then_resume_loses_nothing(aiohttp_server, tmp_path):
    got_some = asyncio.Event()
    ids: list[str] = []

    def seen(request) -> None:
        ids.append(request.event_id)
        if len(ids) >= 300:
            got_some.set()

    receiver = await start_receiver(aiohttp_server, Receiver(on_request=seen))
    db = tmp_path / "s.db"
    env = {**os.environ, "IDP_EMULATOR_SECRET": SECRET}
    scenario = logins(tmp_path, 1000)  # keycloak: LOGIN and CODE_TO_TOKEN per login, 2,000 events
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "emulator", "run", str(scenario), "--vendor", "keycloak", "--target", receiver.url,
        "--seed", "5", "--db", str(db), "--concurrency", "4",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    await asyncio.wait_for(got_some.wait(), 60)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = len(set(ids))
    assert before < 2000, "the run finished before it could be killed"

    code, out, err = await cli("resume", "--db", str(db), "--json", env={"IDP_EMULATOR_SECRET": SECRET})
    assert code == 0, err
    store = sqlite3.connect(db)
    stored = {row[0] for row in store.execute("SELECT event_id FROM events")}
    statuses = dict(store.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())
    assert len(stored) == 2000 and statuses == {"delivered": 2000}
    assert set(ids) == stored  # every event at least once, nothing missing
    # and they are the very events the scenario makes: a replay of the same seed and start
    run = store.execute("SELECT options, status FROM runs").fetchone()
    assert run[1] == "finished"
    start = json.loads(run[0])["start"]
    code, out, _ = await cli("render", str(scenario), "--vendor", "keycloak", "--seed", "5", "--start", start)
    assert {json.loads(line)["id"] for line in out.splitlines()} == stored
    # every id verifies: resumed attempts are signed again with the secret from the environment
    import hashlib
    import hmac

    for request in receiver.requests[-20:]:
        assert (
            request.headers["X-Keycloak-Signature"]
            == hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        )


async def test_resume_says_what_it_needs_for_a_secret_given_literally(aiohttp_server, tmp_path):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (500,)))
    db = str(tmp_path / "s.db")
    code, _, _ = await cli(
        "run", "login", "--vendor", "keycloak", "--target", receiver.url, "--secret", SECRET,
        "--db", db, "--retry", "none",
    )  # fmt: skip
    assert code == 1
    code, _, err = await cli("resend", "--db", db)
    assert code == 1 and "was given literally and is not stored" in err and "--secret" in err
    receiver.answer = lambda r, nth: (200,)
    code, out, err = await cli("resend", "--db", db, "--secret", SECRET, "--json")
    assert code == 0, err
    assert json.loads(out)["delivered"] == 3


async def test_a_token_in_the_target_url_is_neither_printed_nor_stored(aiohttp_server, tmp_path):
    receiver = await start_receiver(aiohttp_server)
    code, out, err = await cli(
        "run", "login", "--vendor", "keycloak", "--target", receiver.url + "?token=SUPERSECRET",
        "--db", str(tmp_path / "s.db"), "--seed", "1",
    )  # fmt: skip
    assert code == 0, err
    assert "SUPERSECRET" not in out + err
    assert b"SUPERSECRET" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert receiver.requests[0].url.endswith("?token=SUPERSECRET")  # but it is sent


async def test_resend_only_what_failed_since_a_time(aiohttp_server, tmp_path):
    receiver = await start_receiver(aiohttp_server, Receiver(lambda r, nth: (500,)))
    db = str(tmp_path / "s.db")
    code, _, _ = await cli(
        "run", "login", "--vendor", "keycloak", "--target", receiver.url, "--db", db, "--retry", "none"
    )  # fmt: skip
    assert code == 1
    receiver.answer = lambda r, nth: (200,)
    code, _, err = await cli("resend", "--db", db, "--since", "tomorrow")
    assert code == 1 and "--since: expected an ISO 8601 time" in err and "Traceback" not in err
    code, _, err = await cli("resend", "--db", db, "--since", "2999-01-01T00:00:00Z")
    assert code == 0 and "0 failed deliveries queued again" in err
    code, _, err = await cli("resend", "--db", db, "--since", "1h", "--target", "someone-else")
    assert "0 failed deliveries queued again" in err
    code, out, err = await cli("resend", "--db", db, "--since", "1h", "--json")
    assert code == 0 and "3 failed deliveries queued again" in err and json.loads(out)["delivered"] == 3


async def test_a_failed_run_says_why_and_a_run_waiting_on_retries_says_so_outside_a_terminal(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/hook"  # nothing listens here
    retry = "--retry"
    code, out, err = await cli(
        "run", "login", "--vendor", "keycloak", "--target", closed, "--seed", "1", "--db", str(tmp_path / "s.db"),
        "--secret", SECRET, retry, "standard-webhooks", "--time-scale", "0.00001",
    )  # fmt: skip
    assert code == 1
    assert "failed: 3 deliveries to 127.0.0.1-" in out and "connection refused" in out  # the reason, grouped
    waves = [line for line in err.splitlines() if line.startswith("retrying ")]
    assert waves and "next attempt at" in waves[0]  # stderr is not a terminal here: lines, not a bar
    code, out, _ = await cli(
        "run", "login", "--vendor", "keycloak", "--target", closed, "--seed", "1", "--db", str(tmp_path / "s.db"),
        "--secret", SECRET, retry, "none", "--json",
    )  # fmt: skip
    [failure] = json.loads(out)["failures"]
    assert failure["deliveries"] == 3 and "connection refused" in failure["reason"]


async def test_a_short_hmac_secret_gets_one_line_of_ours_not_a_library_warning(aiohttp_server, tmp_path):
    receiver = await start_receiver(aiohttp_server)
    code, out, err = await cli(
        "run", "login", "--vendor", "fusionauth", "--target", receiver.url, "--seed", "1",
        "--db", str(tmp_path / "s.db"), "--secret", "short",
    )  # fmt: skip
    assert code == 0, err
    assert err.count("shorter than 32 bytes") == 1 and "Warning" not in err and "warn(" not in err
    assert " 1 events" not in out and (" 1 event · " in out or " events · " in out)


async def test_standard_webhooks_signatures_verify_with_the_official_library_at_its_default_tolerance(
    aiohttp_server, tmp_path
):
    """`run --vendor flip --signing standard-webhooks` with a seed: every request passes
    ``standardwebhooks.Webhook.verify`` as a consumer calls it (5-minute tolerance, nothing else set),
    though the scenario's clock starts in the past and moves hours ahead."""
    from standardwebhooks import Webhook

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    receiver = await start_receiver(aiohttp_server)
    story = tmp_path / "later.yaml"
    story.write_text("name: later\nactors: {alice: {}}\nsteps:\n  - login: alice\n  - wait: 3h\n  - refresh: alice\n")
    code, _, err = await cli(
        "run", str(story), "--vendor", "flip", "--signing", "standard-webhooks", "--secret", secret,
        "--seed", "1", "--start", "2026-01-01T00:00:00Z", "--target", receiver.url, "--db", str(tmp_path / "s.db"),
    )  # fmt: skip
    assert code == 0, err
    assert len(receiver.requests) == 3
    for request in receiver.requests:
        payload = Webhook(secret).verify(request.body, dict(request.headers))
        assert payload["id"] == request.headers["webhook-id"]
