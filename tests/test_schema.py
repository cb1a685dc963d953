"""The shipped JSON Schema is the one the vocabulary generates, and it agrees with the loader."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
import yaml
from conftest import scenario_names

from emulator.scenario.bundled import resolve_scenario
from emulator.scenario.schema import scenario_schema


def shipped() -> dict:
    return json.loads(resources.files("emulator.scenario").joinpath("scenario.schema.json").read_text("utf-8"))


def test_the_shipped_schema_is_up_to_date():
    assert shipped() == scenario_schema(), "run: idp-emulator schema -o emulator/scenario/scenario.schema.json"


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(shipped())


@pytest.mark.parametrize("name", scenario_names())
def test_bundled_scenarios_satisfy_the_schema(name):
    data = yaml.safe_load(resolve_scenario(name).read_text("utf-8"))
    jsonschema.validate(data, shipped())


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "x", "steps": [{"logn": {"actor": "a"}}]},
        {"name": "x", "steps": [{"login": {"actor": "a", "error": "nope"}}]},
        {"name": "x", "steps": [{"wait": "-5s"}]},
        {"name": "x", "steps": [{"login": {"actor": "a", "hint": "yes"}}]},
        {"name": "x", "steps": []},
        {"steps": [{"wait": "1s"}]},
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, shipped())
