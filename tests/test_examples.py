"""The catalog's example payloads: one per event type, and each really is of that type."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from emulator.testing.wire import read, type_matches
from emulator.vendors.examples import examples
from emulator.vendors.overview import catalog_data


@pytest.mark.parametrize("vendor", ["flip", "fusionauth", "idaas", "keycloak", "strivacity"])
def test_every_event_type_has_an_example_that_a_consumer_reads_as_that_type(registry, vendor):
    catalog = registry.vendor(vendor).catalog
    shown = examples(registry, vendor)
    assert list(shown) == [*catalog.all_types(), *catalog.raw_types]
    for event_type, event in shown.items():
        reading = read(json.dumps(event.body).encode(), catalog.wire)
        assert type_matches(event_type, reading.types, catalog.wire), (event_type, reading.types)
        assert reading.id == event.id
    assert examples(registry, vendor) is shown  # rendered once


def test_error_types_show_an_error(registry):
    login_error = examples(registry, "keycloak")["LOGIN_ERROR"].body
    assert login_error["error"]
    data = catalog_data(registry, "keycloak", with_examples=True)
    by_type = {e["type"]: e for e in data["vendors"][0]["event_types"]}
    assert by_type["LOGIN_ERROR"]["example"] == login_error
    assert "example" not in catalog_data(registry, "keycloak")["vendors"][0]["event_types"][0]


def test_catalog_command_prints_examples():
    out = subprocess.run(
        [sys.executable, "-m", "emulator", "catalog", "--vendor", "idaas", "--examples"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "example authentication.failed:" in out
    assert json.loads(out.split("example authentication.failed:\n", 1)[1].split("\n\n", 1)[0])
