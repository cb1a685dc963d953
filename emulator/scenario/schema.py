"""The JSON Schema for scenario files, generated from the vocabulary (so it cannot drift).

``scenario.schema.json`` next to this module is this function's output; a test keeps it in
step. Point an editor's YAML language server at it for completion and checks.
"""

from __future__ import annotations

from typing import Any

from emulator.delivery.faults import fault_schema
from emulator.delivery.transactions import TYPES as TRANSACTION_TYPES
from emulator.delivery.transactions import TYPES_DOC as TRANSACTION_DOC
from emulator.scenario.durations import MAX_SECONDS
from emulator.scenario.loader import MAX_REPEAT
from emulator.scenario.vocabulary import Param, locales, vocabulary

DURATION = {
    "oneOf": [
        {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?\s*(ms|s|m|h|d)\s*)+$"},
        {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
    ]
}
LOCKOUT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"failures": {"type": "integer", "minimum": 1, "maximum": 1000}, "duration": DURATION},
    "required": ["failures"],
}


def _param(p: Param, errors: list[str]) -> dict[str, Any]:
    schema: dict[str, Any]
    if p.type == "bool":
        schema = {"type": "boolean"}
    elif p.type == "int":
        schema = {"type": "integer", "minimum": 0}
    elif p.type == "duration":
        schema = dict(DURATION)
    elif p.type == "list":
        schema = {"type": "array", "items": {"type": "string"}}
    elif p.type == "map":
        schema = {"type": "object"}
    elif p.type == "enum":
        schema = {"enum": list(p.values)}
    elif p.type == "error":
        schema = {"enum": errors}
    elif p.type == "locale":
        schema = {"enum": sorted(locales())}
    elif p.type == "lockout":
        schema = dict(LOCKOUT)
    else:
        schema = {"type": "string"}
    if p.doc:
        schema["description"] = p.doc
    if p.default is not None:
        schema["default"] = p.default
    return schema


def _object(params: dict[str, Param], errors: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: _param(p, errors) for name, p in params.items()},
        "required": [name for name, p in params.items() if p.required],
    }


def scenario_schema() -> dict[str, Any]:
    vocab = vocabulary()
    errors = list(vocab.errors)
    count = {"type": "integer", "minimum": 1, "maximum": MAX_REPEAT}
    repeat_object: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"count": count, "every": DURATION},
        "required": ["count"],
    }
    repeat = {"oneOf": [repeat_object, count]}
    action_steps = []
    for name, action in vocab.actions.items():
        body = _object(action.params, errors)
        action_steps.append(
            {
                "type": "object",
                "description": action.doc,
                "additionalProperties": False,
                "properties": {
                    name: {"oneOf": [body, {"type": "string", "description": "the actor"}]},
                    "repeat": repeat,
                    "transaction": {
                        "enum": list(TRANSACTION_TYPES),
                        "description": "The step waits for its webhooks and commits only if enough answer 2xx "
                        f"({TRANSACTION_DOC}).",
                    },
                    "faults": {
                        "type": "array",
                        "minItems": 1,
                        "description": "Delivery faults for this step's events, as a target's faults.",
                        "items": fault_schema(),
                    },
                },
                "required": [name],
            }
        )
    step_ref = {"$ref": "#/$defs/step"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://idp-emulator.dev/schemas/scenario.schema.json",
        "title": "idp-emulator scenario",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "steps"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "defaults": _object(vocab.defaults, errors),
            "actors": {
                "type": "object",
                "additionalProperties": {"oneOf": [_object(vocab.actor_fields, errors), {"type": "null"}]},
            },
            "steps": {"type": "array", "minItems": 1, "items": step_ref},
        },
        "$defs": {
            "step": {
                "oneOf": [
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"wait": DURATION},
                        "required": ["wait"],
                    },
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["repeat"],
                        "properties": {
                            "repeat": {
                                **repeat_object,
                                "properties": {
                                    **repeat_object["properties"],
                                    "steps": {"type": "array", "minItems": 1, "items": step_ref},
                                },
                                "required": ["count", "steps"],
                            }
                        },
                    },
                    *action_steps,
                ]
            }
        },
    }
