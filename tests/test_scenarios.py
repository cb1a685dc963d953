"""Bundled scenarios: each plays as every vendor, deterministically for a seed."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from conftest import scenario_names, vendor_names

from emulator.cli import write_events
from emulator.render import load, render_events
from emulator.scenario.loader import load_scenario_text

REQUIRED_SCENARIOS = {
    "login",
    "login-failure",
    "refresh",
    "sso-first-login",
    "sso-login",
    "registration",
    "logout",
    "password-reset",
    "account-linking",
    "brute-force",
    "api-client",
    "tour",
}
REQUIRED_VENDORS = {"flip", "keycloak", "fusionauth", "idaas", "strivacity"}


def rendered(scenario: str, vendor: str, seed: int = 5, start: datetime | None = None) -> str:
    out = io.StringIO()
    write_events(render_events(load(scenario), vendor, seed, start), out)
    return out.getvalue()


def test_the_required_scenarios_and_vendors_exist():
    assert set(scenario_names()) >= REQUIRED_SCENARIOS
    assert set(vendor_names()) >= REQUIRED_VENDORS


@pytest.mark.parametrize("vendor", vendor_names())
@pytest.mark.parametrize("scenario", scenario_names())
def test_every_bundled_scenario_renders_for_every_vendor(scenario, vendor):
    text = rendered(scenario, vendor)
    for line in text.splitlines():
        record = json.loads(line)
        assert {"vendor", "type", "id", "time", "body"} <= set(record)
        assert record["vendor"] == vendor
        assert record["time"].endswith("Z")
        datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
        assert isinstance(record["body"], dict) and record["body"]


def test_an_event_carries_who_from_where_and_through_what_from_its_step():
    """The columns of an event console (user, user id, username, ip, client), the step's, each in
    its own field."""
    scenario = load_scenario_text(
        "name: columns\nactors:\n  alice: {username: alice, email: alice@example.com}\n"
        "steps:\n  - login: {actor: alice, client: shop, ip: 203.0.113.9}\n"
    )
    event = next(iter(render_events(scenario, "keycloak", 1)))
    assert (event.vendor, event.action, event.actor, event.error) == ("keycloak", "login", "alice", None)
    assert (event.user, event.username, event.ip, event.client) == ("alice@example.com", "alice", "203.0.113.9", "shop")
    assert event.user_id and event.user_id != event.id and event.time_iso.endswith("Z") and event.seq == 1
    assert (event.faults, event.transaction) == ((), None) and event.body


@pytest.mark.parametrize("vendor", vendor_names())
def test_same_seed_gives_byte_identical_output(vendor):
    assert rendered("tour", vendor, seed=42) == rendered("tour", vendor, seed=42)


@pytest.mark.parametrize("vendor", vendor_names())
def test_a_different_seed_gives_different_ids_and_names(vendor):
    a = [json.loads(line) for line in rendered("login", vendor, seed=1).splitlines()]
    b = [json.loads(line) for line in rendered("login", vendor, seed=2).splitlines()]
    assert a and len(a) == len(b)
    assert {r["id"] for r in a}.isdisjoint({r["id"] for r in b})
    assert json.dumps(a) != json.dumps(b)


def test_the_start_time_pins_the_clock_and_waits_move_it():
    start = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    records = [json.loads(line) for line in rendered("login", "keycloak", start=start).splitlines()]
    assert records[0]["time"] == "2030-05-01T12:00:00.000Z"
    assert records[0]["body"]["time"] == int(start.timestamp() * 1000)
    logout = next(r for r in records if r["type"] == "LOGOUT")
    assert logout["time"].startswith("2030-05-01T12:10:")  # after `wait: 10m`


def test_byte_identical_across_processes():
    """Another interpreter (another hash seed) prints the same bytes."""
    cmd = [sys.executable, "-m", "emulator", "render", "sso-first-login", "--vendor", "fusionauth", "--seed", "9"]
    first = subprocess.run(cmd, capture_output=True, check=True, env={"PYTHONHASHSEED": "1"}).stdout
    second = subprocess.run(cmd, capture_output=True, check=True, env={"PYTHONHASHSEED": "2"}).stdout
    assert first and first == second


def test_actors_keep_their_identity_across_steps():
    records = [json.loads(line) for line in rendered("refresh", "keycloak").splitlines()]
    users = {r["body"]["authDetails"]["userId"] for r in records if "userId" in r["body"]["authDetails"]}
    assert len(users) == 1
    login = next(r for r in records if r["type"] == "LOGIN")
    session = login["body"]["authDetails"]["sessionId"]
    exchange = next(r for r in records if r["type"] == "CODE_TO_TOKEN")
    assert exchange["body"]["details"]["code_id"] == session == login["body"]["details"]["code_id"]
    refreshes = [r for r in records if r["type"] == "REFRESH_TOKEN"]
    assert len(refreshes) == 3
    assert all(r["body"]["authDetails"]["sessionId"] == session for r in refreshes)
    # each refresh presents the refresh token the previous one issued
    previous = exchange["body"]["details"]["refresh_token_id"]
    for r in refreshes:
        assert r["body"]["details"]["refresh_token_id"] == previous
        previous = r["body"]["details"]["updated_refresh_token_id"]


def test_repeat_every_spaces_iterations_start_to_start():
    records = [json.loads(line) for line in rendered("refresh", "keycloak").splitlines()]
    times = [r["body"]["time"] for r in records if r["type"] == "REFRESH_TOKEN"]
    assert [b - a for a, b in itertools.pairwise(times)] == [30 * 60 * 1000] * 2


def test_a_refresh_with_no_session_is_reported_where_it_is():
    scenario = load_scenario_text("name: x\nactors: {a: {}}\nsteps:\n  - refresh: a\n", "x.yaml")
    with pytest.raises(Exception) as info:
        list(render_events(scenario, "keycloak", 1))
    assert str(info.value).startswith("x.yaml:4:")
    assert "no session" in str(info.value)


def test_two_scenarios_with_one_seed_share_no_event_ids():
    """Consumers dedupe on event ids: running `login` then `refresh` with --seed 1 must not collide."""
    for vendor in vendor_names():
        a = {json.loads(line)["id"] for line in rendered("login", vendor, seed=1).splitlines()}
        b = {json.loads(line)["id"] for line in rendered("refresh", vendor, seed=1).splitlines()}
        assert a.isdisjoint(b), vendor


def test_player_state_does_not_grow_with_repetition():
    """A long run keeps one registration per user and client, however often users re-register."""
    from dataclasses import replace

    from emulator.play.player import Player
    from emulator.scenario.model import Repeat

    tour = load("tour")
    player = Player(replace(tour, steps=[Repeat(30, None, tour.steps, tour.steps[0].location)]), seed=1)
    for _ in player.occurrences():
        pass
    pairs = {(a["id"], c) for a in player.actors.values() for c in player.clients}
    assert len(player.registrations) <= len(pairs)
    assert len(player.sessions) <= len(player.actors)
