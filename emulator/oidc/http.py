"""The live fake IdP over HTTP: each vendor's paths, read from its ``oidc.yaml`` on the first request.

The server registers one fallback route; the first request that reaches it loads the providers
(so ``serve`` starts as fast as before) and matches the path against each vendor's endpoints. These
endpoints are made to be reached from other sites (an app sends the browser to ``authorize``, its
back end calls ``token``), so the guard's cross-site check does not apply to them; the login form,
which acts for the person at the browser, is posted to ``/oidc/login`` and stays guarded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator.oidc.page import CSRF_COOKIE, FORM_PATH, HEADERS, login_page

if TYPE_CHECKING:
    from emulator.oidc.clients import Directory, Settings
    from emulator.oidc.keys import KeySet
    from emulator.oidc.provider import Answer, AuthRequest, Provider
    from emulator.server.service import Service

DEFAULT_VENDORS = ("keycloak", "fusionauth")  # Flip shares Keycloak's paths: list it instead to serve it


@dataclass
class Hub:
    """Every vendor's provider, the clients and users they share, and the signing keys."""

    service: Service
    settings: Settings
    directory: Directory
    keys: KeySet
    providers: dict[str, Provider] = field(default_factory=dict)
    table: list[tuple[str, re.Pattern[str], str]] = field(default_factory=list)  # (vendor, path, endpoint)

    @classmethod
    def create(cls, service: Service) -> Hub:
        from emulator.oidc.clients import Directory, settings_from
        from emulator.oidc.keys import KeySet
        from emulator.oidc.profile import load_profile
        from emulator.oidc.provider import Provider

        config = service.config
        raw = dict(config.oidc) if config is not None else {}
        settings = settings_from(raw)
        directory = Directory(list(config.clients) if config else [], list(config.users) if config else [])
        keys = KeySet(grace=settings.key_grace.total_seconds() if settings.key_grace is not None else None)
        if settings.keep_keys is not None:
            keys.keep = settings.keep_keys
        hub = cls(service, settings, directory, keys)
        for vendor in raw.get("vendors") or DEFAULT_VENDORS:
            profile = load_profile(service.registry, vendor)
            if not profile.supported:
                continue
            provider = Provider(service, profile, settings, directory, hub.keys)
            hub.providers[vendor] = provider
            for endpoint in profile.paths:
                path = provider.path(endpoint)
                if not any(pattern.fullmatch(path) for _, pattern, _ in hub.table):
                    hub.table.append((vendor, re.compile(re.escape(path)), endpoint.removesuffix("_default")))
        return hub

    def match(self, path: str) -> tuple[Provider, str] | None:
        for vendor, pattern, endpoint in self.table:
            if pattern.fullmatch(path):
                return self.providers[vendor], endpoint
        return None


def hub_of(app: web.Application) -> Hub:
    """The app's providers, made on first use (and kept by its service)."""
    from emulator.server.routes import SERVICE

    service = app[SERVICE]
    if service.oidc is None:
        import gc

        service.oidc = Hub.create(service)
        # the vendors' compiled templates and profiles live as long as the server: keep them out of the
        # collector's way, so a busy token endpoint does not walk them again at every full collection
        gc.freeze()
    hub: Hub = service.oidc
    return hub


def add_provider(app: web.Application) -> None:
    """The login form's route, and the fallback route that serves every vendor's endpoints."""
    app.router.add_post(FORM_PATH, login_form)
    app.router.add_route("*", r"/{path:(?!api/|sink/|console/).*}", protocol)


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _respond(answer: Answer) -> web.StreamResponse:
    if answer.location is not None:
        return web.Response(
            status=302, headers={"Location": answer.location, "Cache-Control": "no-store", **answer.headers}
        )
    if isinstance(answer.body, dict):
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)
    if answer.status >= 400 or answer.body:
        page = f"<!doctype html><title>idp-emulator</title><p>{_escape(answer.body or '')}</p>"
        return web.Response(
            status=answer.status, text=page, content_type="text/html", headers={**HEADERS, **answer.headers}
        )
    return web.Response(status=answer.status, headers=answer.headers)


def _escape(text: str) -> str:
    from html import escape

    return escape(text)


