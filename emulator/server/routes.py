"""Every route of the server, and what answers it: the handlers in ``api.py`` are read when the
first request needs them, so ``serve`` is ready as soon as aiohttp is (the health and ready checks
answer from here; the rest pays for its imports once, on first use)."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from functools import cache
from typing import TYPE_CHECKING

from aiohttp import web

from emulator import __version__
from emulator.oidc.clients import KINDS

if TYPE_CHECKING:
    from emulator.server.service import Service

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVICE: web.AppKey[Service] = web.AppKey("service")

# (method, path, the handler's name in api.py, or MODULE.NAME for another module of this package)
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/api/health", "health"),
    ("GET", "/api/ready", "ready"),
    ("GET", "/api/vendors", "vendors"),
    ("GET", "/api/vendors/{vendor}", "vendor"),
    ("GET", "/api/scenarios", "scenarios"),
    ("GET", "/api/scenarios/{name}", "scenario"),
    ("PUT", "/api/scenarios/{name}", "upload_scenario"),
    ("DELETE", "/api/scenarios/{name}", "delete_scenario"),
    ("POST", "/api/validate", "validate"),
    ("POST", "/api/runs", "start_run"),
    ("GET", "/api/runs", "runs"),
    ("POST", "/api/trigger", "trigger"),
    ("GET", "/api/runs/{run}", "run"),
    ("POST", "/api/runs/{run}/cancel", "cancel"),
    ("GET", "/api/events", "events"),
    ("GET", "/api/events/{event}", "event"),
    ("GET", "/api/deliveries", "deliveries"),
    ("GET", "/api/deliveries/{delivery}", "delivery"),
    ("GET", "/api/deliveries/{delivery}/curl", "delivery_curl"),
    ("POST", "/api/deliveries/{delivery}/resend", "resend"),
    ("POST", "/api/replay", "replay"),
    ("GET", "/api/targets", "targets"),
    ("POST", "/api/targets", "create_target"),
    ("GET", "/api/targets/{name}", "target"),
    ("PATCH", "/api/targets/{name}", "update_target"),
    ("DELETE", "/api/targets/{name}", "delete_target"),
    ("POST", "/api/targets/{name}/test", "test_target"),
    *(
        row
        for kind in KINDS  # the live IdP's clients and users (server/directory.py)
        for row in (
            ("GET", f"/api/{kind}s", f"directory.{kind}s"),
            ("POST", f"/api/{kind}s", f"directory.create_{kind}"),
            ("GET", f"/api/{kind}s/{{{kind}}}", f"directory.{kind}"),
            ("PUT", f"/api/{kind}s/{{{kind}}}", f"directory.replace_{kind}"),
            ("DELETE", f"/api/{kind}s/{{{kind}}}", f"directory.delete_{kind}"),
        )
    ),
    ("GET", "/api/oidc/keys", "signing_keys.signing_keys"),
    ("POST", "/api/oidc/keys", "signing_keys.rotate_keys"),  # a rotation: a new active key
    ("DELETE", "/api/oidc/keys/{kid}", "signing_keys.remove_key"),
    ("GET", "/api/sinks/{name}", "sink_list"),
    ("GET", "/api/stream", "stream"),
    ("POST", "/sink/{name}", "sink_receive"),
)


async def health(request: web.Request) -> web.Response:
    """Whether the server answers (and which version it is)."""
    return web.json_response({"status": "ok", "version": __version__})


async def ready(request: web.Request) -> web.Response:
    """Whether the server and its store answer."""
    request.app[SERVICE].store.counts("")
    return web.json_response({"status": "ready"})


LIGHT: dict[str, Handler] = {"health": health, "ready": ready}


PAGING = ("limit", "after", "before", "order")  # a listing's page: its size, its bounds (ids), its order
ORDERS = ("oldest", "newest")  # what 'order' may say (oldest first by default)
BOOLEANS = ("true", "false")  # what a yes-or-no parameter may say


@cache
def query_names() -> dict[str, tuple[str, ...]]:
    """The query parameters each path takes (any other is refused, naming the nearest valid one)."""
    from emulator.store import DELIVERY_FILTERS, EVENT_FILTERS

    return {
        "/api/events": (*EVENT_FILTERS, "since", "until", *PAGING),
        "/api/deliveries": (*DELIVERY_FILTERS, *PAGING),
        "/api/stream": ("run", "type", "kind"),
        "/api/vendors/{vendor}": ("examples",),
    }


def unknown_parameter(request: web.Request) -> web.Response | None:
    """A 400 for a query parameter this path does not take (``?usr=x`` must not quietly match all)."""
    if not request.query or request.path.startswith("/sink/"):  # a webhook's own query is the sender's
        return None
    resource = request.match_info.route.resource
    allowed = query_names().get(resource.canonical if resource is not None else "", ())
    for name in request.query:
        if name not in allowed:
            from emulator.errors import suggest
            from emulator.server.problems import problem_response

            hint = suggest(name, allowed)
            expected = f"did you mean {hint!r}?" if hint else f"expected: {', '.join(allowed) or 'none'}"
            return problem_response(400, "Unknown parameter", f"{name!r} is not a parameter here; {expected}", name)
    return None


def resolve(name: str) -> Handler:
    """The handler of this name (importing the API's module the first time)."""
    if name in LIGHT:
        return LIGHT[name]
    module, _, attribute = name.rpartition(".")
    handler: Handler = getattr(importlib.import_module(f"emulator.server.{module or 'api'}"), attribute)
    return handler


def lazy(name: str) -> Handler:
    """A handler that finds the real one on its first call (and refuses unknown query parameters)."""
    found: list[Handler] = [LIGHT[name]] if name in LIGHT else []

    async def handle(request: web.Request) -> web.StreamResponse:
        refused = unknown_parameter(request)
        if refused is not None:
            return refused
        if not found:
            found.append(resolve(name))
        return await found[0](request)

    handle.__name__ = name
    return handle
