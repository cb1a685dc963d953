"""The provider's clients and users: from ``emulator.yaml`` (``clients``, ``users``, ``oidc``) and
from the API. Secrets are write-only as for targets: a view shows ``<hidden>`` or the
``${VARIABLE}`` a secret comes from; the values themselves live in memory only.

A server with no client configured has one public client, ``web-app``, that may return to any
loopback URL, so ``serve`` works as a local IdP with nothing written down.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from emulator.errors import ConflictError, InvalidError, NotFoundError
from emulator.oidc.profile import ALGORITHMS, GRANTS

DEFAULT_CLIENT = "web-app"
LOOPBACK_REDIRECTS = ("http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*")
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
HIDDEN = "<hidden>"
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Client:
    id: str
    secret: str | None = None  # None: a public client (PKCE, no authentication)
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    grants: tuple[str, ...] = tuple(GRANTS)
    backchannel_logout_uri: str | None = None
    algorithm: str | None = None  # the token signing algorithm (the provider's default when None)
    spec: dict[str, Any] = field(default_factory=dict)  # as written: what a view shows, secrets hidden
    source: str = "config"

    @property
    def name(self) -> str:
        return self.id

    def authenticates(self, secret: str | None) -> bool:
        """Whether ``secret`` is this client's (constant time); a public client has none to check."""
        return self.secret is None or hmac.compare_digest((secret or "").encode(), self.secret.encode())

    def redirect_ok(self, uri: str, allowed: tuple[str, ...] | None = None) -> bool:
        """Whether ``uri`` is registered: exactly, or by a pattern ending in ``*`` (Keycloak's wildcard)."""
        for pattern in self.redirect_uris if allowed is None else allowed:
            if pattern.endswith("*") and uri.startswith(pattern[:-1]):
                return True
            if uri == pattern:
                return True
        return False

    def view(self) -> dict[str, Any]:
        shown = {k: (_shown(v) if k == "secret" else v) for k, v in self.spec.items()}
        return {"id": self.id, "source": self.source, "public": self.secret is None, "config": shown}


@dataclass
class User:
    username: str
    password: str | None = None  # None: any password signs in
    fields: dict[str, Any] = field(default_factory=dict)  # actor fields (id, email, names, locale, ...)
    roles: tuple[str, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict)
    source: str = "config"

    @property
    def name(self) -> str:
        return self.username

    def view(self) -> dict[str, Any]:
        shown = {k: (_shown(v) if k == "password" else v) for k, v in self.spec.items()}
        return {"username": self.username, "source": self.source, "config": shown}


@dataclass
class Settings:
    """The ``oidc`` section of ``emulator.yaml``."""

    realm: str = "acme"
    tenant: str = "default"
    issuer: str | None = None
    algorithm: str = "RS256"
    lifetimes: dict[str, timedelta] = field(default_factory=dict)  # access, refresh, code (vendor's otherwise)
    auto_approve: str | None = None  # sign in as this user without the page
    auto_outcome: str = "success"  # ... with this outcome (outcomes.yaml), its error code and upstream alias
    auto_error: str | None = None
    auto_upstream: str | None = None
    rotate: bool | None = None  # refresh-token rotation (the vendor's default when None)
    reuse: bool | None = None
    keep_keys: int | None = None  # passive signing keys kept per family after rotations (keys.py's default)
    key_grace: timedelta | None = None  # how long a passive signing key stays published (None: until removed)


def _shown(value: Any) -> str:
    return value if isinstance(value, str) and _ENV.fullmatch(value) else HIDDEN


def _resolve(value: str | None, where: str) -> str | None:
    """``${VARIABLE}`` read from the environment now (an unset variable is an error naming it)."""
    import os

    if value is None or "${" not in value:
        return value

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise InvalidError("Variable not set", f"{where}: environment variable {name} is not set", where)
        return os.environ[name]

    return _ENV.sub(lookup, value)


def make_client(spec: dict[str, Any], source: str, where: str = "client") -> Client:
    client_id = spec.get("id")
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise InvalidError("Bad client id", f"{where}.id: letters, digits and . _ : - (at most 128)", f"{where}.id")
    grants = tuple(spec.get("grants") or GRANTS)
    for grant in grants:
        if grant not in GRANTS:
            raise InvalidError(
                "Unknown grant", f"{where}.grants: {grant!r}; expected one of {', '.join(GRANTS)}", where
            )
    algorithm = spec.get("algorithm")
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise InvalidError("Unknown algorithm", f"{where}.algorithm: expected one of {', '.join(ALGORITHMS)}", where)
    return Client(
        id=client_id,
        secret=_resolve(spec.get("secret"), f"{where}.secret"),
        redirect_uris=tuple(spec.get("redirect_uris") or ()),
        post_logout_redirect_uris=tuple(spec.get("post_logout_redirect_uris") or spec.get("redirect_uris") or ()),
        grants=grants,
        backchannel_logout_uri=spec.get("backchannel_logout_uri"),
        algorithm=algorithm,
        spec=dict(spec),
        source=source,
    )


USER_FIELDS = ("id", "email", "first_name", "last_name", "locale", "email_verified")


