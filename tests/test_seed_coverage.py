"""Every event type, error code, block and outcome in the seed documents appears in the output
of the bundled scenarios for its vendor. The lists are read from the seed documents."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from conftest import SEEDS, SHARED_SEEDS, flip_seed_lists, scenario_names, seed_text

import emulator.vendors
from emulator.render import load, render_events
from emulator.vendors.registry import Registry


@cache
def bundled_output(vendor: str) -> list[dict]:
    registry = Registry()
    records = []
    for name in scenario_names():
        records.extend(e.record() for e in render_events(load(name), vendor, seed=11, registry=registry))
    return records


def test_seed_copies_match_the_originals():
    """tests/seeds holds verbatim copies; where the originals sit beside the checkout, they agree."""
    copies = sorted(p.name for p in SEEDS.glob("*.txt"))
    assert len(copies) == 4
    if SHARED_SEEDS.is_dir():
        for original in SHARED_SEEDS.glob("*.txt"):
            assert (SEEDS / original.name).read_text("utf-8") == original.read_text("utf-8"), original.name


def test_flip_seed_lists_are_parsed():
    types, errors = flip_seed_lists()
    assert len(types) == 21 and "LOGIN_USERNAME_PASSWORD" in types
    assert len(errors) == 22 and "Failed to verify login action" in errors


def test_every_flip_event_type_and_its_error_variant_appears():
    types, _ = flip_seed_lists()
    seen = {r["type"] for r in bundled_output("flip")}
    missing = [t for t in types if t not in seen]
    assert not missing, f"flip event types never emitted by the bundled scenarios: {missing}"
    missing_errors = [t + "_ERROR" for t in types if t + "_ERROR" not in seen]
    assert not missing_errors, f"flip _ERROR variants never emitted: {missing_errors}"


def test_every_flip_error_code_appears():
    _, errors = flip_seed_lists()
    seen = {r["body"].get("error") for r in bundled_output("flip")}
    missing = [e for e in errors if e not in seen]
    assert not missing, f"flip error codes never emitted: {missing}"


def test_the_fusionauth_seed_event_type_and_authentication_types_appear():
    text = seed_text("fusionauth-user-login-success.txt")
    event_type = re.search(r"Event type\s*([a-z.]+)", text).group(1)
    records = [r for r in bundled_output("fusionauth") if r["type"] == event_type]
    assert records, f"{event_type} never emitted"
    for r in records:
        assert r["body"]["event"]["type"] == event_type


def test_the_idaas_seed_event_types_appear():
    text = seed_text("idaas-authentication-events.txt")
    documented = sorted(set(re.findall(r"^(authentication\.[a-z]+)$", text, re.M)))
    assert documented == ["authentication.failed", "authentication.succeeded"]
    seen = {r["type"] for r in bundled_output("idaas")}
    assert set(documented) <= seen


def strivacity_seed() -> tuple[set[str], dict[str, set[str]]]:
    """Labels and block -> outcome codes from Strivacity's "Registration and login" document."""
    text = seed_text("strivacity-registration-and-login.txt")
    labels = set(re.findall(r"((?:success|failure):[a-z_]+)", text))
    blocks_part = text.split("Blocks", 1)[1].split("External login provider metadata", 1)[0]
    blocks: dict[str, set[str]] = {}
    current = None
    for line in blocks_part.splitlines():
        block = re.search(r"\((\w+)\)(?!.*\(\w+\))", line) if not line.strip().startswith("•") else None
        if block and not line.startswith(" "):
            current = block.group(1)
            blocks[current] = set()
            continue
        outcome = re.match(r"\s*•\s*[^()]+\((\w+)\)\s*$", line)
        if outcome and current:
            blocks[current].add(outcome.group(1))
    return labels, blocks


def test_strivacity_seed_is_parsed():
    labels, blocks = strivacity_seed()
    assert labels == {f"{o}:{e}" for o in ("success", "failure") for e in ("login", "logout", "registration")}
    assert len(blocks) == 8
    assert blocks["externalLoginProvider"] == {
        "accountAlreadyExists",
        "created",
        "emailMismatch",
        "failed",
        "identified",
        "rejected",
    }


def _blocks_in(record: dict) -> set[tuple[str, str]]:
    found = set()
    for action in record["body"].get("actions", []):
        for detail in action.get("details", []):
            found.add((detail.get("name"), detail.get("outcome")))
    return found


def test_every_strivacity_label_block_and_outcome_appears():
    labels, blocks = strivacity_seed()
    records = bundled_output("strivacity")
    seen_labels = {label for r in records for label in r["body"].get("labels", [])}
    assert labels <= seen_labels, f"labels never emitted: {sorted(labels - seen_labels)}"
    seen = set().union(*(_blocks_in(r) for r in records))
    expected = {(b, o) for b, outcomes in blocks.items() for o in outcomes}
    assert expected <= seen, f"block/outcome pairs never emitted: {sorted(expected - seen)}"


def _declared_nulls(vendor: str) -> set[str]:
    """The members a vendor's templates send as null: a value that is, or may be, "$null"."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            # a member whose value is, or may be, "$null" (Clerk, Okta, WorkOS)
            found.update(k for k, v in node.items() if isinstance(v, str) and "$null" in v)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in (Path(emulator.vendors.__file__).parent / vendor / "templates").glob("*.json"):
        walk(json.loads(path.read_text("utf-8")))
    return found


def test_bundled_output_is_json_with_no_nulls():
    """Vendors omit an absent field; a null is sent only where the vendor's templates say it writes one."""
    for vendor in Registry().names:
        allowed = _declared_nulls(vendor)

        def nulls(node, key=""):
            if node is None:
                yield key
            elif isinstance(node, dict):
                for k, v in node.items():
                    yield from nulls(v, k)
            elif isinstance(node, list):
                for v in node:
                    yield from nulls(v, key)

        for record in bundled_output(vendor):
            json.dumps(record, allow_nan=False)
            stray = set(nulls(record["body"])) - allowed
            assert not stray, (vendor, record["type"], stray)
