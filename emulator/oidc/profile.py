"""A vendor as an OpenID provider, read from its ``oidc.yaml``: paths, claims, lifetimes, refusals.

Vendor knowledge stays data: the claims are templates in the same language as the vendor's event
templates (compiled once per vendor), so what a Keycloak access token says sits beside its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from emulator.errors import VendorError

if TYPE_CHECKING:
    from emulator.vendors.parts import Renderer
    from emulator.vendors.registry import Registry

ENDPOINTS = ("discovery", "authorize", "token", "userinfo", "logout", "jwks", "introspect", "revoke")
TOKENS = ("access", "id", "refresh", "userinfo")
# the grants a client may be given (one owner: the config schema and discovery read this)
GRANTS: dict[str, str] = {
    "authorization_code": "a browser login (with PKCE, S256 or plain)",
    "refresh_token": "new tokens for a refresh token",
    "client_credentials": "the client itself, as a service account",
    "password": "the resource owner's username and password (direct access grant)",
}
ALGORITHMS = ("RS256", "ES256", "HS256")  # token signing: RS256 unless said otherwise


class _Blank(dict[str, str]):
    """Names a description may quote (``{client_id}``); a name the request did not carry reads empty."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Refusal:
    """How the vendor answers one kind of refusal, and the neutral error its event carries (None: the
    vendor records no event for it). ``source`` and ``confidence`` say where the body was read."""

    status: int
    event: str | None = None
    error: str | None = None
    description: str | None = None
    reason: str | None = None  # FusionAuth's error_reason
    page: str | None = None  # shown as a page (no redirect): the vendor's own words
    source: str = ""
    confidence: str = ""

    def page_text(self, **names: str) -> str:
        return (self.page or "").format_map(_Blank(names))

    def body(self, **names: str) -> dict[str, str]:
        """The JSON body, its description quoting what the request named (the vendor echoes a client_id)."""
        description = (self.description or "").format_map(_Blank(names))
        out = {"error": self.error or "invalid_request", "error_description": description}
        if self.reason:
            out["error_reason"] = self.reason
        return out


@dataclass
class Profile:
    vendor: str
    supported: bool
    reason: str = ""
    issuer: str = "{base}"
    paths: dict[str, str] = field(default_factory=dict)
    lifetimes: dict[str, timedelta] = field(default_factory=dict)
    rotate: bool = True
    reuse: bool = True
    refresh_format: str = "jwt"
    refresh_algorithm: str = "HS512"
    logout_token_typ: str | None = None
    response_iss: bool = False  # the authorization response names the issuer (RFC 9207)
    claims: dict[str, Renderer] = field(default_factory=dict)
    refusals: dict[str, Refusal] = field(default_factory=dict)
    source: tuple[str, ...] = ()
    confidence: str = ""

    def refusal(self, name: str, variant: str = "") -> Refusal:
        """The refusal ``name``, or its ``name_variant`` where the vendor answers that case in its own words
        (Keycloak refuses each disabled grant differently)."""
        return self.refusals.get(f"{name}_{variant}") or self.refusals[name]


def _read(registry: Registry, vendor: str) -> dict[str, Any]:
    import yaml

    for root in registry.roots:
        path = root / vendor / "oidc.yaml"
        if path.is_file():
            data = yaml.safe_load(path.read_text("utf-8")) or {}
            if not isinstance(data, dict):
                raise VendorError(f"{path}: an oidc.yaml is a mapping")
            return data
    return {"supported": False, "reason": "no oidc.yaml in the vendor's folder"}


def load_profile(registry: Registry, vendor: str) -> Profile:
    """The vendor's provider profile (``like: keycloak`` reads another vendor's, keeping its own source)."""
    from emulator.scenario.durations import parse_duration
    from emulator.vendors.templates import ExpressionError, compile_template

    data = _read(registry, vendor)
    own = data
    if data.get("like"):
        data = {**_read(registry, str(data["like"])), **{k: v for k, v in own.items() if k != "like"}}
    if not data.get("supported"):
        reason = str(data.get("reason", "")).strip()
        return Profile(
            vendor, False, reason, source=tuple(data.get("source") or ()), confidence=str(data.get("confidence", ""))
        )
    try:
        claims = {name: compile_template(spec) for name, spec in (data.get("claims") or {}).items()}
    except ExpressionError as exc:
        raise VendorError(f"{vendor} oidc.yaml claims: {exc}") from None
    refresh = data.get("refresh") or {}
    return Profile(
        vendor=vendor,
        supported=True,
        issuer=str(data.get("issuer", "{base}")),
        paths=dict(data.get("paths") or {}),
        lifetimes={k: parse_duration(str(v)) for k, v in (data.get("lifetimes") or {}).items()},
        rotate=bool(refresh.get("rotate", True)),
        reuse=refresh.get("reuse", "allow") == "allow",
        refresh_format=str(refresh.get("format", "jwt")),
        refresh_algorithm=str(refresh.get("algorithm", "HS512")),
        logout_token_typ=data.get("logout_token_typ"),
        response_iss=bool(data.get("response_iss", False)),
        claims=claims,
        refusals={name: Refusal(**spec) for name, spec in (data.get("errors") or {}).items()},
        source=tuple(data.get("source") or ()),
        confidence=str(data.get("confidence", "")),
    )


def not_served(registry: Registry, vendors: list[str]) -> str | None:
    """Why some of ``vendors`` cannot be served as OpenID providers (each vendor's own reason, from its
    ``oidc.yaml``), or None when all can."""
    reasons = []
    for vendor in vendors:
        if vendor not in registry.names:
            reasons.append(f"{vendor!r} is no vendor here (vendors: {', '.join(registry.names)})")
            continue
        profile = load_profile(registry, vendor)
        if not profile.supported:
            reasons.append(f"{vendor} has no OpenID provider here: {profile.reason}")
    return "; ".join(reasons) or None


@cache
def bundled_profile(vendor: str) -> Profile:
    """A bundled vendor's profile, read once per process."""
    from emulator.vendors.registry import Registry

    return load_profile(Registry(), vendor)
