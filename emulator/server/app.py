"""The HTTP face of a running emulator (aiohttp): the REST API, the sinks, the signing keys.

Consumers that verify FusionAuth's RS256/ES256 webhook JWTs fetch the public keys from
``/.well-known/jwks.json``, as they would from FusionAuth itself; Shared Signals receivers find
them through ``/.well-known/ssf-configuration``.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from emulator.oidc.http import add_provider, jwks_keys
from emulator.server.guard import Guard, guard_middleware
from emulator.server.page import add_page
from emulator.server.problems import MAX_BODY, problem_response, problems
from emulator.server.routes import ROUTES, SERVICE, lazy
from emulator.server.service import Service


async def jwks(request: web.Request) -> web.Response:
    """The webhook signing keys, and the live IdP's token keys (FusionAuth publishes both here)."""
    keys = [*request.app[SERVICE].signing_keys().values(), *jwks_keys(request.app)]
    return web.json_response({"keys": keys}, headers={"Cache-Control": "max-age=60"})


async def ssf_configuration(request: web.Request) -> web.Response:
    """The Shared Signals transmitter's metadata (SSF 1.0, section 7.1): this server is the issuer of
    the SETs its ``secevent-jwt`` targets send (give them ``signing.issuer`` = this URL), its keys are
    the JWKS above, and it pushes (RFC 8935)."""
    issuer = f"{request.scheme}://{request.host}/"
    metadata = {
        "spec_version": "1_0",
        "issuer": issuer,
        "jwks_uri": f"{issuer}.well-known/jwks.json",
        "delivery_methods_supported": ["urn:ietf:rfc:8935"],
    }
    return web.json_response(metadata, headers={"Cache-Control": "max-age=60"})


async def openapi_document(request: web.Request) -> web.Response:
    from emulator.server.api import ROUTES as handlers
    from emulator.server.openapi import openapi

    registry = request.app[SERVICE].registry
    return web.json_response(openapi(handlers, registry.names, registry))


@web.middleware
async def bearer(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """With a token, every /api/ call needs ``Authorization: Bearer <token>``, and a sink takes only
    webhooks that carry it (the header, or ``?token=`` in the sink's URL, since a vendor's own scheme
    may use Authorization)."""
    token = request.app[SERVICE].token
    if token and request.path.startswith(("/api/", "/sink/")):
        given = request.headers.get("Authorization", "")
        ok = hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
        if not ok and request.path.startswith("/sink/"):
            ok = hmac.compare_digest(request.query.get("token", "").encode(), token.encode())
        if not ok:
            return problem_response(401, "Unauthorized", "this server needs Authorization: Bearer <token>")
    return await handler(request)


def make_app(service: Service, guard: Guard | None = None) -> web.Application:
    """The application; ``guard`` says which host names it answers for (loopback ones by default)."""
    middlewares = [guard_middleware(guard or Guard()), bearer, problems]
    app = web.Application(client_max_size=MAX_BODY, middlewares=middlewares)
    app[SERVICE] = service
    for method, path, name in ROUTES:
        app.router.add_route(method, path, lazy(name))
    app.router.add_get("/api/openapi.json", openapi_document)
    app.router.add_get("/.well-known/jwks.json", jwks)
    app.router.add_get("/.well-known/ssf-configuration", ssf_configuration)
    add_page(app)
    add_provider(app)  # last: its paths are whatever nothing else answers
    app.on_response_prepare.append(_no_sniffing)
    return app


async def _no_sniffing(request: web.Request, response: web.StreamResponse) -> None:
    """No answer of this server is read as anything but its declared type (a JSON body as a script)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
