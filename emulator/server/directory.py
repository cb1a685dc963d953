"""The live fake IdP's clients and users through the API: list, create, read, replace, delete.

A client or user is given in the very form ``emulator.yaml`` takes (the file's schema checks it, in
the file's words), and takes effect at once: a client created here signs in on its next request.
Secrets are write-only as targets' are: a view shows ``<hidden>`` or the ``${IDP_EMULATOR_...}``
variable a secret is read from, and only such variables may be named (any other could be anything
in the server's environment, confirmed by the token endpoint to whoever guesses it). Like every
login, they live in memory: a restarted server knows only those of its ``--config`` file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from emulator.delivery.config import part_problems
from emulator.delivery.redact import Redactor
from emulator.errors import InvalidError
from emulator.oidc.clients import KINDS
from emulator.server.problems import read_json
from emulator.server.targets import check_references, refuse_hidden

if TYPE_CHECKING:
    from emulator.oidc.clients import Directory
    from emulator.server.routes import Handler

SECRET_FIELDS = ("secret", "password")  # the write-only field of each kind


def _directory(request: web.Request) -> Directory:
    from emulator.oidc.http import hub_of

    directory: Directory = hub_of(request.app).directory
    return directory


def checked(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A client or user as given over the API, refused (422, naming the field) as the file would
    refuse it; a message never quotes the secret."""
    refuse_hidden(spec)
    problems = part_problems(kind, spec)
    if problems:
        path, message = problems[0]
        hide = Redactor(str(spec[k]) for k in SECRET_FIELDS if isinstance(spec.get(k), (str, int, float)))
        raise InvalidError(f"Invalid {kind}", hide.text(message), path or kind)
    check_references(spec, "", f"a {kind}")
    return spec


def _listing(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        entries = _directory(request).entries(kind)
        return web.json_response({f"{kind}s": [entries[name].view() for name in sorted(entries)]})

    handler.__doc__ = f"The live IdP's {kind}s (emulator.yaml's and the API's); secrets show as <hidden>."
    handler.__name__ = f"{kind}s"
    return handler


def _creation(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        made, _ = _directory(request).put(kind, checked(kind, await read_json(request, empty=False)), create=True)
        location = f"/api/{kind}s/{quote(made.name, safe='')}"
        return web.json_response(made.view(), status=201, headers={"Location": location})

    handler.__doc__ = f"Add a {kind} to the live IdP, as emulator.yaml's {kind}s take one; it works at once."
    handler.__name__ = f"create_{kind}"
    return handler


def _reading(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(_directory(request).get(kind, request.match_info[kind]).view())

    handler.__doc__ = f"One {kind} of the live IdP."
    handler.__name__ = kind
    return handler


def _replacing(kind: str) -> Handler:
    key, _ = KINDS[kind]

    async def handler(request: web.Request) -> web.Response:
        name = request.match_info[kind]
        spec = await read_json(request, empty=False)
        if spec.setdefault(key, name) != name:
            raise InvalidError(f"{key} is fixed", f"'{key}' says {spec[key]!r} but the path names {name!r}", key)
        made, new = _directory(request).put(kind, checked(kind, spec))
        return web.json_response(made.view(), status=201 if new else 200)

    handler.__doc__ = f"Create or replace a {kind} as a whole (a secret left out is gone: give it again)."
    handler.__name__ = f"replace_{kind}"
    return handler


def _deletion(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        name = request.match_info[kind]
        _directory(request).delete(kind, name)
        return web.json_response({kind: name, "deleted": True})

    handler.__doc__ = f"Remove a {kind} made through the API (emulator.yaml's stay)."
    handler.__name__ = f"delete_{kind}"
    return handler


clients, create_client, client, replace_client, delete_client = (
    make("client") for make in (_listing, _creation, _reading, _replacing, _deletion)
)
users, create_user, user, replace_user, delete_user = (
    make("user") for make in (_listing, _creation, _reading, _replacing, _deletion)
)
