"""Ids no template shows are drawn but not formatted, and that changes no event of any vendor: the
player's (read by any of a vendor's templates) and the dialect's ``event.uid`` (read by the row's own)."""

from __future__ import annotations

import copy as copy_module
import json
from pathlib import Path

import pytest

from emulator.play.player import Player
from emulator.render import load
from emulator.scenario.bundled import bundled_names
from emulator.vendors.dialect import Dialect, _Row, vendor_paths
from emulator.vendors.reads import TRUTH, reaches, template_paths
from emulator.vendors.registry import Registry
from emulator.vendors.templates import ENV

REGISTRY = Registry()
# scenarios that issue, refresh and revoke tokens, link identities and fail
SCENARIOS = ["tour", "refresh", "sso-first-login", "brute-force"]


def events(vendor: str, scenario: str, everything: bool, registry: Registry = REGISTRY) -> list[tuple[object, ...]]:
    """The events as ``render`` makes them, or with every id of the context formatted."""
    loaded = load(scenario)
    dialect = Dialect(registry.vendor(vendor), 1, loaded.name)
    if everything:
        dialect.recipes = {action: [_formatting_uid(row) for row in rows] for action, rows in dialect.recipes.items()}
    reads = None if everything else dialect.reads
    player = Player(loaded, 1, vendor=vendor, wants=dialect.emits, reads=reads)
    return [
        (e.type, e.id, e.time_iso, json.dumps(e.body), e.user_id)
        for occurrence in player.occurrences()
        for e in dialect.events(occurrence)
    ]


def _formatting_uid(row: _Row) -> _Row:
    """A copy of a catalog row (they are shared by every dialect of a vendor) that formats ``event.uid``."""
    copy = copy_module.copy(row)
    copy.shows_uid = True
    return copy


@pytest.mark.parametrize("vendor", REGISTRY.names)
def test_every_vendor_gives_the_same_events_whether_or_not_unread_ids_are_formatted(vendor: str) -> None:
    for scenario in SCENARIOS:
        assert scenario in bundled_names()
        assert events(vendor, scenario, everything=False) == events(vendor, scenario, everything=True), scenario


def test_vendors_that_show_no_tokens_are_told_so_and_those_that_do_are_not() -> None:
    def shows_tokens(vendor: str) -> bool:
        dialect = Dialect(REGISTRY.vendor(vendor), 1)
        return dialect.reads(("tokens",)) or dialect.reads(("session", "tokens"))

    assert not shows_tokens("clerk") and not shows_tokens("okta")  # the fast path is taken
    assert shows_tokens("keycloak") and shows_tokens("fusionauth")  # code_id, refresh token ids


def test_only_the_rows_whose_templates_show_event_uid_format_it() -> None:
    rows = {
        row.template: row.shows_uid
        for rows in Dialect(REGISTRY.vendor("fusionauth"), 1).recipes.values()
        for row in rows
    }
    assert rows["user.login.success"] is False
    assert rows["jwt.refresh"] is True  # its token's jti falls back to the uid


def test_an_or_that_only_decides_reads_its_sides_for_their_truth() -> None:
    decided = template_paths(ENV, "{{ client.uuid if session or not actor.id }}")
    assert reaches(decided, ("session",)) and not reaches(decided, ("session", "tokens"))
    # an ``or`` whose value is shown shows either side whole
    shown = template_paths(ENV, "{{ session or actor }}")
    assert reaches(shown, ("session", "tokens")) and reaches(shown, ("actor", "email"))


def test_a_path_reaches_what_is_under_it_and_a_name_read_whole_reaches_everything() -> None:
    paths = frozenset({("session", "id"), ("actor",), ("tokens", "scope"), ("client", TRUTH), ("a", "b", TRUTH)})
    assert reaches(paths, ("session", "id")) and not reaches(paths, ("session", "tokens"))
    assert reaches(paths, ("actor", "email")) and reaches(paths, ("tokens",))
    assert not reaches(paths, ("auth_session_id",))
    # read for its truth: what is under it is not shown, what it is part of is
    assert reaches(paths, ("client",)) and not reaches(paths, ("client", "id"))
    assert reaches(paths, ("a",)) and reaches(paths, ("a", "b")) and not reaches(paths, ("a", "c"))
    assert reaches(None, ("anything",))


@pytest.mark.parametrize(
    ("source", "read"),
    [
        ("{{ session.id if session else 'x' }}", {("session", "id"), ("session", TRUTH)}),
        ("{{ session or 'x' }}", {("session",)}),  # a true session is written whole
        ("{{ session and session.id }}", {("session", TRUTH), ("session", "id")}),
        ("{{ not tokens }}", {("tokens", TRUTH)}),
        ("{{ tokens is defined }}", {("tokens", TRUTH)}),
        ("{{ tokens | list }}", {("tokens",)}),
        ("{{ tokens['access'] }}", {("tokens",)}),
        ("{% if session %}{{ session }}{% endif %}", {("session", TRUTH), ("session",)}),
        ("{{ actor.items }}", {("actor",)}),  # the dict's method, not a member: read whole
    ],
)
def test_what_a_template_string_reads(source: str, read: set[tuple[str, ...]]) -> None:
    assert template_paths(ENV, {"x": source}) == read


def test_a_user_template_that_reads_tokens_gets_them_formatted(tmp_path: Path) -> None:
    (tmp_path / "clerk" / "templates").mkdir(parents=True)
    own = {"$extends": "_session", "data": {"last_active_token": {"jti": "{{ tokens.access }}"}}}
    (tmp_path / "clerk" / "templates" / "session.created.json").write_text(json.dumps(own))
    registry = Registry([tmp_path])
    dialect = Dialect(registry.vendor("clerk"), 1)
    assert dialect.reads(("tokens",)) and not Dialect(REGISTRY.vendor("clerk"), 1).reads(("tokens",))
    sessions = [json.loads(e[3]) for e in events("clerk", "login", False, registry) if e[0] == "session.created"]
    jti = sessions[0]["data"]["last_active_token"]["jti"]
    assert isinstance(jti, str) and len(jti) == 36  # a uuid, as written


def test_a_template_whose_reads_cannot_be_told_makes_every_id_formatted() -> None:
    vendor = REGISTRY.vendor("clerk")
    assert vendor_paths(vendor, ["no-such-template"], [], []) is None
    assert vendor_paths(vendor, [], ["actor.email ==="], []) is None
    assert vendor_paths(vendor, [], [], [{"x": "{{ oops( }}"}]) is None
    assert vendor_paths(vendor, [], ["actor.email == 'a'"], [{"x": "{{ tokens | first }}"}]) == {
        ("actor", "email"),
        ("tokens",),
    }
