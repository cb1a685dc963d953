"""A source behind every event: each catalog event type and each delivery fact names where its shape
comes from and how sure that is; the catalog command, its JSON, the API and the README show it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import vendor_names

from emulator.cli import main
from emulator.vendors.overview import catalog_data, confidence_counts
from emulator.vendors.registry import Registry
from emulator.vendors.versions import CONFIDENCE

README = Path(__file__).resolve().parents[2] / "README.md"
FACTS = ("signing", "retries", "timeouts")


@pytest.mark.parametrize("vendor", vendor_names())
def test_every_event_type_has_a_source_and_a_confidence(vendor: str) -> None:
    catalog = Registry().vendor(vendor).catalog
    for event in catalog.events.values():
        assert event.source, f"{vendor} {event.name}: no source"
        assert event.confidence in CONFIDENCE, f"{vendor} {event.name}: no confidence"
    if catalog.raw_types:
        assert catalog.raw_source and catalog.raw_confidence in CONFIDENCE, f"{vendor}: raw types without a source"


@pytest.mark.parametrize("vendor", vendor_names())
def test_every_delivery_fact_has_a_source_and_a_confidence(vendor: str) -> None:
    data = catalog_data(Registry(), vendor)["vendors"][0]
    facts = data["delivery_sources"]
    assert set(FACTS) <= set(facts), f"{vendor}: delivery facts {sorted(facts)}"
    for name in FACTS:
        assert facts[name]["source"] and facts[name]["confidence"] in CONFIDENCE, (vendor, name)


def test_catalog_json_and_text_carry_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--json", "--vendor", "fusionauth"]) == 0
    data = json.loads(capsys.readouterr().out)
    [vendor] = data["vendors"]
    login = next(e for e in vendor["event_types"] if e["type"] == "user.login.success")
    assert login["confidence"] == "confirmed" and any("seed document" in s for s in login["source"])
    assert vendor["versions"]["default"] and vendor["delivery_sources"]["retries"]["confidence"]
    assert vendor["delivery"]["retries"], "and what the retries are, in words"
    assert main(["catalog", "--vendor", "keycloak"]) == 0
    text = capsys.readouterr().out
    assert "where each shape comes from" in text and "confirmed:" in text and "keycloak@VERSION" in text


def test_a_release_can_be_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--json", "--vendor", "fusionauth@1.45"]) == 0
    [vendor] = json.loads(capsys.readouterr().out)["vendors"]
    types = {e["type"] for e in vendor["event_types"]}
    assert "user.identity.verified" not in types and "user.login.success" in types
    assert vendor["version"] == "1.45"


def test_the_readme_table_matches_the_catalogs() -> None:
    """README's per-vendor table of confidence counts is what the catalogs say."""
    text = README.read_text("utf-8")
    registry = Registry()
    for vendor in registry.names:
        counts = confidence_counts(catalog_data(registry, vendor)["vendors"][0])
        row = re.search(rf"^\| {vendor} \|(.*)$", text, re.M)
        assert row, f"README has no sources row for {vendor}"
        cells = [c.strip() for c in row.group(1).split("|")]
        assert cells[:3] == [str(counts[c]) for c in CONFIDENCE], (vendor, cells[:3], counts)
