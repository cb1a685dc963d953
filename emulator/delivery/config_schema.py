"""The JSON Schema of ``emulator.yaml``, made from the definitions it names (so it cannot drift).

Signing schemes, their options and algorithms, retry presets and status classes, faults,
transaction types, orderings and signed times each have one owner in ``emulator/delivery/``;
this module only assembles them. ``emulator.schema.json`` is its output, shipped for editors
and read by the loader; a test keeps the two equal (``idp-emulator schema --config -o ...``).
"""

from __future__ import annotations

from typing import Any

from emulator.delivery.batching import batch_schema
from emulator.delivery.faults import fault_schema
from emulator.delivery.framing import FRAMINGS
from emulator.delivery.retry import CLASSES, SHORTHANDS, preset_names
from emulator.delivery.signing import SCHEMES, scheme
from emulator.delivery.targets import ORDERINGS, SIGNED_TIMES
from emulator.delivery.tls import tls_schema
from emulator.delivery.transactions import TYPES, TYPES_DOC
from emulator.oidc.schema import client_schema, oidc_settings_schema, user_schema
from emulator.scenario.model import MAX_ACTIONS

DURATION = {
    "description": "A duration such as 500ms, 2s, 5m, 1h; a bare number is seconds.",
    "oneOf": [
        {"type": "string", "pattern": "^\\s*(\\d+(\\.\\d+)?(ms|s|m|h|d)\\s*)+$"},
        {"type": "number", "minimum": 0},
    ],
}


def _choices(table: dict[str, str]) -> str:
    return "; ".join(f"{name}: {doc}" for name, doc in table.items())


def _signing() -> dict[str, Any]:
    algorithms = "; ".join(f"{', '.join(scheme(n).algorithms)} ({n})" for n in SCHEMES if scheme(n).algorithms)
    options: dict[str, Any] = {}
    for name in SCHEMES:
        options.update(scheme(name).options)
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "scheme": {
                "enum": list(SCHEMES),
                "description": "; ".join(f"{n}: {scheme(n).summary}" for n in SCHEMES),
            },
            "secret": {
                "description": "The secret or PEM key; a list signs with each (key rotation, current first).",
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                ],
            },
            "algorithm": {"type": "string", "description": algorithms + "; the first of each is the default."},
            "key_id": {"type": "string", "description": "JWT kid, or RFC 9421 keyid."},
            "header": {"type": "string", "description": "Header name for the 'header' scheme."},
            "value": {"type": "string", "description": "Header value for the 'header' scheme."},
            **options,
        },
    }


def _retry() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "attempts": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "description": "In all, the first included.",
            },
            "schedule": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/duration"},
                "description": "Waits before attempt 2, 3, ...; the last repeats.",
            },
            "initial": {"$ref": "#/$defs/duration"},
            "multiplier": {"type": "number", "minimum": 1, "maximum": 100},
            "max_interval": {"$ref": "#/$defs/duration"},
            "jitter": {"type": "number", "minimum": 0, "maximum": 1},
            "max_elapsed": {"$ref": "#/$defs/duration"},
            "retry_on": {"type": "array", "items": {"enum": [*CLASSES, 429, *SHORTHANDS]}},
            "retry_after": {"type": "boolean", "description": "Honour Retry-After (default true)."},
            "stop_on_gone": {
                "type": "boolean",
                "description": "A 410 Gone answer ends the retries (default true; Keycloak's webhook retries it).",
            },
            "note": {"type": "string"},
        },
    }


