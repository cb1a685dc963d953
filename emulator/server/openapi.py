"""The OpenAPI 3.1 document of the API, made from the routes themselves so the two cannot differ."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from emulator import __version__
from emulator.delivery.config import config_schema
from emulator.delivery.tls import FILE_KEYS
from emulator.delivery.transactions import TYPES as TRANSACTION_TYPES
from emulator.server.routes import BOOLEANS, ORDERS, query_names
from emulator.store import DELIVERY_STATUSES
from emulator.vendors.registry import Registry

_PROBLEM = {
    "description": "a problem (RFC 9457)",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
_OK = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
_MOMENT: dict[str, Any] = {
    "description": "ISO 8601, or a duration ago such as 1h",
    "anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "string", "pattern": "^[0-9]{1,4}(ms|s|m|h|d)$"},
    ],
}
_PARAMS: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 500},
    "after": {"type": "integer", "minimum": 0, "maximum": 2**62 - 1},
    "before": {"type": "integer", "minimum": 0, "maximum": 2**62 - 1},
    "order": {"enum": list(ORDERS), "description": "newest: the newest first (pass 'next' as 'before')"},
    "examples": {"enum": list(BOOLEANS), "description": "false: descriptions only, no rendered examples"},
    "delivery": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999},
    "event": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999},
    "kind": {"enum": ["event", "attempt"]},
    "status": {"enum": list(DELIVERY_STATUSES)},
    "since": _MOMENT,
    "until": _MOMENT,
}
_BODIES: dict[str, dict[str, Any]] = {
    "/api/scenarios/{name}": {
        "type": "object",
        "required": ["yaml"],
        "properties": {"yaml": {"type": "string", "description": "scenario YAML"}},
    },
    "/api/validate": {
        "type": "object",
        "required": ["yaml"],
        "properties": {"yaml": {"type": "string", "description": "scenario YAML"}},
    },
    "/api/replay": {
        "type": "object",
        "properties": {  # null is the same as leaving a field out
            "since": {"anyOf": [*_MOMENT["anyOf"], {"type": "null"}]},
            "run": {"type": ["string", "null"]},
            "target": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
    "/api/targets": {"$ref": "#/components/schemas/NewTarget"},
    "/api/targets/{name}": {
        "type": "object",
        "description": "a JSON Merge Patch (RFC 7396) of a target: null removes a key, secrets left out stay",
    },
    "/api/targets/{name}/test": {
        "type": "object",
        "properties": {
            "type": {"type": ["string", "null"], "description": "an event type of the target's vendor"},
            "body": {"type": ["object", "null"], "description": "send this instead of the type's example"},
        },
    },
    "/api/runs": {
        "type": "object",
        "required": ["vendor"],
        "properties": {
            "scenario": {"type": "string", "description": "a bundled scenario's name (or give yaml)"},
            "yaml": {"type": "string", "description": "an inline scenario"},
            "vendor": {
                "description": "a vendor's name, one release of it (fusionauth@1.45), or {name, version}",
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
                    },
                ],
            },
            "targets": {
                "type": "array",
                "minItems": 1,
                "description": "URLs, saved targets' names or target objects (default: the vendor's saved targets)",
                "items": {"oneOf": [{"type": "string"}, {"type": "object"}]},
            },
            "seed": {"type": "integer"},
            "time_scale": {"type": "number", "minimum": 0, "maximum": 1000000},
            "transaction": {"enum": list(TRANSACTION_TYPES)},
            "set": {
                "type": "array",
                "items": {"type": "string"},
                "description": "overrides as --set takes them, [TYPE:]PATH=VALUE (VALUE: JSON or text), applied after"
                " rendering and before signing; one that matches nothing is a 422 naming the event type",
            },
            "unset": {
                "type": "array",
                "items": {"type": "string"},
                "description": "fields to remove, [TYPE:]PATH, as --unset takes them",
            },
        },
    },
}


def openapi(
    routes: list[tuple[str, str, Any]], vendors: Sequence[str] = (), registry: Registry | None = None
) -> dict[str, Any]:
    """The document; ``vendors`` (the names a target may give) make the target schema exact, and
    with ``registry`` every event type of those vendors is a webhook with its payload's schema."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, handler in routes:
        operation: dict[str, Any] = {
            "operationId": handler.__name__,
            "summary": (handler.__doc__ or handler.__name__.replace("_", " ")).strip().splitlines()[0],
            "responses": {
                "200": _OK,
                "201": _OK,
                "202": _OK,
                "400": _PROBLEM,
                "401": _PROBLEM,
                "404": _PROBLEM,
                "409": _PROBLEM,
                "413": _PROBLEM,
                "422": _PROBLEM,
            },
        }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": _PARAMS.get(name, {"type": "string"})}
            for name in re.findall(r"{(\w+)}", path)
        ]
        known = {**_PARAMS, "vendor": {"enum": list(vendors)}} if vendors else _PARAMS
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": known.get(name, {"type": "string"})}
            for name in query_names().get(path, ())
        ]
        if parameters:
            operation["parameters"] = parameters
        bodies = {**_BODIES, **_directory_bodies()}
        if path in bodies and method in ("POST", "PUT", "PATCH"):
            schema = bodies[path]
            needed = bool(schema.get("required")) or method == "PATCH"
            operation["requestBody"] = {"required": needed, "content": {"application/json": {"schema": schema}}}
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "idp-emulator",
            "version": __version__,
            "description": "Play identity-provider scenarios and deliver each vendor's webhooks.",
        },
        "paths": paths,
        "webhooks": webhooks(registry, vendors) if registry is not None else {},
        "components": {
            "schemas": {
                **_config_schemas(vendors),
                "Problem": {
                    "type": "object",
                    "required": ["title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "field": {"type": "string"},
                    },
                },
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _directory_bodies() -> dict[str, dict[str, Any]]:
    """The live IdP's clients and users: created in emulator.yaml's form; replaced in the same form, the
    path naming the entry (so the body need not)."""
    from emulator.oidc.clients import KINDS

    bodies: dict[str, dict[str, Any]] = {}
    for kind, (key, _) in KINDS.items():
        bodies[f"/api/{kind}s"] = {"$ref": f"#/components/schemas/{kind}"}
        whole = json.loads(json.dumps(config_schema()["$defs"][kind]).replace('"#/$defs/', '"#/components/schemas/'))
        whole["required"] = [name for name in whole.get("required", []) if name != key]
        bodies[f"/api/{kind}s/{{{kind}}}"] = whole
    return bodies


def webhooks(registry: Registry, vendors: Sequence[str]) -> dict[str, Any]:
    """``VENDOR:TYPE``: what the emulator POSTs to a target for that event type (vendors/schema.py)."""
    from emulator.vendors.schema import event_schemas

    found: dict[str, Any] = {}
    for name in vendors:
        vendor = registry.vendor(name)
        for event_type, schema in event_schemas(vendor).items():
            body = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
            found[f"{name}:{event_type}"] = {
                "post": {
                    "summary": f"{vendor.catalog.title} {event_type}",
                    **({"description": schema["description"]} if "description" in schema else {}),
                    "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                    "responses": {"2XX": {"description": "the consumer took the event"}},
                }
            }
    return found


def _config_schemas(vendors: Sequence[str]) -> dict[str, Any]:
    """emulator.yaml's target schema (the API takes targets in the same form), and NewTarget."""
    text = json.dumps(config_schema()["$defs"]).replace('"#/$defs/', '"#/components/schemas/')
    schemas: dict[str, Any] = json.loads(text)
    tls = schemas["tls"]  # files on the server's machine are named only in --config (see server/targets.py)
    tls["properties"] = {k: v for k, v in tls["properties"].items() if k not in FILE_KEYS}
    tls.pop("dependentRequired", None)
    tls["description"] = (
        "TLS for an https:// URL. Through the API only verify (false: for development servers ONLY);"
        f" {', '.join(FILE_KEYS)} name files on the server's machine and are accepted only in the --config file."
    )
    new = json.loads(json.dumps(schemas["target"]))
    new["required"] = ["name", "url", "vendor"]
    if vendors:
        names = "|".join(re.escape(v) for v in vendors)
        given = new["properties"]["vendor"]
        named, versioned = given["oneOf"]
        named = {**named, "pattern": f"^({names})(@\\d+(\\.\\d+)*)?$"}
        versioned = json.loads(json.dumps(versioned))
        versioned["properties"]["name"] = {"enum": list(vendors)}
        new["properties"]["vendor"] = {"description": given["description"], "oneOf": [named, versioned]}
    schemas["NewTarget"] = new
    return schemas
