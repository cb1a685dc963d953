"""The catalog's example payloads: one per event type, and each really is of that type."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from emulator.testing.wire import read, type_matches
from emulator.vendors.examples import examples
from emulator.vendors.overview import catalog_data
from emulator.vendors.registry import Registry


def claims_wire(wire: dict[str, Any]) -> dict[str, Any]:
    """The catalog's wire for a rendered body: a vendor that sends it as a signed JWT (``body: jwt``)
    renders the JWT's claims, which a consumer reads as JSON once it has opened the token."""
    return {k: v for k, v in wire.items() if k != "body"}


@pytest.mark.parametrize("vendor", Registry().names)  # every vendor, a new one too
def test_every_event_type_has_an_example_that_a_consumer_reads_as_that_type(registry, vendor):
    catalog = registry.vendor(vendor).catalog
    shown = examples(registry, vendor)
    assert list(shown) == [*catalog.all_types(), *catalog.raw_types]
    for event_type, event in shown.items():
        reading = read(json.dumps(event.body).encode(), claims_wire(catalog.wire))
        assert type_matches(event_type, reading.types, catalog.wire), (event_type, reading.types)
        if event_type in catalog.raw_types and reading.id is None:
            # a raw type is its envelope and the scenario's fields: an envelope without an id (Clerk's:
            # consumers dedupe on the svix-id header) gives it none until the fields do
            continue
        # the id a consumer dedupes on, where the catalog's wire says: the event's own (most vendors), or
        # the vendor's other one (Clerk's resource id, Okta's System Log uuid, WorkOS's ULID, Auth0's evt_)
        assert reading.id, f"{vendor} {event_type}: no id at {catalog.wire.get('id')}"
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
