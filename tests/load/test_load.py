"""`idp-emulator load` as a user runs it: a real Locust master with two worker processes, a mix of
vendors and a duplicate fault, against a receiver on loopback, for a second.

At the receiver: every request's signature verifies with what consumers use (the hex HMAC recipe of
Keycloak's extension, PyJWT for FusionAuth's JWT); an event id repeats only as often as the
duplicate fault drew for it; each user's events arrive in the order the plan renders them, every
id belonging to exactly one user of one worker; and Locust's counts (its own printed table) and the
emulator's summary agree with what arrived and how it was answered (acknowledged, refused with a 503,
or a connection closed without an answer). Locust runs in subprocesses:
its gevent patching never enters the test process.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from test_signing import check_fusionauth, check_keycloak

from emulator.delivery.faults import parse_faults, plan
from emulator.load.plan import build_plan
from emulator.load.tally import OUTCOMES

SECRET = "load-test-secret-of-32-bytes-and-more"
REFUSED = "access.LOGOUT"  # the receiver answers 503 to Keycloak's logouts: refused, per type, in the summary


def hangs_up(body: dict) -> bool:
    """About a quarter of FusionAuth's events get no answer: the receiver closes the connection (unreachable)."""
    return "event" in body and body["event"]["id"][0] in "0123"


FAULT = "duplicate: {probability: 0.3}"
USERS = 6
WORKERS = 2
SEED = 10  # three users of each vendor
START = "2026-03-01T09:00:00Z"


@dataclass
class Arrival:
    body: bytes
    headers: dict[str, str]
    status: int


@dataclass
class Consumer:
    """A webhook consumer on its own thread and event loop, answering as fast as it can."""

    url: str = ""
    arrivals: list[Arrival] = field(default_factory=list)

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        data = json.loads(body)
        if hangs_up(data):
            self.arrivals.append(Arrival(body, dict(request.headers), 0))
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=204)  # never written: the connection is gone
        status = 503 if data.get("type") == REFUSED else 204
        self.arrivals.append(Arrival(body, dict(request.headers), status))
        return web.Response(status=status)


