"""Hostile or careless input: user templates, catalogs, scenarios and arguments end in one clear
message, never a traceback, a hang or a runaway allocation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.errors import EmulatorError, ScenarioError, VendorError
from emulator.play.clock import epoch_ms, parse_start
from emulator.play.player import Player
from emulator.render import load, render_events
from emulator.scenario.loader import load_scenario_text
from emulator.vendors.registry import Registry

SCENARIO = "name: x\nactors:\n  alice: {}\nsteps:\n  - login: alice\n"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


def render_with(tmp_path: Path, scenario: str = SCENARIO, vendor: str = "keycloak") -> list:
    return list(render_events(load_scenario_text(scenario), vendor, 1, registry=Registry([tmp_path])))


@pytest.mark.parametrize(
    "expression",
    [
        "{{ 10 ** (10 ** 10) }}",
        "{{ 'x' * 10 ** 9 }}",
        "{{ ('x' * 10) * 10 ** 8 }}",
        "{{ '%0999999999d' | format(1) }}",
        "{{ 'a' | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') }}",
        "{{ range(10 ** 9) | list | length }}",
        "{{ [1, 2, 3] | random }}",
        "{{ 1e308 * 10 }}",
        "{{ 10 ** 40 }}",
        "{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
        "{{ " + "+".join(["1"] * 3000) + " }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{{ '%s' % actor }}",
    ],
)
def test_a_user_template_cannot_hang_or_exhaust_memory(tmp_path: Path, expression: str):
    write(tmp_path / "keycloak/templates/LOGIN.json", json.dumps({"x": expression}))
    with pytest.raises(VendorError):
        render_with(tmp_path)


def test_catalog_type_formats_are_not_python_format_strings(tmp_path: Path):
    catalog = (Path(__file__).resolve().parent.parent / "emulator/vendors/keycloak/catalog.yaml").read_text()
    write(
        tmp_path / "keycloak/catalog.yaml",
        catalog.replace('type_format: "{type}"', 'type_format: "{type.__class__.__mro__}{type}"'),
    )
    events = render_with(tmp_path)
    assert events[0].type == "{type.__class__.__mro__}LOGIN"


@pytest.mark.parametrize(
    "catalog",
    [
        "name: keycloak\nerrors: [a, b]\nevents: {A: a}\nactions: {login: [A]}\n",
        "name: keycloak\nevents: [LOGIN]\nactions: {}\n",
        "name: keycloak\nevents: {A: a}\nactions: {login: 5}\n",
        "name: keycloak\nevents: {A: a}\nactions: {login: [{event: [A]}]}\n",
        "name: keycloak\nevents: {A: a}\nevent_ids: uuid9\nactions: {}\n",
    ],
)
def test_malformed_catalogs_are_reported_with_their_file(tmp_path: Path, catalog: str):
    write(tmp_path / "keycloak/catalog.yaml", catalog)
    with pytest.raises(VendorError) as info:
        Registry([tmp_path]).vendor("keycloak")
    assert "catalog.yaml" in str(info.value)


def test_files_that_are_not_utf8_are_reported(tmp_path: Path):
    write(tmp_path / "keycloak/templates/LOGIN.json", b"\xff\xfe{}")
    with pytest.raises(VendorError, match="UTF-8"):
        render_with(tmp_path)


def test_templates_cannot_reach_outside_the_vendor_folders(tmp_path: Path):
    write(tmp_path / "keycloak/templates/LOGIN.json", '{"$extends": "../../../../../../tmp/evil"}')
    with pytest.raises(VendorError, match="bad template name"):
        render_with(tmp_path)


def test_statements_are_refused_with_a_hint(tmp_path: Path):
    write(tmp_path / "keycloak/templates/LOGIN.json", '{"x": "{% if true %}y{% endif %}"}')
    with pytest.raises(VendorError, match="not supported"):
        render_with(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  - wait: 99999999999d\n", "at most 100 years"),
        ("  - wait: 99999999999999999999\n", "at most 100 years"),
        ("  - wait: .inf\n", "at most 100 years"),
        ("  - wait: .nan\n", "NaN"),
        ("  - emit: {vendor: keycloak, type: LOGIN, fields: {when: 2001-12-14}}\n", "cannot be sent in JSON"),
        ("  - emit: {vendor: keycloak, type: LOGIN, fields: {n: " + "9" * 5000 + "}}\n", "bad value"),
        ("  - " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ],
)
def test_bad_values_in_scenarios(text: str, expected: str):
    with pytest.raises(ScenarioError) as info:
        load_scenario_text("name: x\nactors: {alice: {}}\nsteps:\n" + text, "s.yaml")
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("defaults", "expected"),
    [
        ("lockout: {failures: abc}", "'failures' must be a whole number"),
        ("lockout: {failures: -1}", "'failures' must be a whole number"),
        ("lockout: {failures: 3, duration: soon}", "expected a duration"),
        ("lockout: {failures: 3, tries: 2}", "unknown lockout key 'tries'"),
        ("locale: zz_QQ", "unknown locale 'zz_QQ'"),
    ],
)
def test_defaults_are_checked(defaults: str, expected: str):
    with pytest.raises(ScenarioError, match=expected):
        load_scenario_text(f"name: x\ndefaults: {{{defaults}}}\nactors: {{a: {{}}}}\nsteps: [{{login: a}}]\n")


@pytest.mark.parametrize("key", ['""', "null", "1", "true", "'a b'"])
def test_actor_names_are_names(key: str):
    with pytest.raises(ScenarioError):
        load_scenario_text(f"name: x\nactors:\n  {key}: {{}}\nsteps: [{{wait: 1s}}]\n")


def test_the_clock_running_past_year_9999_is_reported_at_the_step():
    scenario = load_scenario_text(
        "name: x\nactors: {a: {}}\nsteps:\n  - repeat: {count: 1000, every: 36000d, steps: [{login: a}]}\n", "s.yaml"
    )
    with pytest.raises(EmulatorError) as info:
        list(render_events(scenario, "keycloak", 1))
    assert "year 9999" in str(info.value) and "s.yaml:" in str(info.value)


@pytest.mark.parametrize("start", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "1969-12-31T00:00:00Z"])
def test_start_times_out_of_range_are_refused(start: str, capsys):
    assert main(["render", "login", "--vendor", "keycloak", "--start", start]) == 1
    assert "--start" in capsys.readouterr().err


def test_epoch_milliseconds_are_exact():
    assert epoch_ms(parse_start("1970-01-01T18:15:18.794Z")) == 65718794


def test_client_actors_can_change_their_profile():
    scenario = load_scenario_text(
        "name: x\nactors: {svc: {kind: client}}\nsteps: [{update_profile: svc}, {update_email: svc}]\n"
    )
    for vendor in Registry().names:
        list(render_events(scenario, vendor, 1))


def test_schema_output_to_a_missing_folder(capsys):
    assert main(["schema", "-o", "/nonexistent/x.json"]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_validate_stops_on_steps_not_occurrences(tmp_path: Path):
    path = write(
        tmp_path / "s.yaml",
        "name: x\nsteps:\n  - repeat: {count: 1000000, steps: [{repeat: {count: 1000000, steps: [{wait: 1s}]}}]}\n",
    )
    result = subprocess.run([sys.executable, "-m", "emulator", "validate", str(path)], capture_output=True, timeout=60)
    assert result.returncode == 0


def test_runs_alive_at_once_do_not_disturb_each_other():
    scenario = load("tour")
    alone = [e.body for e in render_events(scenario, "keycloak", 1)]
    a = render_events(scenario, "keycloak", 1)
    b = render_events(scenario, "keycloak", 2)
    together = []
    for event in a:
        together.append(event.body)
        next(b, None)
    assert together == alone


def test_unregistered_users_are_never_locked_out():
    scenario = load_scenario_text(
        "name: x\ndefaults: {lockout: {failures: 2}}\nactors: {ghost: {registered: false}}\n"
        "steps:\n  - login: {actor: ghost, error: invalid_user_credentials}\n    repeat: 3\n"
    )
    assert "USER_DISABLED_BY_TEMPORARY_LOCKOUT" not in {e.type for e in render_events(scenario, "keycloak", 1)}


def test_session_propagation_keeps_the_first_clients_tokens():
    scenario = load_scenario_text(
        "name: x\nactors: {a: {}}\nsteps: [{login: a}, {refresh: a}, {propagate_session: {actor: a, to: other}}, {refresh: a}]\n"
    )
    events = list(render_events(scenario, "keycloak", 1))
    refreshes = [e for e in events if e.type == "REFRESH_TOKEN"]
    assert refreshes[1].body["details"]["refresh_token_id"] == refreshes[0].body["details"]["updated_refresh_token_id"]


def test_memoized_parts_tell_true_from_one(tmp_path: Path):
    catalog = (Path(__file__).resolve().parent.parent / "emulator/vendors/keycloak/catalog.yaml").read_text()
    write(
        tmp_path / "keycloak/catalog.yaml",
        catalog.replace(
            "    email_mismatch: invalid_email\n",
            "    email_mismatch: invalid_email\n    invalid_user_credentials: 1\n    user_disabled: true\n",
        ),
    )
    write(tmp_path / "keycloak/templates/LOGIN.json", '{"a": {"code": "{{ error_code }}", "who": "{{ actor.id }}"}}')
    scenario = SCENARIO.replace(
        "  - login: alice\n",
        "  - login: {actor: alice, error: invalid_user_credentials}\n  - login: {actor: alice, error: user_disabled}\n",
    )
    first, second = render_with(tmp_path, scenario)
    assert first.body["a"]["code"] == 1 and second.body["a"]["code"] is True


def test_player_context_holds_no_nulls_in_parameters():
    scenario = load_scenario_text(
        "name: x\nactors: {a: {}}\nsteps: [{emit: {vendor: keycloak, type: LOGIN, actor: a, fields: {details: {x: null, y: 1}}}}]\n"
    )
    (occurrence,) = Player(scenario, 1).occurrences()
    assert occurrence.context["params"]["fields"] == {"details": {"y": 1}}
