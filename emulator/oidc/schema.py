"""The JSON Schema of the live fake IdP's part of ``emulator.yaml`` (``clients``, ``users``, ``oidc``),
made from the names it offers (grants, algorithms, vendors' profiles) so the file and the code agree.
The API takes clients and users in the same form."""

from __future__ import annotations

from typing import Any

from emulator.oidc.keys import KEEP_PREVIOUS
from emulator.oidc.outcomes import outcomes
from emulator.oidc.profile import ALGORITHMS, GRANTS

_SECRET = "Write-only: shown back as <hidden>, or as the ${VARIABLE} it is read from."
_URI = {"type": "string", "pattern": "^https?://", "maxLength": 2000}
_DURATION = {"$ref": "#/$defs/duration"}


def client_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", "description": "client_id"},
            "secret": {"type": "string", "minLength": 1, "description": f"None: a public client (PKCE). {_SECRET}"},
            "redirect_uris": {
                "type": "array",
                "items": _URI,
                "description": "Where a login may return; a trailing * matches any rest (Keycloak's wildcard).",
            },
            "post_logout_redirect_uris": {"type": "array", "items": _URI, "description": "Default: redirect_uris."},
            "grants": {
                "type": "array",
                "items": {"enum": list(GRANTS)},
                "description": "; ".join(f"{name}: {doc}" for name, doc in GRANTS.items()) + " (default: all)",
            },
            "backchannel_logout_uri": {**_URI, "description": "Receives logout tokens (OIDC Back-Channel Logout)."},
            "algorithm": {"enum": list(ALGORITHMS), "description": "Token signing (default: oidc.algorithm)."},
        },
    }


def user_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["username"],
        "additionalProperties": False,
        "properties": {
            "username": {"type": "string", "minLength": 1, "maxLength": 255},
            "password": {"type": "string", "description": f"None: any password. {_SECRET}"},
            "id": {"type": "string", "description": "The user id (sub); default: made from the seed."},
            "email": {"type": "string"},
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
            "locale": {"type": "string"},
            "email_verified": {"type": "boolean"},
            "roles": {"type": "array", "items": {"type": "string"}, "description": "Realm roles / FusionAuth roles."},
        },
    }


def oidc_settings_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "The live fake IdP: an OpenID provider per vendor on the vendor's own paths.",
        "properties": {
            "vendors": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Vendors served (default keycloak and fusionauth; flip shares Keycloak's paths).",
            },
            "realm": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$", "description": "Keycloak realm (acme)."},
            "tenant": {"type": "string", "description": "FusionAuth tenant name (default)."},
            "issuer": {"type": "string", "description": "The tokens' iss (default: the vendor's form of this URL)."},
            "algorithm": {"enum": list(ALGORITHMS), "description": "Token signing (default RS256)."},
            "lifetimes": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"access": _DURATION, "refresh": _DURATION, "code": _DURATION},
                "description": "Token lifetimes (default: the vendor's).",
            },
            "auto_approve": {
                "description": "Sign in without the login page: as this user, or {user, outcome, error, upstream}"
                " to end as a login page's choice would (a required action, consent, an upstream provider, ...).",
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "required": ["user"],
                        "additionalProperties": False,
                        "properties": {
                            "user": {"type": "string"},
                            "outcome": {
                                "enum": list(outcomes()),
                                "description": "; ".join(f"{o.name}: {o.label}" for o in outcomes().values()),
                            },
                            "error": {"type": "string", "description": "The neutral error code of outcome 'error'."},
                            "upstream": {"type": "string", "description": "The upstream provider's alias (google)."},
                        },
                    },
                ],
            },
            "keys": {
                "type": "object",
                "additionalProperties": False,
                "description": "Signing-key rotation (POST /api/oidc/keys): a rotated-out key stays in the"
                " JWKS, passive, so the tokens it signed still verify, as Keycloak's and FusionAuth's do until"
                " an admin removes it (DELETE /api/oidc/keys/{kid}).",
                "properties": {
                    "keep": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 100,
                        "description": f"Passive keys kept per algorithm (default {KEEP_PREVIOUS}).",
                    },
                    "grace": {**_DURATION, "description": "How long after its rotation a passive key stays."},
                },
            },
            "refresh": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "rotate": {"type": "boolean", "description": "A new refresh token on each refresh."},
                    "reuse": {"enum": ["allow", "refuse"], "description": "Whether a used refresh token works again."},
                },
            },
        },
    }
