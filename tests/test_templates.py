"""Templates: valid JSON always, omission of absent values, the sandbox, user overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.errors import VendorError
from emulator.render import render_events
from emulator.scenario.loader import load_scenario_text
from emulator.vendors.registry import Registry
from emulator.vendors.templates import OMIT, ExpressionError, compile_template

SCENARIO = "name: x\nactors:\n  alice: {}\nsteps:\n  - login: alice\n"


def test_absent_values_are_omitted_not_null():
    render = compile_template({"a": "{{ missing }}", "b": "{{ 'x' if flag }}", "c": {"d": "{{ nope }}"}, "e": {}})
    assert render({"flag": False}) == {"e": {}}


def test_native_values_and_text_mixing():
    render = compile_template({"n": "{{ n }}", "s": "id-{{ n }}", "m": "{{ m }}", "l": ["{{ n }}", "{{ gone }}"]})
    assert render({"n": 5, "m": {"k": [1]}}) == {"n": 5, "s": "id-5", "m": {"k": [1]}, "l": [5]}


@pytest.mark.parametrize("value", ['quo"te', "back\\slash", "emoji 😀", "עברית rtl", "new\nline", "x" * 10_000])
def test_any_value_round_trips(value):
    body = compile_template({"v": "{{ v }}", "w": "<{{ v }}>"})({"v": value})
    assert json.loads(json.dumps(body)) == {"v": value, "w": f"<{value}>"}


@pytest.mark.parametrize(
    "expression",
    [
        "{{ actor.__class__ }}",
        "{{ actor.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ actor.update({'x': 1}) }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
    ],
)
def test_the_sandbox_keeps_templates_away_from_python(expression):
    render = compile_template({"x": expression})
    try:
        result = render({"actor": {"a": 1}})
    except Exception as exc:
        assert "unsafe" in str(exc).lower() or "not a JSON value" in str(exc) or "undefined" in str(exc).lower()
    else:
        assert result in ({}, OMIT)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def test_a_user_folder_overrides_one_template(tmp_path: Path):
    write(tmp_path / "keycloak/templates/LOGOUT.json", '{"$extends": "_event", "details": {"custom": "yes"}}')
    registry = Registry([tmp_path])
    scenario = load_scenario_text(SCENARIO + "  - logout: alice\n")
    events = list(render_events(scenario, "keycloak", 1, registry=registry))
    assert events[-1].body["details"] == {"custom": "yes"}
    assert events[0].body["details"]["auth_method"] == "openid-connect"  # the rest is untouched


def test_a_user_folder_adds_a_vendor(tmp_path: Path, capsys):
    write(
        tmp_path / "acme-idp/catalog.yaml",
        "name: acme-idp\ntitle: Acme IdP\nevents:\n  signin: A user signed in.\nactions:\n  login: [signin]\n",
    )
    write(tmp_path / "acme-idp/templates/signin.json", '{"who": "{{ actor.email }}", "at": "{{ event.time_iso }}"}')
    scenario_file = tmp_path / "s.yaml"
    scenario_file.write_text(SCENARIO)
    assert (
        main(["render", str(scenario_file), "--vendor", "acme-idp", "--seed", "1", "--templates", str(tmp_path)]) == 0
    )
    record = json.loads(capsys.readouterr().out)
    assert record["type"] == "signin" and "@" in record["body"]["who"]


def test_a_broken_user_template_is_reported_with_its_file(tmp_path: Path):
    write(tmp_path / "keycloak/templates/LOGIN.json", '{"details": {"x": "{{ oops( }}"}')
    scenario = load_scenario_text(SCENARIO)
    with pytest.raises(VendorError) as info:
        list(render_events(scenario, "keycloak", 1, registry=Registry([tmp_path])))
    assert "LOGIN" in str(info.value)


def test_invalid_json_template_names_file_and_line(tmp_path: Path):
    write(tmp_path / "keycloak/templates/LOGIN.json", '{\n  "a": 1,\n}')
    scenario = load_scenario_text(SCENARIO)
    with pytest.raises(VendorError) as info:
        list(render_events(scenario, "keycloak", 1, registry=Registry([tmp_path])))
    assert "LOGIN.json:3:" in str(info.value)


def test_template_loops_are_reported(tmp_path: Path):
    write(tmp_path / "keycloak/templates/LOGIN.json", '{"$extends": "keycloak:LOGIN"}')
    with pytest.raises(VendorError, match="loop"):
        list(render_events(load_scenario_text(SCENARIO), "keycloak", 1, registry=Registry([tmp_path])))


def test_a_template_that_yields_a_non_json_value_is_refused(tmp_path: Path):
    write(tmp_path / "keycloak/templates/LOGIN.json", '{"x": "{{ actor.items() }}"}')
    with pytest.raises(VendorError, match="not a JSON value"):
        list(render_events(load_scenario_text(SCENARIO), "keycloak", 1, registry=Registry([tmp_path])))


def test_a_template_sends_null_one_way(tmp_path: Path):
    write(tmp_path / "keycloak/templates/LOGIN.json", '{"a": "$null", "b": "{{ actor.nothing or \'$null\' }}"}')
    events = render_events(load_scenario_text(SCENARIO), "keycloak", 1, registry=Registry([tmp_path]))
    assert next(e for e in events if e.type == "LOGIN").body == {"a": None, "b": None}
    write(tmp_path / "keycloak/templates/LOGIN.json", '{"$nulls": ["a"], "a": "{{ none }}"}')
    with pytest.raises(VendorError, match=r"LOGIN.*\$nulls is not supported: write a null as \"\$null\""):
        list(render_events(load_scenario_text(SCENARIO), "keycloak", 1, registry=Registry([tmp_path])))


def test_a_broken_user_catalog_is_reported_where(tmp_path: Path):
    write(tmp_path / "keycloak/catalog.yaml", "name: keycloak\nevents: {A: a}\nactions:\n  logn: [A]\n")
    with pytest.raises(VendorError) as info:
        Registry([tmp_path]).vendor("keycloak")
    assert "catalog.yaml:4:3: unknown action 'logn'; did you mean 'login'?" in str(info.value)


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("{{ {[1]: actor.username} }}", "unhashable"),
        ("{{ {'t': event.time} }}", "JSON cannot carry"),
        ("{{ [1e308 * 10] }}", "JSON cannot carry"),
    ],
)
def test_a_value_json_cannot_carry_is_a_message_not_a_traceback(tmp_path: Path, capsys, expression, words):
    write(tmp_path / "keycloak/templates/LOGIN.json", json.dumps({"$extends": "_event", "details": {"x": expression}}))
    (tmp_path / "s.yaml").write_text(SCENARIO)
    code = main(
        ["render", str(tmp_path / "s.yaml"), "--vendor", "keycloak", "--seed", "1", "--templates", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code != 0 and words in err and "Traceback" not in err


def test_no_payload_holds_a_number_json_cannot_carry():
    # the encoder trusts an event's nulls to be nulls (encoding.event_json): NaN and infinity are
    # refused where they would enter, in a template's constants, an expression's value or a raw
    # event's fields
    with pytest.raises(ExpressionError, match="nan is a number JSON cannot carry"):
        compile_template(json.loads('{"a": [1, NaN]}'))
    with pytest.raises(ExpressionError, match="JSON cannot carry"):
        compile_template({"a": "{{ params }}"})({"params": {"x": [float("inf")]}})
    with pytest.raises(ExpressionError, match="JSON cannot carry"):
        compile_template({"a": "{{ [1, x | float] }}"})({"x": "nan"})
    text = "name: x\nactors:\n  alice: {}\nsteps:\n  - emit: {vendor: clerk, type: user.deleted, actor: alice}\n"
    scenario = load_scenario_text(text, "x.yaml")  # which refuses NaN itself: a scenario made in Python
    scenario.steps[0].params["fields"] = {"data": {"n": float("nan")}}
    with pytest.raises(VendorError, match=r"x.yaml:5:\d+.*fields hold a number JSON cannot carry"):
        list(render_events(scenario, "clerk", 1))


def test_the_same_members_in_another_order_keep_their_order():
    first = compile_template({"v": {"b": "{{ actor.id }}", "a": "{{ actor.name }}"}})
    second = compile_template({"v": {"a": "{{ actor.name }}", "b": "{{ actor.id }}"}})
    ctx = {"actor": {"id": "1", "name": "n"}}
    assert list(first(ctx)["v"]) == ["b", "a"] and list(second(ctx)["v"]) == ["a", "b"]


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict | list):
        for value in node.values() if isinstance(node, dict) else node:
            yield from _strings(value)


def test_an_expressions_names_are_what_jinja_finds_in_its_text():
    """A part's names key its memo: the names read off the parsed expression must be the names
    Jinja2 finds in the whole ``{{ ... }}`` text, for every expression a bundled template has."""
    from emulator.vendors.templates import _EXPR, _names, _string

    root = Path(__file__).resolve().parents[1] / "emulator" / "vendors"
    checked = 0
    for path in root.glob("*/templates/*.json"):
        for text in _strings(json.loads(path.read_text("utf-8"))):
            if _EXPR.match(text):
                assert _string(text).names == _names(text), f"{path.name}: {text}"
                checked += 1
    for text in ("{{ actor }}", "{{ true }}", "{{ none or x.y }}", "{{ a[b] | default(c) }}", "{{ x(y) }}"):
        assert _string(text).names == _names(text), text
    assert checked > 500