def _target() -> dict[str, Any]:
    presets = ", ".join(repr(p) for p in preset_names())
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "url"],
        "properties": {
            "name": {
                "type": "string",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                "description": "Unique name; the summary and the store use it.",
            },
            "url": {"type": "string", "description": "http:// or https:// URL the events are POSTed to."},
            "vendor": {
                "description": "Whose events and delivery behaviour: a vendor's name, one release of it "
                "(keycloak@26.1), or {name, version}; no version means the newest release the vendor knows "
                "(idp-emulator catalog lists them). Default: the run's --vendor.",
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "version": {
                                "type": "string",
                                "pattern": "^\\d+(\\.\\d+)*$",
                                "description": 'A release such as "1.45" (quoted: YAML reads 1.30 as 1.3).',
                            },
                        },
                    },
                ],
            },
            "signing": {"$ref": "#/$defs/signing"},
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Extra request headers.",
            },
            "basic_auth": {
                "type": "object",
                "additionalProperties": False,
                "required": ["username", "password"],
                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
            },
            "events": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "description": "Event types to deliver, as globs (user.login.*, LOGIN*). Default: all.",
            },
            "timeouts": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "connect": {"$ref": "#/$defs/duration"},
                    "read": {"$ref": "#/$defs/duration"},
                    "total": {
                        "$ref": "#/$defs/duration",
                        "description": "The longest an attempt may take in all (default connect + 2 x read).",
                    },
                },
            },
            "retry": {
                "description": f"'vendor' (the target vendor's real behaviour, the default), a vendor's name, "
                f"{presets}, a vendor's own preset (idp-emulator catalog lists them, e.g. 'keycloak-strict'), "
                "or your own policy.",
                "oneOf": [{"type": "string"}, {"$ref": "#/$defs/retry"}],
            },
            "concurrency": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "description": "Attempts in flight at once (default 8).",
            },
            "faults": {
                "type": "array",
                "description": "Misbehaviour to inject, each drawn from the seed per delivery.",
                "items": fault_schema(),
            },
            "disable_after": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1000000,
                "description": "Failed deliveries in a row that disable the target (0: never; IDaaS: 100).",
            },
            "disable_on_gone": {
                "type": "boolean",
                "description": "A 410 Gone answer disables the target (default: the vendor's; true unless its "
                "catalog says otherwise, as Standard Webhooks says).",
            },
            "signed_time": {
                "enum": list(SIGNED_TIMES),
                "description": "Time in signed headers (webhook-timestamp, created): " + _choices(SIGNED_TIMES),
            },
            "ordering": {"enum": list(ORDERINGS), "description": _choices(ORDERINGS)},
            "format": {
                "enum": list(FRAMINGS),
                "description": "How a request's body holds its event (default: the vendor's): " + _choices(FRAMINGS),
            },
            "batch": batch_schema(),
            "tls": {"$ref": "#/$defs/tls"},
        },
    }


def config_schema_document() -> dict[str, Any]:
    """The whole schema of ``emulator.yaml``, as shipped in ``emulator.schema.json``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://idp-emulator.dev/schema/emulator.schema.json",
        "title": "idp-emulator configuration (emulator.yaml)",
        "description": "Where events go and how they travel. Any string may use ${VARIABLE} to read an environment "
        "variable, so secrets never sit in the file.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "store": {
                "type": "string",
                "description": "SQLite file for runs, deliveries and attempts (':memory:' for none).",
            },
            "time_scale": {
                "type": "number",
                "minimum": 0,
                "maximum": 1000000,
                "description": "Real seconds per scenario second for every wait the sender takes "
                "(0.001 plays a 2 h retry schedule in 7.2 s).",
            },
            "transaction": {
                "enum": list(TYPES),
                "description": "FusionAuth's webhook transaction type for the tenant: a transactional event commits "
                f"only when that share of its webhooks answers 2xx ({TYPES_DOC}); else the caller gets 504 "
                "[WebhookTransactionException] and nothing is retried.",
            },
            "max_actions": {
                "type": "integer",
                "minimum": 1,
                "description": f"Actions one run may play, its repeats multiplied out (default {MAX_ACTIONS:,}): a"
                " run past it is refused before it starts.",
            },
            "templates": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Folders of vendor template overrides or extra vendors.",
            },
            "targets": {"type": "array", "items": {"$ref": "#/$defs/target"}},
            "clients": {
                "type": "array",
                "items": {"$ref": "#/$defs/client"},
                "description": "The live fake IdP's clients (none: one public client, web-app, for loopback URLs).",
            },
            "users": {
                "type": "array",
                "items": {"$ref": "#/$defs/user"},
                "description": "Who may sign in to the live fake IdP (none: anyone, with any password).",
            },
            "oidc": oidc_settings_schema(),
            "plaintext_secrets": {
                "type": "object",
                "description": "The ${IDP_EMULATOR_*} variables a target made through the server's API may send as"
                " plain text (a header value, basic auth, the 'header' scheme's value, the URL), each with the URL"
                " prefixes it may go to. Any other is refused there: a caller of the API could otherwise send it"
                " anywhere.",
                "propertyNames": {"pattern": "^IDP_EMULATOR_[A-Za-z0-9_]+$"},
                "additionalProperties": {
                    "type": "array",
                    "items": {"type": "string", "pattern": "^https?://[^/]+/"},
                    "description": "URL prefixes such as https://audit.internal/hooks/",
                },
            },
        },
        "$defs": {
            "duration": DURATION,
            "target": _target(),
            "signing": _signing(),
            "retry": _retry(),
            "tls": tls_schema(),
            "client": client_schema(),
            "user": user_schema(),
        },
    }
