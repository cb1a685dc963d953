"""Vendor versions as data: a catalog lists releases, templates read ``features``, a run names a
release as ``vendor@version`` (or ``{name, version}``), and the same seed, version and start give
the same bytes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from emulator.delivery.targets import build_target, vendor_delivery
from emulator.errors import EmulatorError, VendorError
from emulator.render import render_events
from emulator.scenario.loader import load_scenario_text
from emulator.vendors.registry import Registry
from emulator.vendors.versions import vendor_spec

CATALOG = """
name: toy
title: Toy
type_format: "{type}"
event_ids: uuid4
versions:
  - {version: "1.0", doc: "first release"}
  - {version: "1.5", doc: "adds the shiny field", adds: [shiny], delivery: {retry: {attempts: 3}}}
  - {version: "2.0", doc: "adds the refreshed event", adds: [refreshed], confidence: inferred}
delivery:
  retry: {attempts: 1}
  timeouts: {connect: 1s, read: 1s}
events:
  logged.in: {doc: A login., source: a seed document, confidence: confirmed}
  refreshed: {doc: A refresh., source: https://example.com/docs, confidence: inferred, since: refreshed}
actions:
  login: [logged.in]
  refresh: [refreshed]
"""
SCENARIO = "name: s\nactors: {a: {}}\nsteps:\n  - login: a\n  - refresh: a\n"


@pytest.fixture
def toy(tmp_path: Path) -> Registry:
    folder = tmp_path / "toy"
    (folder / "templates").mkdir(parents=True)
    (folder / "catalog.yaml").write_text(CATALOG, "utf-8")
    template = {"id": "{{ event.id }}", "shiny": "{{ 'yes' if features.shiny }}", "v": "{{ version }}"}
    (folder / "templates" / "logged.in.json").write_text(json.dumps(template), "utf-8")
    (folder / "templates" / "refreshed.json").write_text(json.dumps({"id": "{{ event.id }}"}), "utf-8")
    return Registry([tmp_path])


def render(registry: Registry, vendor: str) -> list:
    return list(render_events(load_scenario_text(SCENARIO), vendor, 3, registry=registry))


def test_no_version_is_the_newest_release(toy: Registry) -> None:
    events = render(toy, "toy")
    assert [e.type for e in events] == ["logged.in", "refreshed"]
    assert events[0].body["shiny"] == "yes" and events[0].body["v"] == "2.0"
    assert events[0].vendor == "toy"


def test_an_older_release_lacks_what_came_later(toy: Registry) -> None:
    events = render(toy, "toy@1.0")
    assert [e.type for e in events] == ["logged.in"], "refreshed came with 2.0"
    assert "shiny" not in events[0].body
    assert events[0].vendor == "toy@1.0"
    assert toy.vendor("toy@1.0").event_types() == ["logged.in"]


def test_a_version_between_releases_behaves_like_the_older_one(toy: Registry) -> None:
    assert toy.vendor("toy@1.7").features == {"shiny": True, "refreshed": False}
    assert toy.vendor("toy@1").release.version == "1.5", "a prefix is the newest release it covers"


def test_versions_outside_the_known_range_are_refused(toy: Registry) -> None:
    for bad, words in (("toy@0.9", "older than any"), ("toy@3", "newer than any"), ("toy@x", "numbers with dots")):
        with pytest.raises(VendorError, match=words):
            toy.vendor(bad)


def test_same_seed_version_and_start_give_the_same_bytes(toy: Registry) -> None:
    first = [e.record() for e in render(toy, "toy@1.5")]
    again = [e.record() for e in render(Registry(toy.roots[:-1]), "toy@1.5")]
    assert first == again
    # ids follow the seed, not the version: one story's events keep their ids across releases
    assert render(toy, "toy@1.0")[0].id == render(toy, "toy")[0].id


def test_delivery_follows_the_release(toy: Registry) -> None:
    assert vendor_delivery(toy, "toy@1.0")["retry"] == {"attempts": 1}
    assert vendor_delivery(toy, "toy@1.5")["retry"] == {"attempts": 3}
    target = build_target({"name": "t", "url": "http://x.test/", "vendor": {"name": "toy", "version": "1.0"}}, toy)
    assert target.vendor == "toy@1.0" and target.retry.attempts == 1


def test_a_vendor_given_as_a_mapping_is_one_string() -> None:
    assert vendor_spec({"name": "fusionauth", "version": "1.45"}) == "fusionauth@1.45"
    assert vendor_spec({"name": "keycloak"}) == "keycloak"
    with pytest.raises(EmulatorError, match=r"1\.3"):
        vendor_spec({"name": "fusionauth", "version": 1.30})


def test_a_broken_versions_list_is_reported_where_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    (folder / "templates").mkdir(parents=True)
    broken = CATALOG.replace('version: "1.5"', "version: 1.5")
    (folder / "catalog.yaml").write_text(broken, "utf-8")
    with pytest.raises(VendorError, match="quote it") as caught:
        Registry([tmp_path]).vendor("toy")
    assert caught.value.location is not None and caught.value.location.line > 0


def test_unknown_since_feature_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    (folder / "templates").mkdir(parents=True)
    (folder / "catalog.yaml").write_text(CATALOG.replace("since: refreshed", "since: refreshd"), "utf-8")
    with pytest.raises(VendorError, match="not a feature"):
        Registry([tmp_path]).vendor("toy")


def test_the_catalog_lists_the_releases(toy: Registry) -> None:
    from emulator.vendors.overview import catalog_data

    data = catalog_data(toy, "toy")["vendors"][0]
    assert data["versions"]["default"] == "2.0"
    assert [r["version"] for r in data["versions"]["known"]] == ["1.0", "1.5", "2.0"]
    refreshed = next(e for e in data["event_types"] if e["type"] == "refreshed")
    assert refreshed["since"] == "2.0" and refreshed["confidence"] == "inferred"
    older = catalog_data(toy, "toy@1.0")["vendors"][0]
    assert [e["type"] for e in older["event_types"]] == ["logged.in"]


def test_emitting_a_type_the_release_lacks_emits_nothing_and_a_typo_is_named(toy: Registry) -> None:
    text = textwrap.dedent(
        """
        name: s
        actors: {a: {}}
        steps:
          - emit: {vendor: toy, type: refreshed, actor: a}
        """
    )
    assert list(render_events(load_scenario_text(text), "toy@1.0", 1, registry=toy)) == []
    assert len(list(render_events(load_scenario_text(text), "toy", 1, registry=toy))) == 1
    with pytest.raises(EmulatorError, match=r"toy@1\.0 event type"):
        list(render_events(load_scenario_text(text.replace("refreshed", "refreshd")), "toy@1.0", 1, registry=toy))


def test_emulator_yaml_names_a_release(tmp_path: Path) -> None:
    from emulator.delivery.config import ConfigError, load_config

    path = tmp_path / "emulator.yaml"
    path.write_text(
        "targets:\n  - {name: old, url: 'http://x.test/', vendor: {name: fusionauth, version: '1.45'}}\n"
        "  - {name: new, url: 'http://x.test/', vendor: keycloak@26.1}\n",
        "utf-8",
    )
    config = load_config(path)
    registry = Registry()
    old, new = (build_target(spec, registry, where=config.where(i)) for i, spec in enumerate(config.targets))
    assert (old.vendor, new.vendor) == ("fusionauth@1.45", "keycloak@26.1")
    assert old.signing.scheme == "none", "FusionAuth signs webhooks from 1.48"
    path.write_text("targets:\n  - {name: bad, url: 'http://x.test/', vendor: {name: fusionauth, version: 1.30}}\n")
    with pytest.raises(ConfigError):
        load_config(path)
