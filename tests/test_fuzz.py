"""Property tests: random YAML and hostile actor values never crash the loader or the renderer,
and every payload is valid JSON that round-trips."""

from __future__ import annotations

import json

import yaml
from conftest import vendor_names
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.errors import EmulatorError, ScenarioError
from emulator.render import render_events
from emulator.scenario.loader import load_scenario_text
from emulator.scenario.vocabulary import vocabulary
from emulator.vendors.registry import Registry

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
VOCAB = vocabulary()
REGISTRY = Registry()  # compiled once: each example renders with the same catalogs and templates
WORDS = [*VOCAB.actions, *VOCAB.errors, *VOCAB.actor_fields, "name", "steps", "actors", "wait", "repeat", "alice"]

nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ['"', "'", '\\"', "{{ 7*7 }}", "{% raw %}", "😀👩‍👩‍👧", "مرحبا بالعالم", "שָׁלוֹם", "\u202e", "\x00", "a" * 10_000]
    ),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True), nasty_text, st.sampled_from(WORDS)
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=25,
)


@FUZZ
@given(st.text(max_size=300))
def test_random_text_gives_a_scenario_or_a_clear_error(text):
    try:
        load_scenario_text(text, "f.yaml")
    except ScenarioError as exc:
        assert exc.problems and all(str(p).startswith("f.yaml") for p in exc.problems)


@FUZZ
@given(documents)
def test_random_yaml_structures_give_a_scenario_or_a_clear_error(doc):
    text = yaml.safe_dump(doc, allow_unicode=True)
    try:
        load_scenario_text(text, "f.yaml")
    except ScenarioError as exc:
        assert all(str(p).startswith("f.yaml") for p in exc.problems)


@FUZZ
@given(doc=documents, action=st.sampled_from(sorted(VOCAB.actions)))
def test_random_parameters_never_crash(doc, action):
    scenario = {"name": "f", "actors": {"alice": {}}, "steps": [{action: doc}]}
    try:
        loaded = load_scenario_text(yaml.safe_dump(scenario, allow_unicode=True), "f.yaml")
    except ScenarioError:
        return
    for vendor in vendor_names():
        try:
            for event in render_events(loaded, vendor, seed=1, registry=REGISTRY):
                json.loads(json.dumps(event.record(), allow_nan=False))
        except EmulatorError as exc:
            assert str(exc)


actor_values = st.fixed_dictionaries(
    {},
    optional={
        field: nasty_text.filter(lambda s: "\x00" not in s)
        for field in ("username", "email", "first_name", "last_name", "ip", "user_agent", "id")
    },
)


@FUZZ
@given(fields=actor_values, seed=st.integers(0, 2**32))
def test_hostile_actor_values_round_trip_through_every_vendor(fields, seed):
    scenario = {
        "name": "f",
        "actors": {"alice": fields},
        "steps": [
            {"register": "alice"},
            {"update_profile": {"actor": "alice", "first_name": fields.get("first_name", "Zoë")}},
            {"sso_login": {"actor": "alice", "provider": "google"}},
            {"login": {"actor": "alice", "error": "invalid_user_credentials"}},
            {"logout": "alice"},
        ],
    }
    loaded = load_scenario_text(yaml.safe_dump(scenario, allow_unicode=True), "f.yaml")
    for vendor in REGISTRY.names:
        for event in render_events(loaded, vendor, seed=seed, registry=REGISTRY):
            text = json.dumps(event.body, ensure_ascii=False, allow_nan=False)
            assert json.loads(text) == event.body
            username = loaded.actors["alice"].fields.get("username")  # as YAML read it
            if vendor == "keycloak" and username:
                assert event.body["authDetails"]["username"] == username
