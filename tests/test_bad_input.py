"""Bad scenarios get a clear file:line:column message, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.errors import ScenarioError
from emulator.scenario.loader import load_scenario_text

GOOD_HEAD = "name: x\nactors:\n  alice: {}\nsteps:\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "s.yaml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nsteps: [\n", "s.yaml:3:1: YAML syntax error"),
        (GOOD_HEAD + "  - logn: {actor: alice}\n", "s.yaml:5:5: unknown action 'logn'; did you mean 'login'?"),
        (GOOD_HEAD + "  - login: {actor: alcie}\n", "s.yaml:5:20: unknown actor 'alcie'"),
        (
            GOOD_HEAD + "  - login: {actor: alice, eror: x}\n",
            "s.yaml:5:27: unknown parameter of 'login' 'eror'; did you mean 'error'?",
        ),
        (
            GOOD_HEAD + "  - login: {actor: alice, error: invalid_credentials}\n",
            "did you mean 'invalid_user_credentials'?",
        ),
        (
            GOOD_HEAD + "  - login: {actor: alice, hint: maybe}\n",
            "s.yaml:5:33: expected true or false, got text 'maybe'",
        ),
        (GOOD_HEAD + "  - login: {actor: alice, method: pasword}\n", "did you mean 'password'?"),
        (GOOD_HEAD + "  - wait: -5s\n", "s.yaml:5:11: a duration cannot be negative"),
        (GOOD_HEAD + "  - wait: soon\n", "expected a duration such as"),
        (GOOD_HEAD + "  - login: alice\n    repeat: {count: 0}\n", "'count' must be a whole number"),
        (GOOD_HEAD + "  - login: alice\n    logout: alice\n", "a step has exactly one action"),
        ("name: x\nname: y\nsteps: [{login: a}]\n", "s.yaml:2:1: duplicate key 'name'"),
        ("name: x\nstep: []\n", "unknown top-level key 'step'; did you mean 'steps'?"),
        ("- just\n- a list\n", "a scenario is a mapping"),
        ("", "a scenario is a mapping"),
        ("name: x\nactors: {a: {kind: robot}}\nsteps: [{login: a}]\n", "unknown value for 'kind' 'robot'"),
        ("name: x\ndefaults: {realmm: a}\nsteps: [{wait: 1s}]\n", "did you mean 'realm'?"),
        ("name: x\nsteps: []\n", "'steps' is required"),
        ("name: x\nsteps: [{emit: {vendor: keycloak}}]\n", "missing required parameter of 'emit' 'type'"),
    ],
)
def test_bad_scenarios_say_where_and_what(text, expected):
    found = problems(text)
    assert any(expected in p for p in found), found


def test_every_problem_is_reported_in_file_order():
    found = problems(GOOD_HEAD + "  - logn: alice\n  - wait: -1s\n  - login: {actor: bob}\n")
    assert [p.split(":")[1] for p in found] == ["5", "6", "7"]


def test_an_alias_bomb_is_refused():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}]\n"
    assert any("too large" in p for p in problems(bomb))


def test_python_tags_are_refused():
    found = problems("name: !!python/object/apply:os.system ['echo hi']\nsteps: [{wait: 1s}]\n")
    assert any("s.yaml:1:7" in p for p in found), found


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True, text=True)


def test_validate_prints_file_line_column_and_exits_1(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD_HEAD + "  - logn: alice\n")
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_HEAD + "  - login: alice\n")
    result = run_cli("validate", str(good), str(bad))
    assert result.returncode == 1
    assert result.stdout.strip() == f"{bad}:5:5: unknown action 'logn'; did you mean 'login'?"
    assert "Traceback" not in result.stderr


def test_validate_passes_the_bundled_scenarios():
    scenarios = Path(__file__).resolve().parent.parent / "scenarios"
    result = run_cli("validate", str(scenarios))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stderr


def test_validate_finds_problems_only_playing_reveals(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD_HEAD + "  - logout: alice\n  - emit: {vendor: keycloak, type: LOGN}\n")
    result = run_cli("validate", str(path))
    assert result.returncode == 1
    assert f"{path}:5:" in result.stdout and "no session" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["render", "login", "--vendor", "keycloack"], "unknown vendor 'keycloack'; did you mean 'keycloak'?"),
        (["render", "logn", "--vendor", "keycloak"], "unknown scenario 'logn'; did you mean 'login'?"),
        (["render", "missing.yaml", "--vendor", "keycloak"], "missing.yaml: no such scenario file"),
        (["render", "login", "--vendor", "keycloak", "--start", "yesterday"], "--start: expected an ISO 8601 time"),
        (["render", "/etc/passwd", "--vendor", "keycloak"], "/etc/passwd:1:1: a scenario is a mapping"),
        (["render", "login", "--vendor", "keycloak", "--templates", "/nonexistent"], "does not exist"),
    ],
)
def test_cli_mistakes_get_one_clear_line(args, expected, capsys):
    assert main(args) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_render_of_a_binary_file_is_refused(tmp_path: Path, capsys):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["render", str(path), "--vendor", "keycloak"]) == 1
    assert "not a UTF-8 text file" in capsys.readouterr().err