@pytest.fixture(scope="module")
def consumer() -> Iterator[Consumer]:
    found = Consumer()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_post("/hooks/idp", found.hook)
        runner.append(web.AppRunner(app, access_log=None))
        await runner[0].setup()
        site = web.TCPSite(runner[0], "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        found.url = f"http://127.0.0.1:{port}/hooks/idp"
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield found
    asyncio.run_coroutine_threadsafe(runner[0].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@dataclass
class Run:
    code: int
    summary: dict
    locust: dict[str, tuple[int, int]]  # Locust's own table: name -> (requests, failures)
    stderr: str


def command(url: str) -> list[str]:  # a user's command line
    return [
        sys.executable, "-m", "emulator", "load", "login", "--vendor", "keycloak", "--vendor", "fusionauth:2",
        "--target", url, "--users", str(USERS), "--spawn-rate", "100", "--duration", "1s",
        "--workers", str(WORKERS), "--seed", str(SEED), "--start", START, "--fault", FAULT, "--json",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def run(consumer: Consumer) -> Run:
    with subprocess.Popen(
        command(consumer.url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "IDP_EMULATOR_SECRET": SECRET},
    ) as proc:  # fmt: skip
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # Locust's workers too
            out, err = proc.communicate()
            pytest.fail(f"the load test did not stop by itself: {err[-3000:]}")
    assert out.strip(), err[-3000:]
    table = err.split("Response time percentiles")[0]
    locust = {m[1]: (int(m[2]), int(m[3])) for m in re.finditer(r"(?m)^POST\s+(.+?)\s+(\d+)\s+(\d+)\(", table)}
    return Run(proc.returncode, json.loads(out), locust, err)


def load_plan(url: str):
    options = argparse.Namespace(
        scenario="login", vendor=["keycloak", "fusionauth:2"], templates=[], secret=SECRET, signing=None,
        header=[], events=[], fault=[FAULT], signed_time=None, seed=SEED, start=START,
        tls_ca_file=None, tls_no_verify=False, tls_client_cert=None, tls_client_key=None,
    )  # fmt: skip
    return build_plan(options, url)


def event_id(body: bytes) -> str:
    data = json.loads(body)
    return data["id"] if "id" in data else data["event"]["id"]


def test_two_workers_deliver_in_order_signed_and_counted_alike(consumer, run):
    arrivals = consumer.arrivals
    assert run.summary["workers"] == WORKERS and not run.summary["missing_workers"], run.stderr[-3000:]
    assert len(arrivals) > 2 * USERS, run.stderr[-3000:]

    # each user sent a prefix of what the plan renders for it: render each one until an id never arrived
    load = load_plan(consumer.url)
    arrived = Counter(event_id(a.body) for a in arrivals)
    owner: dict[str, tuple[int, int, int]] = {}  # id -> (worker, user, position in the user's stream)
    events = {}
    for worker in range(WORKERS):
        for user in range(USERS // WORKERS):
            for position, event in enumerate(load.events(worker, user)):
                if event.id not in arrived:
                    break
                assert event.id not in owner, "two users made the same event id"
                owner[event.id] = (worker, user, position)
                events[event.id] = event
    assert set(arrived) == set(owner), "an event no user of the plan makes"
    assert {w for w, _, _ in owner.values()} == set(range(WORKERS))

    # an id repeats only as the duplicate fault drew it; a copy follows its original
    target = load.targets["keycloak"]
    faults = parse_faults([{"duplicate": {"probability": 0.3}}])
    for id_, count in arrived.items():
        assert count == 1 + len(plan(faults, SEED, target.name, id_, events[id_].type, False).copies), id_
    assert any(count > 1 for count in arrived.values())

    # per user, first arrivals in the order of its stream: 0, 1, 2, ...
    order: dict[tuple[int, int], list[int]] = defaultdict(list)
    seen: set[str] = set()
    for arrival in arrivals:
        id_ = event_id(arrival.body)
        if id_ not in seen:
            seen.add(id_)
            worker, user, position = owner[id_]
            order[(worker, user)].append(position)
    assert len(order) == USERS
    for positions in order.values():
        assert positions == list(range(len(positions)))

    # every signature verifies with the consumer's own check for the user's vendor
    for arrival in arrivals:
        vendor = events[event_id(arrival.body)].vendor
        if vendor == "keycloak":
            check_keycloak(arrival.body, arrival.headers, "POST", consumer.url, secret=SECRET)
        else:
            check_fusionauth(arrival.body, arrival.headers, "POST", consumer.url, key=SECRET)

    # Locust's table, the emulator's summary and the receiver count the same requests, per type
    received: Counter[str] = Counter()
    answered: dict[str, Counter[str]] = defaultdict(Counter)
    for arrival in arrivals:
        event = events[event_id(arrival.body)]
        name = f"{event.vendor} {event.type}"
        received[name] += 1
        outcome = "unreachable" if not arrival.status else "acknowledged" if arrival.status < 300 else "refused"
        answered[name][outcome] += 1
    assert {name: sent for name, (sent, _) in run.locust.items()} == dict(received)
    rows = {row["type"]: row for row in run.summary["types"]}
    assert set(rows) == set(received)
    for name, row in rows.items():
        assert row["sent"] == received[name] == sum(row[k] for k in OUTCOMES)
        assert row["acknowledged"] == answered[name]["acknowledged"]
        assert row["refused"] == answered[name]["refused"]
        assert row["unreachable"] == answered[name]["unreachable"]
        assert run.locust[name][1] == row["refused"] + row["unreachable"]  # Locust's failures
    assert answered["keycloak LOGOUT"]["refused"] > 0
    assert answered["fusionauth user.login.success"]["unreachable"] > 0
    assert run.summary["counted_alike"] and run.summary["total"]["copies"] == sum(c - 1 for c in arrived.values())
    assert run.code == 1  # the consumer refused some: not every delivery was acknowledged
    assert SECRET not in run.stderr


def test_load_says_how_to_install_locust_when_it_is_missing(monkeypatch, capsys):
    from emulator.cli import main

    monkeypatch.setitem(sys.modules, "locust", None)  # as if it were not installed
    assert main(["load", "login", "--vendor", "keycloak", "--target", "http://127.0.0.1:9/"]) == 1
    err = capsys.readouterr().err
    assert "pip install 'idp-emulator[load]'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--vendor", "keycloak:0"], "--vendor 'keycloak:0': expected a vendor and an optional weight above 0"),
        (["--vendor", "keycloack"], "unknown vendor 'keycloack'"),
        (["--vendor", "keycloak", "--fault", "dupe"], "unknown fault 'dupe'; did you mean 'duplicate'?"),
        (["--vendor", "keycloak", "--duration", "soon"], "--duration: expected a duration"),
        (["--vendor", "keycloak", "--workers", "0"], "--workers: a whole number from 1"),
        ([], "no vendor: pass --vendor V"),
    ],
)
def test_bad_load_command_lines_are_explained_before_locust_starts(flags, message, capsys):
    from emulator.cli import main

    assert main(["load", "login", "--target", "http://127.0.0.1:9/", "--seed", "1", *flags]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert "locust" not in sys.modules  # nothing here imported Locust (and its gevent patching)


def test_every_user_is_other_people_even_where_the_scenario_names_them(tmp_path):
    story = tmp_path / "story.yaml"
    story.write_text(
        "name: story\nactors:\n  alice: {}\n  mallory: {email: mallory@example.com, username: mallory}\n"
        "steps:\n  - login: {actor: alice}\n  - login: {actor: mallory, error: invalid_user_credentials}\n"
    )
    options = argparse.Namespace(
        scenario=str(story), vendor=["fusionauth"], templates=[], secret=None, signing=None, header=[], events=[],
        fault=[], signed_time=None, seed=SEED, start=START,
        tls_ca_file=None, tls_no_verify=False, tls_client_cert=None, tls_client_key=None,
    )  # fmt: skip
    load = build_plan(options, "http://127.0.0.1:9/")
    people: set[str] = set()
    for worker, user in [(0, 0), (0, 1), (1, 0)]:
        first, again = itertools.islice(load.events(worker, user), 2), itertools.islice(load.events(worker, user), 2, 4)
        once = list(first)
        assert [e.username for e in again] == [e.username for e in once]  # the story again: the same people
        for event in once:
            assert event.username and event.username.endswith(f".w{worker}u{user}")
            people.update((event.username, str(event.user_id)))
        assert f"mallory+w{worker}u{user}@example.com" in json.dumps(once[1].body)
    assert len(people) == 12  # 3 users x 2 people, each with its own username and id


def test_only_the_modules_it_names_import_locust():
    """The rest of the package (and this test process) never gets Locust's gevent patching."""
    from pathlib import Path

    import emulator
    from emulator.load import LOCUST_MODULES

    root = Path(emulator.__file__).parent
    importing = {
        "emulator." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if re.search(r"(?m)^(from locust\b|import locust\b|from emulator\.load import ScenarioUser)", path.read_text())
    }
    assert importing == set(LOCUST_MODULES)
