"""Every event type and error code has a description a person can read (the console shows it on
hover), and Flip's are Flip's own words, from its Authentication Events document."""

from __future__ import annotations

import re

import pytest
from conftest import seed_text, vendor_names

from emulator.vendors.overview import catalog_data
from emulator.vendors.registry import Registry


def flip_seed_descriptions() -> tuple[dict[str, str], dict[str, str]]:
    """Event type -> description and error code -> description, as the seed document writes them."""
    text = seed_text("flip-authentication-events.txt")
    types_part = text.split("Event Types", 1)[1].split("Error Codes", 1)[0]
    errors_part = text.split("Error Codes", 1)[1].split("Was this article helpful", 1)[0]
    types = dict(re.findall(r"^([A-Z][A-Z_]+[A-Z]) ([A-Z].*)$", types_part, re.M))
    errors = dict(re.findall(r"^([a-z]+(?:_[a-z]+)+) (.*)$", errors_part, re.M))
    action = "Failed to verify login action"
    errors[action] = next(line for line in errors_part.splitlines() if line.startswith(action))[len(action) + 1 :]
    return types, errors


def test_flip_describes_each_type_and_code_in_the_seeds_words():
    types, errors = flip_seed_descriptions()
    assert len(types) == 21 and len(errors) == 22
    data = catalog_data(Registry(), "flip")["vendors"][0]
    docs = {e["type"]: e["doc"] for e in data["event_types"]}
    assert {t: docs[t] for t in types} == types
    assert all(docs[f"{t}_ERROR"] == types[t] for t in types)  # an error event is described by its event
    failures = {e["type"] for e in data["event_types"] if e.get("failure")}
    assert failures == {f"{t}_ERROR" for t in types}
    described = {entry["code"]: entry["doc"] for entry in data["error_codes"].values()}
    assert {code: described[code] for code in errors} == errors
    assert data["error_codes"]["failed_to_verify_login_action"] == {
        "code": "Failed to verify login action",
        "doc": "Failed to verify login action",
    }


@pytest.mark.parametrize("vendor", vendor_names())
def test_every_type_and_neutral_error_code_is_described(vendor):
    data = catalog_data(Registry(), vendor)
    entry = data["vendors"][0]
    assert all(e["doc"] for e in entry["event_types"]), [e["type"] for e in entry["event_types"] if not e["doc"]]
    assert set(entry["error_codes"]) == set(data["errors"])  # every neutral code the scenarios may write
    assert all(e["code"] and e["doc"] for e in entry["error_codes"].values())
