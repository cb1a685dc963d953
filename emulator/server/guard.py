"""What keeps a server on a developer's machine from being driven by the browser next to it.

A web page the developer happens to visit can send requests to ``localhost`` (a form post, a
``fetch`` with ``mode: no-cors``), and a page whose host name it re-points at ``127.0.0.1`` (DNS
rebinding) can even read the answers. So every request must:

- name a host this server answers for in ``Host``: a loopback name, an IP address (a rebinding page
  always uses its own host name), the bound address, or a name given with ``--allow-host``;
- come from this server's own origin when a browser says where it comes from (``Origin``,
  ``Sec-Fetch-Site``): the console page is served from the same origin and keeps working;
- carry a JSON body when it changes something under ``/api/`` (a cross-site form cannot send one
  without a preflight, which no CORS header here would ever allow).

Refusals are problem documents (RFC 9457), like every other refusal of the API.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from aiohttp import web

from emulator.server.problems import problem_response

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
JSON_TYPES = frozenset({"application/json", "application/merge-patch+json", "application/problem+json"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAME_ORIGIN = frozenset({"same-origin", "none"})  # Sec-Fetch-Site values of a page of ours, or a typed URL


def _name(host: str) -> str:
    """The host name of a ``Host`` header, lowercased, without port or brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Guard:
    """The host names a server answers for (besides loopback names and IP addresses)."""

    allowed: frozenset[str] = frozenset()

    @classmethod
    def for_server(cls, bound: str, allow: Iterable[str] = ()) -> Guard:
        return cls(frozenset({_name(bound), *(_name(a) for a in allow)} - {""}))

    def host_ok(self, host: str | None) -> bool:
        return host is not None and host != "" and _host_ok(self, host)


@lru_cache(maxsize=256)
def _host_ok(guard: Guard, host: str) -> bool:
    """Whether ``guard`` answers for ``host``: worked out once per Host a client sends (every request
    asks, and clients send the same one or two)."""
    name = _name(host)
    return name in LOOPBACK_NAMES or name.endswith(".localhost") or _is_ip(name) or name in guard.allowed


def _cross_site(request: web.Request) -> str | None:
    """Why the request comes from another site's page, or None when it does not."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site.lower() not in SAME_ORIGIN:
        return f"Sec-Fetch-Site is {fetch_site}"
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/").lower() != f"{request.scheme}://{request.host}".lower():
        return f"Origin {origin} is not this server's"
    return None


def guard_middleware(guard: Guard) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware for ``guard``: it runs before anything else looks at a request."""

    @web.middleware
    async def check(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not guard.host_ok(request.headers.get("Host")):
            return problem_response(
                403,
                "Unknown host",
                f"this server does not answer for {request.headers.get('Host')!r}: open it as localhost or by"
                " its address, or start it with --allow-host NAME",
            )
        # the live IdP's protocol endpoints are reached from other sites by design (see emulator/oidc/http.py)
        open_to_all = getattr(request.match_info.handler, "cross_site_ok", False)
        reason = None if open_to_all else _cross_site(request)
        if reason is not None:
            return problem_response(
                403, "Cross-site request", f"{reason}: this server answers only its own pages and programs"
            )
        if request.method in WRITES and request.path.startswith("/api/") and request.body_exists:
            kind = request.content_type
            if kind not in JSON_TYPES:
                return problem_response(
                    415, "JSON only", f"a request with a body sends Content-Type: application/json, not {kind!r}"
                )
        return await handler(request)

    return check