def make_user(spec: dict[str, Any], source: str, where: str = "user") -> User:
    username = spec.get("username")
    if not isinstance(username, str) or not username.strip():
        raise InvalidError("Bad username", f"{where}.username: a non-empty string", f"{where}.username")
    fields = {k: spec[k] for k in USER_FIELDS if spec.get(k) is not None}
    return User(
        username=username,
        password=_resolve(spec.get("password"), f"{where}.password"),
        fields={"username": username, **fields},
        roles=tuple(spec.get("roles") or ()),
        spec=dict(spec),
        source=source,
    )


def settings_from(raw: dict[str, Any] | None) -> Settings:
    from emulator.scenario.durations import parse_duration

    raw = raw or {}
    refresh = raw.get("refresh") or {}
    keys = raw.get("keys") or {}
    auto = raw.get("auto_approve")
    auto = auto if isinstance(auto, dict) else {"user": auto}
    return Settings(
        realm=raw.get("realm", "acme"),
        tenant=raw.get("tenant", "default"),
        issuer=raw.get("issuer"),
        algorithm=raw.get("algorithm", "RS256"),
        lifetimes={k: parse_duration(v) for k, v in (raw.get("lifetimes") or {}).items()},
        auto_approve=auto.get("user"),
        auto_outcome=auto.get("outcome") or "success",
        auto_error=auto.get("error"),
        auto_upstream=auto.get("upstream"),
        rotate=refresh.get("rotate"),
        reuse=None if "reuse" not in refresh else refresh["reuse"] == "allow",
        keep_keys=keys.get("keep"),
        key_grace=parse_duration(keys["grace"]) if keys.get("grace") is not None else None,
    )


class Directory:
    """Clients and users by name; the configuration's first, the API's beside them."""

    def __init__(self, clients: list[dict[str, Any]], users: list[dict[str, Any]]) -> None:
        self.clients: dict[str, Client] = {}
        self.users: dict[str, User] = {}
        for i, spec in enumerate(clients):
            client = make_client(spec, "config", f"clients[{i}]")
            self.clients[client.id] = client
        for i, spec in enumerate(users):
            user = make_user(spec, "config", f"users[{i}]")
            self.users[user.username] = user
        if not self.clients:
            self.clients[DEFAULT_CLIENT] = Client(
                DEFAULT_CLIENT,
                redirect_uris=LOOPBACK_REDIRECTS,
                post_logout_redirect_uris=LOOPBACK_REDIRECTS,
                spec={"id": DEFAULT_CLIENT},
                source="default",
            )

    def client(self, client_id: str | None) -> Client | None:
        return self.clients.get(client_id) if client_id else None

    def user(self, username: str) -> User | None:
        found = self.users.get(username)
        if found is None:  # an email signs in too, as both vendors allow
            found = next((u for u in self.users.values() if u.fields.get("email") == username), None)
        return found

    def entries(self, kind: str) -> dict[str, Client | User]:
        """The clients or the users by name (``kind``: one of KINDS)."""
        table: dict[str, Any] = self.clients if kind == "client" else self.users
        return table

    def get(self, kind: str, name: str) -> Client | User:
        found = self.entries(kind).get(name)
        if found is None:
            known = ", ".join(sorted(self.entries(kind))) or "none yet"
            raise NotFoundError(f"Unknown {kind}", f"no {kind} {name!r}; {kind}s: {known}", kind)
        return found

    def put(self, kind: str, spec: dict[str, Any], create: bool = False) -> tuple[Client | User, bool]:
        """Add or replace a client or user made through the API; (it, whether it is new). Those of
        emulator.yaml are changed there; ``create`` refuses a name in use (the stand-in client aside)."""
        key, make = KINDS[kind]
        table = self.entries(kind)
        old = table.get(str(spec.get(key)))
        _changeable(kind, old, key)
        if create and old is not None and old.source != "default":
            raise ConflictError(
                f"{kind.title()} exists", f"a {kind} {spec.get(key)!r} exists; replace it with PUT", key
            )
        made = make(spec, "api", kind)
        default = self.clients.get(DEFAULT_CLIENT)
        if kind == "client" and default is not None and default.source == "default":
            del self.clients[DEFAULT_CLIENT]  # a client of your own replaces the stand-in
        table[made.name] = made
        return made, old is None or old.source == "default"

    def put_client(self, spec: dict[str, Any]) -> tuple[Client, bool]:
        made, new = self.put("client", spec)
        assert isinstance(made, Client)
        return made, new

    def put_user(self, spec: dict[str, Any]) -> tuple[User, bool]:
        made, new = self.put("user", spec)
        assert isinstance(made, User)
        return made, new

    def delete(self, kind: str, name: str) -> None:
        _changeable(kind, self.get(kind, name), kind)
        del self.entries(kind)[name]


def _changeable(kind: str, entry: Client | User | None, field: str) -> None:
    """emulator.yaml's clients and users are the file's: the API neither replaces nor removes them."""
    if entry is not None and entry.source == "config":
        raise ConflictError(
            f"{kind.title()} in the configuration", f"{kind} {entry.name!r} is changed in emulator.yaml", field
        )


# the two kinds of entry (one owner: the API's routes and messages read this): the key naming one, its maker
KINDS: dict[str, tuple[str, Callable[[dict[str, Any], str, str], Client | User]]] = {
    "client": ("id", make_client),
    "user": ("username", make_user),
}