async def _params(request: web.Request) -> Mapping[str, str]:
    if request.method == "POST":
        form = await request.post()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return request.query


async def protocol(request: web.Request) -> web.StreamResponse:
    """Every vendor's OpenID endpoints (the fallback route); anything else is a 404."""
    hub = hub_of(request.app)
    found = hub.match(request.path)
    if found is None:
        from emulator.server.problems import problem_response

        return problem_response(404, "Not found", f"nothing is served at {request.path}")
    provider, endpoint = found
    base = _base(request)
    provider.service_base = base
    ip = request.remote
    if endpoint == "discovery":
        return web.json_response(provider.discovery(base))
    if endpoint == "jwks":
        return web.json_response({"keys": hub.keys.jwks()}, headers={"Cache-Control": "no-cache"})
    params = await _params(request)
    authorization = request.headers.get("Authorization")
    if endpoint == "authorize":
        return _authorize(request, hub, provider, params)
    if endpoint == "token":
        return _respond(provider.token(params, authorization, ip))
    if endpoint == "userinfo":
        return _respond(provider.userinfo(authorization, ip))
    if endpoint == "introspect":
        return _respond(provider.introspect(params, authorization))
    if endpoint == "revoke":
        return _respond(provider.revoke(params, authorization))
    return _respond(provider.logout(params, ip, base))


setattr(protocol, "cross_site_ok", True)  # read by the guard: see the module docstring  # noqa: B010


def _authorize(request: web.Request, hub: Hub, provider: Provider, params: Mapping[str, str]) -> web.StreamResponse:
    from emulator.oidc.provider import Answer

    checked = provider.authorize(params, request.remote)
    if isinstance(checked, Answer):
        return _respond(checked)
    auto = hub.settings.auto_approve
    if auto:
        return _respond(provider.approve(checked, auto, request.remote, request.headers.get("User-Agent")))
    return _page(hub, provider, checked, None)


def _page(hub: Hub, provider: Provider, checked: AuthRequest, message: str | None) -> web.Response:
    from emulator.scenario.vocabulary import vocabulary

    title = (
        hub.settings.realm if provider.profile.paths.get("discovery", "").startswith("/realms/") else provider.vendor
    )
    users = sorted(hub.directory.users)
    text = login_page(checked, provider.vendor, title, users, sorted(vocabulary().errors), message)
    response = web.Response(text=text, content_type="text/html", headers=HEADERS)
    response.set_cookie(CSRF_COOKIE, checked.csrf, httponly=True, samesite="Strict", path="/oidc/")
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    """The login page's form: the CSRF token must match its cookie, the request must be pending."""
    import hmac

    from emulator.server.problems import problem_response

    hub = hub_of(request.app)
    form = await request.post()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    provider = hub.providers.get(values.get("vendor", ""))
    pending = provider.pending.get(values.get("request", "")) if provider else None
    if provider is None or pending is None:
        return problem_response(400, "Login expired", "this sign-in is no longer pending: start it again from the app")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = values.get("csrf", "")
    if not (cookie and hmac.compare_digest(cookie, given) and hmac.compare_digest(given, pending.csrf)):
        return problem_response(403, "Bad form", "the form's CSRF token does not match: reload the sign-in page")
    provider.service_base = _base(request)
    answer = provider.login(
        pending,
        values.get("username", "").strip(),
        values.get("password"),
        values.get("outcome", "success"),
        request.remote,
        request.headers.get("User-Agent"),
        values.get("error") or None,
        values.get("upstream", "").strip() or None,
    )
    if isinstance(answer, str):
        message = provider.live.dialect.catalog.error_doc(answer, answer)
        return _page(hub, provider, pending, f"Sign-in failed: {message} ({answer})")
    return _respond(answer)


def jwks_keys(app: web.Application) -> list[dict[str, Any]]:
    """The provider's public keys, for the JWKS the server already publishes (FusionAuth's path), once
    the live IdP is in use (an RP reads the discovery document first): a server only delivering
    webhooks publishes only its webhook keys."""
    from emulator.server.routes import SERVICE

    hub: Hub | None = app[SERVICE].oidc
    return hub.keys.jwks() if hub is not None else []
