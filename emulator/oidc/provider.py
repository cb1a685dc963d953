"""One vendor's OpenID provider: the protocol, with HTTP left to ``http.py``.

Each method takes what the request carried (parameters, the client's credentials, where it came
from) and returns an ``Answer``; each protocol step is first played as a scenario action (see
``live.py``), and the tokens are minted from that occurrence, so the ids in the token and in the
webhook are one and the same. A refusal is the vendor's own answer (its ``oidc.yaml``) and the matching
action failing with the refusal's neutral error code.

State (codes, sessions, refresh tokens) lives in memory: a restarted server has forgotten every
login, as a restarted Keycloak in development mode does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from emulator.oidc.clients import Client, Directory, Settings
from emulator.oidc.keys import KeySet, half_hash
from emulator.oidc.live import LiveEvents
from emulator.oidc.profile import GRANTS, Profile, Refusal
from emulator.vendors.templates import OMIT

if TYPE_CHECKING:
    from emulator.server.service import Service

VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 4.1
PENDING_SECONDS = 600  # a login page left open this long must be started again
DEFAULT_LIFETIMES = {"access": timedelta(minutes=5), "refresh": timedelta(minutes=30), "code": timedelta(minutes=1)}
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass
class Answer:
    """What to send back: JSON (a dict), a page (text), or a redirect (``location``)."""

    status: int = 200
    body: dict[str, Any] | str | None = None
    location: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class AuthRequest:
    """A validated authorization request, waiting for the login page (or approved at once)."""

    id: str
    client: Client
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    challenge: str | None
    method: str | None
    response_mode: str
    created: float = field(default_factory=time.time)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))


@dataclass
class Session:
    sid: str
    actor: str
    record: dict[str, Any]  # the player's session (its id, start, tokens)
    clients: set[str] = field(default_factory=set)
    active: bool = True


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str | None
    nonce: str | None
    scope: str
    sid: str
    expires: float
    used: bool = False


@dataclass
class Refresh:
    jti: str
    sid: str | None
    client_id: str
    actor: str
    scope: str
    nonce: str | None
    expires: float
    revoked: bool = False
    used: bool = False


def _b64url_sha256(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("ascii")).digest()).rstrip(b"=").decode()


def client_credentials(form: Mapping[str, str], authorization: str | None) -> tuple[str | None, str | None]:
    """(client_id, secret) from HTTP Basic (client_secret_basic) or the form (client_secret_post)."""
    if authorization and authorization[:6].lower() == "basic ":
        from urllib.parse import unquote

        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None, None
        name, _, secret = decoded.partition(":")
        return unquote(name), unquote(secret)
    return form.get("client_id"), form.get("client_secret")


class Provider:
    """The provider of one vendor: its paths, tokens and refusals, and its live events."""

    def __init__(
        self, service: Service, profile: Profile, settings: Settings, directory: Directory, keys: KeySet
    ) -> None:
        self.service = service
        self.profile = profile
        self.settings = settings
        self.directory = directory
        self.keys = keys
        self.vendor = profile.vendor
        self.live = LiveEvents(service, profile.vendor, settings.realm, settings.tenant)
        self.player = self.live.player
        self.pending: dict[str, AuthRequest] = {}
        self.codes: dict[str, Code] = {}
        self.sessions: dict[str, Session] = {}
        self.refresh_tokens: dict[str, Refresh] = {}  # by jti
        self.opaque: dict[str, str] = {}  # an opaque refresh token -> its jti
        self.revoked: set[str] = set()  # access-token jtis
        lifetimes = {**DEFAULT_LIFETIMES, **profile.lifetimes, **settings.lifetimes}
        self.lifetime = {name: value.total_seconds() for name, value in lifetimes.items()}
        self.rotate = profile.rotate if settings.rotate is None else settings.rotate
        self.reuse = profile.reuse if settings.reuse is None else settings.reuse
        self._client_views: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # id -> (player's, claims')
        self.tasks: list[Any] = []  # deliveries started by this provider (tests wait on them)

    # -- names and documents -------------------------------------------------------------------
    def names(self) -> dict[str, str]:
        return {"realm": self.settings.realm, "tenant": self.player.shared["tenant"]["id"]}

    def path(self, endpoint: str) -> str:
        return self.profile.paths[endpoint].format(**self.names())

    def issuer(self, base: str) -> str:
        if self.settings.issuer:
            return self.settings.issuer
        return self.profile.issuer.format(base=base, **self.names())

    def discovery(self, base: str) -> dict[str, Any]:
        """The discovery document (OpenID Connect Discovery 1.0)."""
        url = {name: base + self.path(name) for name in self.profile.paths}
        return {
            "issuer": self.issuer(base),
            "authorization_endpoint": url["authorize"],
            "token_endpoint": url["token"],
            "introspection_endpoint": url["introspect"],
            "userinfo_endpoint": url["userinfo"],
            "end_session_endpoint": url["logout"],
            "revocation_endpoint": url["revoke"],
            "jwks_uri": url["jwks"],
            "grant_types_supported": list(GRANTS),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "HS256"],
            "userinfo_signing_alg_values_supported": ["RS256", "ES256", "HS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "scopes_supported": ["openid", "email", "profile", "offline_access"],
            "claims_supported": ["aud", "sub", "iss", "auth_time", "name", "given_name", "family_name",
                                 "preferred_username", "email", "email_verified", "acr", "sid", "nonce"],
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }  # fmt: skip

    # -- events ----------------------------------------------------------------------------------
    def _step(
        self,
        action: str,
        actor: str,
        client: Client | str,
        /,  # a required_action's own parameter is named action too
        error: str | None = None,
        session: Session | None = None,
        ip: str | None = None,
        deliver: bool = True,
        redirect_uri: str | None = None,
        **params: Any,
    ) -> tuple[list[Any], dict[str, Any]]:
        """Play ``action`` now; deliver its events unless the caller adds to them first. The occurrences
        and the context of the first (its ids are the tokens')."""
        client_id = client.id if isinstance(client, Client) else client
        self.player.client(client_id, redirect_uri)
        occurrences = self.player.perform(
            action, actor, client_id, params, error, session.record if session else None, ip
        )
        if deliver:
            self._deliver(action, occurrences)
        return occurrences, occurrences[0].context

    def _deliver(self, action: str, occurrences: list[Any]) -> None:
        task = self.live.deliver(action, occurrences)
        if task is not None:
            self.tasks.append(task)
            del self.tasks[:-100]

    def _refuse(
        self,
        name: str,
        action: str,
        actor: str,
        client: Client | str,
        ip: str | None,
        variant: str = "",
        **params: Any,
    ) -> Answer:
        """The vendor's answer to refusal ``name`` (or its ``variant``), and the action failing with the
        refusal's neutral error, unless the vendor records no event for it."""
        refusal = self.profile.refusal(name, variant)
        if refusal.event is not None:
            self._step(action, actor, client, refusal.event, ip=ip, **params)
        client_id = client.id if isinstance(client, Client) else client
        return self.refused(refusal, client_id="" if client_id == "-" else client_id)

    @staticmethod
    def refused(refusal: Refusal, **names: str) -> Answer:
        if refusal.page is not None:
            return Answer(refusal.status, refusal.page_text(**names))
        headers = {"Cache-Control": "no-store"}
        if refusal.status == 401:
            headers["WWW-Authenticate"] = f'Bearer error="{refusal.error}"'
        return Answer(refusal.status, refusal.body(**names), headers=headers)

    def _nobody(self, client_id: str) -> str:
        """The actor of a refusal that names no user (an unknown client, a bad code)."""
        name = "<unknown>"
        if name not in self.player.actors:
            self.player.actor(name, None, registered=False, user_agent=None)
        return name

    # -- authorize -------------------------------------------------------------------------------
    def authorize(self, query: Mapping[str, str], ip: str | None) -> AuthRequest | Answer:
        """Check an authorization request: a request the login page may continue, or a refusal."""
        client_id = query.get("client_id") or ""
        client = self.directory.client(client_id)
        if client is None:
            return self._refuse(
                "unknown_client_page", "login", self._nobody(client_id), client_id or "-", ip, exchange=False
            )
        redirect_uri = query.get("redirect_uri") or (client.redirect_uris[0] if len(client.redirect_uris) == 1 else "")
        if not redirect_uri or not client.redirect_ok(redirect_uri) or "*" in redirect_uri:
            return self._refuse("bad_redirect_uri", "login", self._nobody(client_id), client, ip, exchange=False)
        state = query.get("state")
        mode = query.get("response_mode") or "query"
        if "authorization_code" not in client.grants:
            return self._back(redirect_uri, mode, {"error": "unauthorized_client", "state": state})
        if query.get("response_type") != "code":
            return self._back(redirect_uri, mode, {"error": "unsupported_response_type", "state": state})
        challenge = query.get("code_challenge")
        method = query.get("code_challenge_method") or ("plain" if challenge else None)
        if method is not None and method not in ("plain", "S256"):
            description = "Invalid parameter: code challenge method is not configured one"
            return self._back(
                redirect_uri, mode, {"error": "invalid_request", "error_description": description, "state": state}
            )
        if method is not None and not challenge:
            description = "Missing parameter: code_challenge"
            return self._back(
                redirect_uri, mode, {"error": "invalid_request", "error_description": description, "state": state}
            )
        request = AuthRequest(
            id=secrets.token_urlsafe(18),
            client=client,
            redirect_uri=redirect_uri,
            scope=query.get("scope") or "openid",
            state=state,
            nonce=query.get("nonce"),
            challenge=challenge,
            method=method,
            response_mode=mode if mode in ("query", "fragment", "form_post") else "query",
        )
        now = time.time()
        for key in [k for k, r in self.pending.items() if now - r.created > PENDING_SECONDS]:
            del self.pending[key]
        self.pending[request.id] = request
        return request

    def _back(self, redirect_uri: str, mode: str, params: dict[str, Any]) -> Answer:
        """Back to the client with ``params`` in the query (or the fragment)."""
        clean = {k: v for k, v in params.items() if v is not None}
        if mode == "fragment":
            return Answer(302, location=f"{redirect_uri}#{urlencode(clean)}")
        joiner = "&" if "?" in redirect_uri else "?"
        return Answer(302, location=f"{redirect_uri}{joiner}{urlencode(clean)}")

    def login(
        self,
        request: AuthRequest,
        username: str,
        password: str | None,
        outcome: str,
        ip: str | None,
        user_agent: str | None,
        error: str | None = None,
        upstream: str | None = None,
    ) -> Answer | str:
        """The login page's answer: back to the client with a code, or the vendor's message (a str).

        ``outcome`` (outcomes.yaml) is played as its scenario action; a wrong password fails the login
        before a required action is reached (an upstream provider checks its own)."""
        from emulator.oidc.outcomes import outcomes

        chosen = outcomes().get(outcome)
        if chosen is None:
            return "invalid_request"
        user = self.directory.user(username)
        known = user is not None or not self.directory.users
        actor = self.player.actor(user.username if user else username, user, known, user_agent)
        action, given, failure = chosen.played(error, upstream)
        checked = failure is None and action != "sso_login" and user is not None and user.password is not None
        checked = checked and password is not None  # None: auto-approve, which types no password
        if checked and not hmac.compare_digest(user.password.encode(), (password or "").encode()):  # type: ignore[union-attr]
            action, given, failure = "login", {}, "invalid_user_credentials"
        occurrences, _ctx = self._step(
            action, actor, request.client, failure, ip=ip, redirect_uri=request.redirect_uri, exchange=False, **given
        )
        if chosen.back is not None and action == chosen.action:  # the user said no: the app hears it
            self.pending.pop(request.id, None)
            return self._back(
                request.redirect_uri, request.response_mode, {"error": chosen.back, "state": request.state}
            )
        failed: str | None = occurrences[0].error
        if failed is not None:
            return failed
        self.pending.pop(request.id, None)
        record = self.player.session_of(actor) or {}
        session = Session(record["id"], actor, record, {request.client.id})
        self.sessions[session.sid] = session
        code = secrets.token_urlsafe(32)
        self.codes[code] = Code(
            request.client.id, request.redirect_uri, request.challenge, request.method, request.nonce,
            request.scope, session.sid, time.time() + self.lifetime["code"],
        )  # fmt: skip
        params: dict[str, Any] = {"state": request.state, "session_state": session.sid, "code": code}
        if self.profile.response_iss:  # RFC 9207
            params["iss"] = self.issuer(self.service_base)
        return self._back(request.redirect_uri, request.response_mode, params)

    def approve(self, request: AuthRequest, username: str, ip: str | None, user_agent: str | None) -> Answer:
        """Sign in as ``username`` without the page (auto-approve, for headless test suites), ending as
        the setting's outcome says."""
        s = self.settings
        answer = self.login(request, username, None, s.auto_outcome, ip, user_agent, s.auto_error, s.auto_upstream)
        if isinstance(answer, str):
            return Answer(400, f"auto-approve as {username!r} failed: {answer}")
        return answer

    # -- token -----------------------------------------------------------------------------------
    def token(self, form: Mapping[str, str], authorization: str | None, ip: str | None) -> Answer:
        grant = form.get("grant_type") or ""
        action = {"authorization_code": "code_to_token", "refresh_token": "refresh"}.get(grant, "api_login")
        extra = {"grant": grant} if action == "api_login" and grant in ("client_credentials", "password") else {}
        if action == "api_login" and not extra:
            extra = {"grant": "client_credentials"}
        client_id, secret = client_credentials(form, authorization)
        if grant not in GRANTS:  # the grant type is looked up before the client authenticates (Keycloak's order)
            return self._refuse(
                "unsupported_grant", action, self._nobody(client_id or ""), client_id or "-", ip, **extra
            )
        client = self.directory.client(client_id)
        if client is None:
            return self._refuse("unknown_client", action, self._nobody(client_id or ""), client_id or "-", ip, **extra)
        if not client.authenticates(secret):
            return self._refuse("bad_secret", action, self._nobody(client.id), client, ip, **extra)
        if grant == "client_credentials" and client.secret is None:  # a public client has no service account
            return self._refuse("public_client_credentials", action, self._nobody(client.id), client, ip, **extra)
        if grant not in client.grants:
            return self._refuse("grant_not_allowed", action, self._nobody(client.id), client, ip, grant, **extra)
        if grant == "authorization_code":
            return self._code(form, client, ip)
        if grant == "refresh_token":
            return self._refresh(form, client, ip)
        if grant == "client_credentials":
            actor = self.player.service_account(client.id)
            _, ctx = self._step("api_login", actor, client, ip=ip, grant="client_credentials")
            return self._tokens(
                ctx, client, None, form.get("scope") or "profile email", None, refresh=False, ident=False
            )
        return self._password(form, client, ip)

    def _code(self, form: Mapping[str, str], client: Client, ip: str | None) -> Answer:
        code = self.codes.get(form.get("code") or "")
        nobody = self._nobody(client.id)
        if code is None or code.used or code.client_id != client.id:
            if code is not None and code.used:  # a code used twice ends what it gave (RFC 6749 4.1.2)
                self._end_client_session(code.sid, client.id)
            return self._refuse("code_invalid", "code_to_token", nobody, client, ip)
        session = self.sessions.get(code.sid)
        actor = session.actor if session else nobody
        if code.expires < time.time():
            return self._refuse("code_expired", "code_to_token", actor, client, ip)
        if form.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
            return self._refuse("redirect_mismatch", "code_to_token", actor, client, ip)
        verifier = form.get("code_verifier")
        if code.challenge is not None:
            if verifier is None:
                return self._refuse("verifier_missing", "code_to_token", actor, client, ip)
            if not VERIFIER.fullmatch(verifier):
                return self._refuse("verifier_invalid", "code_to_token", actor, client, ip)
            expected = _b64url_sha256(verifier) if code.method == "S256" else verifier
            if not hmac.compare_digest(expected.encode(), code.challenge.encode()):
                return self._refuse("verifier_mismatch", "code_to_token", actor, client, ip)
        code.used = True
        if session is None or not session.active:
            return self._refuse("code_invalid", "code_to_token", actor, client, ip)
        occurrences, ctx = self._step("code_to_token", actor, client, session=session, ip=ip, deliver=False)
        answer = self._tokens(ctx, client, session, code.scope, code.nonce, occurrences=occurrences)
        self._deliver("code_to_token", occurrences)
        return answer

    def _refresh(self, form: Mapping[str, str], client: Client, ip: str | None) -> Answer:
        record = self._refresh_record(form.get("refresh_token") or "")
        if record is None:
            return self._refuse("refresh_invalid", "refresh", self._nobody(client.id), client, ip)
        # Keycloak's order: the token's own life, its client, the user session, the client's part of it
        if record.expires < time.time():
            return self._refuse("refresh_expired", "refresh", record.actor, client, ip)
        if record.client_id != client.id:
            return self._refuse("refresh_wrong_client", "refresh", record.actor, client, ip)
        session = self.sessions.get(record.sid) if record.sid else None
        if record.sid and (session is None or not session.active):
            return self._refuse("refresh_session_ended", "refresh", record.actor, client, ip)
        if record.revoked:
            return self._refuse("refresh_revoked", "refresh", record.actor, client, ip)
        if record.used and not self.reuse:
            return self._refuse("refresh_reused", "refresh", record.actor, client, ip)
        record.used = True
        occurrences, ctx = self._step("refresh", record.actor, client, session=session, ip=ip, deliver=False)
        if session is not None:
            session.record = self.player.session_of(record.actor) or session.record
        if not self.rotate:
            ctx["tokens"]["refresh"] = record.jti  # the same refresh token comes back
        answer = self._tokens(ctx, client, session, record.scope, record.nonce, occurrences=occurrences, reuse=record)
        self._deliver("refresh", occurrences)
        return answer

    def _password(self, form: Mapping[str, str], client: Client, ip: str | None) -> Answer:
        username = form.get("username") or ""
        password = form.get("password") or ""
        user = self.directory.user(username)
        known = user is not None or not self.directory.users
        actor = self.player.actor(user.username if user else username or "<unknown>", user, known, None)
        bad = not username or (user is not None and user.password is not None and not hmac.compare_digest(
            user.password.encode(), password.encode()))  # fmt: skip
        if bad or not known:
            return self._refuse("bad_password", "api_login", actor, client, ip, grant="password")
        occurrences, ctx = self._step("api_login", actor, client, ip=ip, deliver=False, grant="password")
        record = self.player.session_of(actor) or {}
        session = Session(record["id"], actor, record, {client.id})
        self.sessions[session.sid] = session
        answer = self._tokens(ctx, client, session, form.get("scope") or "openid email profile", None,
                              occurrences=occurrences)  # fmt: skip
        self._deliver("api_login", occurrences)
        return answer

    # -- minting ---------------------------------------------------------------------------------
    def _claims_context(self, ctx: dict[str, Any], client: Client, session: Session | None, scope: str,
                        nonce: str | None, issuer: str) -> dict[str, Any]:  # fmt: skip
        actor = ctx["actor"]
        now = int(time.time())
        user = actor.get("kind") != "client"
        return {
            "issuer": issuer,
            "client": self._client_view(ctx["client"]),
            "actor": actor,
            "user": user,
            "roles": actor.get("roles") or [],
            "session": session.record if session else None,
            "tokens": ctx.get("tokens") or {},
            "scope": scope,
            "scopes": scope.split(),
            "nonce": nonce,
            "iat": now,
            "realm": ctx["realm"],
            "tenant": ctx["tenant"],
            "features": self.live.features,
            "ip": ctx.get("ip"),
            "authentication_type": "PASSWORD",
        }

    def _client_view(self, client: dict[str, Any]) -> dict[str, Any]:
        """The client as the claims read it, one object per client (while the player's is the same):
        the templates' parts that read only the client are then rendered once, not per token."""
        kept = self._client_views.get(client["id"])
        if kept is None or kept[0] is not client:
            kept = self._client_views[client["id"]] = (client, {**client, "origins": []})
        return kept[1]

    def _render(self, kind: str, values: dict[str, Any]) -> dict[str, Any]:
        renderer = self.profile.claims.get(kind)
        if renderer is None:
            return {}
        out = renderer(dict(values))
        return {k: v for k, v in out.items() if v is not None and v is not OMIT} if isinstance(out, dict) else {}

    def _tokens(
        self,
        ctx: dict[str, Any],
        client: Client,
        session: Session | None,
        scope: str,
        nonce: str | None,
        refresh: bool = True,
        ident: bool = True,
        occurrences: list[Any] | None = None,
        reuse: Refresh | None = None,
    ) -> Answer:
        base = self.service_base
        algorithm = client.algorithm or self.settings.algorithm
        values = self._claims_context(ctx, client, session, scope, nonce, self.issuer(base))
        tokens = values["tokens"]
        if not tokens:
            tokens = values["tokens"] = {"access": secrets.token_hex(16), "id_token": secrets.token_hex(16)}
        now = values["iat"]
        values["exp"] = now + int(self.lifetime["access"])
        access = self.keys.sign(self._render("access", values), algorithm, "JWT", client.secret)
        body: dict[str, Any] = {"access_token": access, "expires_in": int(self.lifetime["access"])}
        refresh_token = None
        if refresh and "refresh" in tokens:
            refresh_token = self._refresh_token(values, client, session, scope, nonce, reuse)
            values["refresh_token"] = refresh_token
            values["refresh_expires_in"] = int(self.lifetime["refresh"])
        body["token_type"] = "Bearer"
        if ident and "openid" in values["scopes"]:
            values["exp"] = now + int(self.lifetime["access"])
            values["at_hash"] = half_hash(access, algorithm)
            body["id_token"] = self.keys.sign(self._render("id", values), algorithm, "JWT", client.secret)
        if refresh_token:
            body["refresh_token"] = refresh_token
        body["scope"] = scope
        body.update(self._render("response", values))
        if session is not None:
            session.clients.add(client.id)
        return Answer(200, body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _refresh_token(self, values: dict[str, Any], client: Client, session: Session | None, scope: str,
                       nonce: str | None, reuse: Refresh | None) -> str:  # fmt: skip
        jti = values["tokens"]["refresh"]
        actor = values["actor"]["name"]
        expires = time.time() + self.lifetime["refresh"]
        if reuse is not None and reuse.jti == jti:  # not rotated: the same token, its life unchanged
            record = reuse
        else:
            record = Refresh(jti, session.sid if session else None, client.id, actor, scope, nonce, expires)
            self.refresh_tokens[jti] = record
        if self.profile.refresh_format == "opaque":
            found = next((t for t, j in self.opaque.items() if j == jti), None) if reuse is not None else None
            if found is None:
                found = secrets.token_urlsafe(48)
                self.opaque[found] = jti
            return found
        values = dict(values, exp=int(record.expires))
        return self.keys.sign(self._render("refresh", values), self.profile.refresh_algorithm, "JWT")

    def _refresh_record(self, token: str) -> Refresh | None:
        if self.profile.refresh_format == "opaque":
            jti = self.opaque.get(token)
        else:
            claims = self.keys.verify(token, [self.profile.refresh_algorithm])
            jti = claims.get("jti") if claims else None
        return self.refresh_tokens.get(jti) if isinstance(jti, str) else None

    service_base = ""  # the base URL of the current request, set by the HTTP layer

    # -- the resource side ---------------------------------------------------------------------
    def access_claims(self, token: str) -> dict[str, Any] | None:
        """An access token's claims while it is active (signed here, not expired, not revoked)."""
        secrets_ = [c.secret for c in self.directory.clients.values() if c.secret]
        claims = self.keys.verify(token, ["RS256", "ES256"])
        if claims is None:
            for secret in secrets_:
                claims = self.keys.verify(token, ["HS256"], secret)
                if claims is not None:
                    break
        if claims is None or claims.get("typ") in ("Refresh", "ID") or claims.get("exp", 0) < time.time():
            return None
        if claims.get("jti") in self.revoked:
            return None
        sid = claims.get("sid")
        if sid and (sid not in self.sessions or not self.sessions[sid].active):
            return None
        return claims

    def userinfo(self, authorization: str | None, ip: str | None) -> Answer:
        token = authorization[7:].strip() if authorization and authorization[:7].lower() == "bearer " else ""
        claims = self.access_claims(token) if token else None
        if claims is None:
            refusal = self.profile.refusal("bad_token")
            return Answer(401, refusal.body(), headers={"WWW-Authenticate": f'Bearer error="{refusal.error}"'})
        session = self.sessions.get(claims.get("sid", ""))
        actor = self.player.actors.get(session.actor) if session else None
        if actor is None:
            actor = next(
                (a for a in self.player.actors.values() if a.get("id") == claims.get("sub")), {"id": claims["sub"]}
            )
        scope = str(claims.get("scope", "openid"))
        client_id = str(claims.get("azp") or claims.get("aud") or "")
        values = {
            "actor": actor, "session": session.record if session else None, "scopes": scope.split(),
            "client": self.player.client(client_id), "roles": actor.get("roles") or [],
            "tenant": self.player.shared["tenant"], "realm": self.player.shared["realm"],
        }  # fmt: skip
        return Answer(200, self._render("userinfo", values))

    def _client_auth(self, form: Mapping[str, str], authorization: str | None) -> Client | None:
        client_id, secret = client_credentials(form, authorization)
        client = self.directory.client(client_id)
        if client is None:
            return None
        if not client.authenticates(secret):
            return None
        return client

    def introspect(self, form: Mapping[str, str], authorization: str | None) -> Answer:
        """RFC 7662: what an active token says, or ``{"active": false}``."""
        client = self._client_auth(form, authorization)
        if client is None:
            return self.refused(self.profile.refusal("unknown_client"))
        token = form.get("token") or ""
        record = self._refresh_record(token)
        if record is not None:
            session = self.sessions.get(record.sid or "")
            active = (
                not record.revoked
                and record.expires > time.time()
                and (record.sid is None or bool(session and session.active))
            )
            if not active:
                return Answer(200, {"active": False})
            actor = self.player.actors.get(record.actor, {})
            body = {"active": True, "token_type": "Refresh", "client_id": record.client_id, "scope": record.scope,
                    "sub": actor.get("id"), "username": actor.get("username"), "exp": int(record.expires),
                    "jti": record.jti, "sid": record.sid}  # fmt: skip
            return Answer(200, {k: v for k, v in body.items() if v is not None})
        claims = self.access_claims(token)
        if claims is None:
            return Answer(200, {"active": False})
        extra = {"active": True, "client_id": claims.get("azp") or claims.get("aud"), "token_type": "Bearer"}
        if "preferred_username" in claims:
            extra["username"] = claims["preferred_username"]
        return Answer(200, {**claims, **extra})

    def revoke(self, form: Mapping[str, str], authorization: str | None) -> Answer:
        """RFC 7009: the token no longer works (an unknown token is no error)."""
        client = self._client_auth(form, authorization)
        if client is None:
            return self.refused(self.profile.refusal("unknown_client"))
        token = form.get("token") or ""
        record = self._refresh_record(token)
        if record is not None and record.client_id == client.id:
            record.revoked = True
            if record.sid:  # the client's part of the session ends with it (Keycloak's revocation)
                self._end_client_session(record.sid, client.id)
            return Answer(200, "")
        claims = self.access_claims(token)
        if claims is not None and claims.get("jti"):
            self.revoked.add(str(claims["jti"]))
        return Answer(200, "")

    def _end_client_session(self, sid: str, client_id: str) -> None:
        for record in self.refresh_tokens.values():
            if record.sid == sid and record.client_id == client_id:
                record.revoked = True
        session = self.sessions.get(sid)
        if session is not None:
            session.clients.discard(client_id)

    # -- logout ----------------------------------------------------------------------------------
    def logout(self, params: Mapping[str, str], ip: str | None, base: str) -> Answer:
        """RP-initiated logout: the session ends (LOGOUT), its clients hear it back-channel, and the
        browser returns to a registered post-logout URI."""
        hint = params.get("id_token_hint")
        claims = None
        if hint:
            secrets_ = [c.secret for c in self.directory.clients.values() if c.secret]
            claims = self.keys.verify(hint, ["RS256", "ES256"]) or next(
                (c for c in (self.keys.verify(hint, ["HS256"], s) for s in secrets_) if c), None
            )
        client_id = params.get("client_id") or (str(claims.get("aud") or claims.get("azp")) if claims else None)
        client = self.directory.client(client_id)
        target = params.get("post_logout_redirect_uri")
        if target and (client is None or not client.redirect_ok(target, client.post_logout_redirect_uris)):
            return Answer(400, "Invalid redirect uri")
        session = self.sessions.get(str(claims.get("sid"))) if claims else None
        if session is not None and session.active:
            session.active = False
            _occurrences, _ = self._step("logout", session.actor, client or next(iter(session.clients), "-"),
                                        session=session, ip=ip)  # fmt: skip
            self._backchannel(session, base)
        if target:
            state = params.get("state")
            return self._back(target, "query", {"state": state}) if state else Answer(302, location=target)
        return Answer(200, "You are logged out.")

    def _backchannel(self, session: Session, base: str) -> None:
        """OpenID Connect Back-Channel Logout 1.0: a logout token POSTed to each client that asked."""
        actor = self.player.actors.get(session.actor, {})
        for client_id in sorted(session.clients):
            client = self.directory.client(client_id)
            if client is None or not client.backchannel_logout_uri:
                continue
            claims: dict[str, Any] = {
                "iat": int(time.time()),
                "jti": secrets.token_hex(16),
                "iss": self.issuer(base),
                "aud": client.id,
                "sub": actor.get("id"),
                "sid": session.sid,
                "events": {LOGOUT_EVENT: {}},
            }
            if self.profile.logout_token_typ:
                claims["typ"] = self.profile.logout_token_typ
            token = self.keys.sign(claims, client.algorithm or self.settings.algorithm, "logout+jwt", client.secret)
            self.service.background(_post_logout(client.backchannel_logout_uri, token))


async def _post_logout(url: str, token: str) -> None:
    """POST ``logout_token`` as a form; an unreachable client is the client's problem (as for the vendors)."""
    import aiohttp

    try:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(url, data={"logout_token": token}):
            pass
    except (aiohttp.ClientError, TimeoutError, OSError):
        return
