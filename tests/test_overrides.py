"""Overrides (--set, --unset): one module (emulator/overrides.py), read by render, run, the API and the fixture.

Each error is checked in each of the four places: a malformed override, a path that matches nothing
(the message names the event type), a type filter naming no event type of the vendor, and one naming
a type no event of the run has. None is ever ignored.
"""

from __future__ import annotations

import json

import pytest

from emulator.cli import main
from emulator.errors import OverrideError
from emulator.overrides import parse_override, parse_overrides, parse_path
from emulator.render import load, render_events

# (override kind, text, words the message must carry)
ERRORS = [
    ("set", "details.usrname=x", ["matches nothing in LOGIN", "'usrname'", "did you mean 'username'"]),
    ("unset", "LOGIN:details.nothing", ["matches nothing in LOGIN", "'nothing'"]),
    ("set", "LOGN:details.username=x", ["no event type 'LOGN'", "did you mean 'LOGIN'"]),
    ("set", "LOGIN_ERROR:details.username=x", ["no event of this run has the type 'LOGIN_ERROR'"]),
    ("set", "details.username", ["expected [TYPE:]PATH=VALUE"]),
    ("set", "details..username=x", ["empty part"]),
]


def test_paths_values_and_type_filters():
    assert parse_path("data.events[0].outcome.result", "x") == ("data", "events", 0, "outcome", "result")
    assert parse_path('a["b.c"][-1].0', "x") == ("a", "b.c", -1, "0")
    one = parse_override("set", "success:login:actor.userName=x@example.com")
    assert (one.types, one.path, one.value) == ("success:login", ("actor", "userName"), "x@example.com")
    assert parse_override("set", 'a={"b": [1, null]}').value == {"b": [1, None]}
    assert parse_override("set", "a=42").value == 42 and parse_override("set", 'a="42"').value == "42"
    assert parse_override("unset", "a.b").types is None
    # NaN and Infinity are not JSON (an event never holds them): the text as written
    assert (
        parse_override("set", "a=NaN").value == "NaN"
        and parse_override("set", "a=[1, -Infinity]").value == "[1, -Infinity]"
    )


def test_applied_after_rendering_without_touching_shared_parts():
    scenario = load("login")
    plain = list(render_events(scenario, "keycloak", 1))
    overrides = parse_overrides(
        ["LOGIN:details.username=zed", "authDetails.ipAddress=null", 'LOG*:details={"a": 1}'], ["CODE_TO_TOKEN:uid"]
    )
    changed = list(render_events(scenario, "keycloak", 1, overrides=overrides))
    again = list(render_events(scenario, "keycloak", 1))
    assert [e.body for e in plain] == [e.body for e in again]  # the rendered parts were not changed in place
    by_type = {e.type: e.body for e in changed}
    assert by_type["LOGIN"]["details"] == {"a": 1}  # LOG* applies after LOGIN's own set
    assert by_type["LOGOUT"]["details"] == {"a": 1}
    assert all(e.body["authDetails"]["ipAddress"] is None for e in changed)
    assert "uid" not in by_type["CODE_TO_TOKEN"] and "uid" in by_type["LOGIN"]
    items = parse_overrides(["labels[0]=first"], ["labels[-1]"])
    body = next(e.body for e in render_events(load("registration"), "strivacity", 1, overrides=items))
    assert body["labels"][0] == "first"


def test_a_path_through_a_value_or_past_a_list_names_the_event_type():
    scenario = load("login")
    for text, words in [("id.x=1", "id is text"), ("authDetails[3]=1", "authDetails"), ("time.a=1", "time is int")]:
        with pytest.raises(OverrideError, match="matches nothing in LOGIN") as caught:
            list(render_events(scenario, "keycloak", 1, overrides=parse_overrides([text])))
        assert words in str(caught.value)


@pytest.mark.parametrize(("kind", "text", "words"), ERRORS)
def test_render_reports_each_error(kind, text, words, capsys):
    assert main(["render", "login", "--vendor", "keycloak", "--seed", "1", f"--{kind}", text]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --") and "Traceback" not in err
    assert all(w in err for w in words), err


def test_render_applies_them(capsys):
    assert main(["render", "login", "--vendor", "keycloak", "--seed", "1", "--body-only"]) == 0
    plain = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    args = ["--set", "LOGIN:details.username=zed", "--unset", "CODE_TO_TOKEN:details.scope"]
    assert main(["render", "login", "--vendor", "keycloak", "--seed", "1", "--body-only", *args]) == 0
    bodies = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert bodies[0]["details"]["username"] == "zed" and plain[0]["details"]["username"] != "zed"
    assert "scope" in plain[1]["details"] and "scope" not in bodies[1]["details"]
    assert bodies[2] == plain[2]


@pytest.mark.parametrize(("kind", "text", "words"), ERRORS)
def test_run_reports_each_error_before_anything_is_sent(kind, text, words, capsys):
    # port 9 (discard) never answers: the run must stop before its first attempt
    argv = ["run", "login", "--vendor", "keycloak", "--target", "http://127.0.0.1:9/", "--db", ":memory:"]
    assert main([*argv, "--seed", "1", f"--{kind}", text]) == 1
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    assert "attempt" not in err


@pytest.mark.parametrize(("kind", "text", "words"), ERRORS)
async def test_the_api_refuses_each_error_with_a_problem(api, kind, text, words):
    body = {"action": "login", "vendor": "keycloak", "targets": ["http://127.0.0.1:9/"], "seed": 1, kind: [text]}
    for path in ("/api/trigger", "/api/runs"):
        data = {**body, "scenario": "login"} if path == "/api/runs" else body
        if path == "/api/runs":
            data.pop("action")
        response = await api.post(path, json=data)
        problem = await response.json()
        assert response.status == 422, problem
        assert problem["field"] == kind and all(w in problem["detail"] for w in words), problem
    assert api.service.store.runs(10) == []  # nothing was started
    response = await api.post("/api/trigger", json={**body, kind: "a=1"})
    assert response.status == 422 and (await response.json())["field"] == kind


@pytest.mark.parametrize(("kind", "text", "words"), ERRORS)
def test_the_fixture_reports_each_error(in_process, kind, text, words):
    with pytest.raises(OverrideError) as caught:
        in_process.trigger("login", "keycloak", "http://127.0.0.1:9/", **{kind: text})
    assert all(w in str(caught.value) for w in words), caught.value


def test_the_fixture_signs_the_overridden_body(in_process, receiver):
    receiver.expect("keycloak", "override-secret")
    result = in_process.trigger(
        "login", "keycloak", receiver, set=["LOGIN:details.username=zed"], unset="CODE_TO_TOKEN:details.scope"
    )
    assert result.ok
    login = receiver.wait_for(1, type="LOGIN")[0]
    assert login.verdict.ok is True and json.loads(login.body)["details"]["username"] == "zed"
    stored = in_process.store.run(result.summary.run)["options"]["overrides"]
    assert stored == {"set": ["LOGIN:details.username=zed"], "unset": ["CODE_TO_TOKEN:details.scope"]}
