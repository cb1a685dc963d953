"""The HTTP face of a running emulator (aiohttp): health and the signing keys, so far.

Consumers that verify FusionAuth's RS256/ES256 webhook JWTs fetch the public keys from
``/.well-known/jwks.json``, as they would from FusionAuth itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from emulator import __version__
from emulator.delivery.signing import key_id_for, public_jwk
from emulator.delivery.targets import Target

JWKS = web.AppKey("jwks", Callable[[], list[dict[str, Any]]])


def signing_keys(targets: list[Target]) -> list[dict[str, Any]]:
    """The public halves of the asymmetric keys the targets sign with (HMAC secrets stay secret)."""
    keys: dict[str, dict[str, Any]] = {}
    for target in targets:
        signing = target.signing
        if signing.scheme == "fusionauth-jwt" and signing.algorithm[:2] in ("RS", "ES", "PS"):
            for secret in signing.secrets:
                jwk = public_jwk(secret, signing.key_id or key_id_for(secret))
                keys[jwk["kid"]] = jwk
    return list(keys.values())


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__})


async def jwks(request: web.Request) -> web.Response:
    return web.json_response({"keys": request.app[JWKS]()}, headers={"Cache-Control": "max-age=60"})


def make_app(keys: Callable[[], list[dict[str, Any]]]) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[JWKS] = keys
    app.router.add_get("/api/health", health)
    app.router.add_get("/.well-known/jwks.json", jwks)
    return app
