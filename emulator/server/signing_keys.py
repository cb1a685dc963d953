"""The live IdP's signing keys through the API: list them, rotate them while serving, remove a passive one.

A rotation is what an admin does in Keycloak's realm keys or FusionAuth's Key Master: new tokens carry
the new key's ``kid`` at once, and the old key stays in the JWKS, passive, so the tokens it signed
still verify until it is removed (or its grace, ``oidc.keys.grace``, is over). A relying party that
meets an unknown ``kid`` fetches the JWKS again and finds the new key there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from emulator.oidc.keys import KeySet


def _keys(request: web.Request) -> KeySet:
    from emulator.oidc.http import hub_of

    keys: KeySet = hub_of(request.app).keys
    return keys


async def signing_keys(request: web.Request) -> web.Response:
    """The live IdP's signing keys in its JWKS: the active one per algorithm, then the passive ones."""
    return web.json_response({"keys": [k.view() for k in _keys(request).published()]})


async def rotate_keys(request: web.Request) -> web.Response:
    """Rotate the signing keys while serving: new tokens carry the new kid, the old key stays passive."""
    keys = _keys(request)
    keys.rotate()
    return web.json_response({"keys": [k.view() for k in keys.published()]})


async def remove_key(request: web.Request) -> web.Response:
    """Remove a passive signing key from the JWKS: the tokens it signed no longer verify."""
    kid = request.match_info["kid"]
    _keys(request).remove(kid)
    return web.json_response({"kid": kid, "deleted": True})
