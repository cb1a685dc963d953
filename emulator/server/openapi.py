"""The OpenAPI 3.1 document of the API, made from the routes themselves so the two cannot differ."""

from __future__ import annotations

import re
from typing import Any

from emulator import __version__

_PROBLEM = {
    "description": "a problem (RFC 9457)",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
_OK = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
_QUERY = {
    "/api/events": [
        "run",
        "type",
        "actor",
        "user",
        "error",
        "ip",
        "client",
        "vendor",
        "since",
        "until",
        "limit",
        "after",
    ],
    "/api/deliveries": ["run", "status", "target", "limit", "after"],
    "/api/stream": ["run", "type", "kind"],
}
_PARAMS: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 500},
    "after": {"type": "integer", "minimum": 0, "maximum": 2**62 - 1},
    "delivery": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999},
    "kind": {"enum": ["event", "attempt"]},
    "since": {"type": "string", "format": "date-time"},
    "until": {"type": "string", "format": "date-time"},
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
    "/api/runs": {
        "type": "object",
        "required": ["vendor", "targets"],
        "properties": {
            "scenario": {"type": "string", "description": "a bundled scenario's name (or give yaml)"},
            "yaml": {"type": "string", "description": "an inline scenario"},
            "vendor": {"type": "string"},
            "targets": {"type": "array", "minItems": 1, "items": {"oneOf": [{"type": "string"}, {"type": "object"}]}},
            "seed": {"type": "integer"},
            "time_scale": {"type": "number", "minimum": 0, "maximum": 1000000},
            "transaction": {"enum": ["None", "Any", "SimpleMajority", "SuperMajority", "AbsoluteMajority"]},
        },
    },
}


def openapi(routes: list[tuple[str, str, Any]]) -> dict[str, Any]:
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
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": _PARAMS.get(name, {"type": "string"})}
            for name in _QUERY.get(path, [])
        ]
        if parameters:
            operation["parameters"] = parameters
        if path in _BODIES and method in ("POST", "PUT"):
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _BODIES[path]}}}
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "idp-emulator",
            "version": __version__,
            "description": "Play identity-provider scenarios and deliver each vendor's webhooks.",
        },
        "paths": paths,
        "components": {
            "schemas": {
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
                }
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
