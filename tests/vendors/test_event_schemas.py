"""`catalog --schema`: every event type's JSON Schema accepts every bundled render of its vendor and
rejects a render that lost a field it always has or carries one of another type; the OpenAPI
document lists the same schemas as webhooks. The vendors come from the registry, so a new vendor
folder is covered as soon as it lands; the renders are the reviewed golden files (test_golden.py
keeps them equal to what the templates render now)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from conftest import scenario_names, vendor_names
from jsonschema import Draft202012Validator, FormatChecker

from emulator.cli import main

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CHECKER = FormatChecker()


@cache
def printed(spec: str) -> Any:
    """What `idp-emulator catalog --schema SPEC` prints (the command itself, run in process)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["catalog", "--schema", spec]) == 0
    return json.loads(out.getvalue())


def renders(vendor: str) -> list[dict[str, Any]]:
    return [r for s in scenario_names() for r in json.loads((GOLDEN / vendor / f"{s}.json").read_text("utf-8"))]


def validators(vendor: str) -> dict[str, Draft202012Validator]:
    return {t: Draft202012Validator(s, format_checker=CHECKER) for t, s in printed(vendor).items()}


@pytest.mark.parametrize("vendor", vendor_names())
def test_every_bundled_render_validates_against_its_types_schema(vendor):
    schemas = printed(vendor)
    for schema in schemas.values():
        jsonschema_rs.meta.validate(schema)  # a valid 2020-12 schema (the Rust validator: 100x faster here)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    checks = validators(vendor)
    records = renders(vendor)
    assert records
    for record in records:
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in checks[record["type"]].iter_errors(record["body"])]
        assert not problems, f"{vendor} {record['type']} ({record['action']}): {problems[:3]}"


def _retyped(value: Any) -> Any:
    return 12345 if isinstance(value, str) else "retyped"


@pytest.mark.parametrize("vendor", vendor_names())
def test_a_render_without_a_required_field_or_with_a_field_retyped_is_rejected(vendor):
    schemas = printed(vendor)
    checks = validators(vendor)
    seen: dict[str, dict[str, Any]] = {}
    for record in renders(vendor):
        seen.setdefault(record["type"], record["body"])
    assert seen
    for event_type, body in seen.items():
        required = schemas[event_type].get("required", [])
        assert required, f"{vendor} {event_type}: no field is required"
        for field in required:
            removed = {k: v for k, v in body.items() if k != field}
            assert not checks[event_type].is_valid(removed), f"{vendor} {event_type} without {field!r} passes"
            retyped = copy.deepcopy(body)
            retyped[field] = _retyped(body[field])
            assert not checks[event_type].is_valid(retyped), f"{vendor} {event_type} with {field!r} retyped passes"


def test_one_type_and_the_types_of_one_release():
    every = printed("strivacity")
    assert printed("strivacity:failure:login") == every["failure:login"]  # a type may hold ':'
    assert every["success:login"]["properties"]["labels"]["items"] == {
        "enum": ["success:registration", "success:login"]  # the catalog's with: and the event's own type
    }
    assert set(printed("keycloak@25.0")) <= set(printed("keycloak"))


def test_what_the_schema_says_follows_the_template_and_the_catalog():
    login = printed("fusionauth:user.login.failed")
    event = login["properties"]["event"]
    assert event["properties"]["type"] == {"const": "user.login.failed"}
    assert "id" in event["required"] and event["properties"]["id"]["type"] == "string"
    assert login["x-confidence"] in ("confirmed", "inferred", "unverified") and login["x-source"]


@pytest.mark.parametrize(
    ("spec", "says"),
    [("nosuch", "unknown vendor 'nosuch'"), ("keycloak:LOGN", "unknown keycloak event type 'LOGN'")],
)
def test_an_unknown_vendor_or_type_is_named(spec, says, capsys):
    assert main(["catalog", "--schema", spec]) == 1
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


async def test_the_openapi_document_lists_every_event_type_as_a_webhook(api):
    doc = await (await api.get("/api/openapi.json")).json()
    hooks = doc["webhooks"]
    for vendor in vendor_names():
        for event_type, schema in printed(vendor).items():
            post = hooks[f"{vendor}:{event_type}"]["post"]
            body = post["requestBody"]["content"]["application/json"]["schema"]
            assert body == {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
    assert len(hooks) == sum(len(printed(v)) for v in vendor_names())
