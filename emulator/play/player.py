"""The player: a scenario plus a seed and a start time become a stream of occurrences.

It keeps the IdP-side state a story needs (who is registered, who has a session, which
tokens are current, brute-force counters) so that vendors only translate, never decide.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from emulator.errors import Location, PlayError
from emulator.play.actors import DEFAULT_LOCALE, make_actor, new_faker
from emulator.play.clock import FIXED_START, VirtualClock, epoch_ms
from emulator.play.ids import stable_uuid, uuid4, uuid4_unformatted
from emulator.play.occurrence import Occurrence
from emulator.scenario.model import ActionStep, Repeat, Scenario, Step, Wait

DEFAULT_STEP_GAP = timedelta(seconds=1)
SCOPE = "openid email profile"
ACCESS_TOKEN_SECONDS = 300
_NEEDS_SESSION = {"refresh", "logout", "code_to_token", "background_login", "propagate_session"}
# actions whose success leaves the user with a session (a required action belongs to a login)
_STARTS_SESSION = {"login", "sso_login", "api_login", "required_action"}
_RESERVED = {"actor", "client", "error", "ip"}
_REISSUES = {"refresh", "code_to_token", "background_login"}  # actions that issue the session's tokens anew
_PROFILE = {"email", "first_name", "last_name", "full_name", "email_verified", "registered"}


class Player:
    """Plays one scenario; ``occurrences()`` is a generator, so memory stays flat."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        start: datetime | None = None,
        step_limit: int | None = None,
        vendor: str | None = None,
        tag: str = "",
        wants: Callable[[str, str | None], bool] | None = None,
        reads: Callable[[tuple[str, ...]], bool] | None = None,
    ) -> None:
        """``step_limit`` stops the play after that many steps (``validate`` checks a bounded prefix).
        ``tag`` makes this play's people its own (see ``make_actor``).

        With ``vendor``, another vendor's raw events (``emit``) are passed over: they change nothing
        else, so the play draws what they would have drawn and moves on without building them.
        With ``wants`` (an action and its error: whether the vendor may make events of it), an
        occurrence it refuses is played (what it changes, what it draws) but not made or yielded:
        a vendor with no event for a failed login costs that login its bookkeeping only.
        With ``reads`` (a context path: whether the vendor's templates may show what is there), the
        token ids, auth session ids and identity brokers' session ids no template shows are drawn
        but not formatted as text (the same draws: every other id stays as it was).
        """
        self.step_limit = step_limit
        self.vendor = vendor
        self.wants = wants
        self.steps_played = 0
        self.scenario = scenario
        self.seed = seed
        # the scenario's name joins the seed: two scenarios never share ids for the same seed
        self.rng = random.Random(f"{seed}:{scenario.name}")
        self.clock = VirtualClock(start or FIXED_START)
        defaults = scenario.defaults
        self.gap: timedelta = defaults.get("step_gap", DEFAULT_STEP_GAP)
        locale = defaults.get("locale", DEFAULT_LOCALE)
        fake = new_faker(locale, f"{seed}:{scenario.name}")
        start_ms = epoch_ms(self.clock.now)
        self.actors = {}
        for name, spec in scenario.actors.items():
            own = spec.fields.get("locale")
            maker = fake if not own or own == locale else new_faker(own, f"{seed}:{scenario.name}:{name}")
            self.actors[name] = make_actor(spec, maker, self.rng, own or locale, start_ms, tag)
        self.clients: dict[str, dict[str, Any]] = {}
        self.step_params: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        self.registrations: dict[tuple[str, str], dict[str, Any]] = {}
        self.fake = fake
        self.sessions: dict[str, dict[str, Any]] = {}
        self.last_login: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.locked_until: dict[str, datetime] = {}
        lockout = defaults.get("lockout") or {}
        self.lockout_failures = lockout.get("failures", 0)
        self.lockout_for = lockout.get("duration", timedelta(minutes=15))
        self.seq = 0
        self.shared = self._shared(defaults)
        shown = reads or _everything
        # each token id formatted only where a template may show it (a refresh token's also shows as the
        # next refresh's ``previous_refresh``)
        self.token_ids = tuple(
            uuid4 if any(shown((*at, name)) for at in (("tokens",), ("session", "tokens")) for name in names)
            else uuid4_unformatted
            for names in (("code",), ("access",), ("refresh", "previous_refresh"), ("id_token",))
        )  # fmt: skip
        self.auth_session_id = uuid4 if shown(("auth_session_id",)) else uuid4_unformatted
        self.shows_broker_session = shown(("provider", "broker_session_id"))

    @staticmethod
    def _shared(defaults: dict[str, Any]) -> dict[str, Any]:
        realm = defaults.get("realm", "acme")
        tenant = defaults.get("tenant", "default")
        account = defaults.get("account", realm)
        return {
            "realm": {"name": realm, "id": stable_uuid("realm", realm)},
            "tenant": {"name": tenant, "id": stable_uuid("tenant", tenant)},
            "account": {"name": account, "id": stable_uuid("account", account)},
            "resource": defaults.get("resource", "User Portal"),
            "store": defaults.get("store", "Customers"),
            "default_client": defaults.get("client", "web-app"),
        }

    def occurrences(self) -> Iterator[Occurrence]:
        yield from self._steps(self.scenario.steps)

    # -- control flow ----------------------------------------------------------------------
    def _steps(self, steps: list[Step]) -> Iterator[Occurrence]:
        for step in steps:
            self.steps_played += 1
            if self.step_limit is not None and self.steps_played > self.step_limit:
                return
            try:
                if isinstance(step, Wait):
                    self.clock.advance(step.duration)
                elif isinstance(step, Repeat):
                    first = self.clock.now
                    for i in range(step.count):
                        if i and step.every is not None:
                            self.clock.advance_to(first + step.every * i)
                        yield from self._steps(step.steps)
                elif step.action == "emit" and self.vendor is not None and step.params.get("vendor") != self.vendor:
                    # another vendor's raw event changes nothing else: what it would have drawn, and on
                    uuid4_unformatted(self.rng)  # the auth session id its context would have drawn
                    self._pass_over()
                    self.clock.advance(self.gap)
                else:
                    yield from self._act(step)
            except OverflowError:
                raise PlayError("the scenario clock runs past the year 9999 here", step.location) from None

    def _act(self, step: ActionStep) -> Iterator[Occurrence]:
        params = step.params
        actor_name = params.get("actor")
        if actor_name is None:
            actor: dict[str, Any] = {}
        else:
            actor = self.actors[actor_name]
        error = params.get("error")
        action = step.action
        now = self.clock.now
        if action in {"login", "api_login"} and actor and actor.get("registered", True):
            error, lockout = self._credentials(actor, error, now)
        else:
            lockout = False
        if action in {"login", "background_login"} and actor and not actor["registered"]:
            error = error or "user_not_found"
        if action == "api_login" and params.get("grant") == "password" and actor and not actor["registered"]:
            error = error or "user_not_found"  # the password grant checks the user like the login form
        session = self.sessions.get(actor.get("name", ""))
        if action in _NEEDS_SESSION and session is None and error is None:
            raise PlayError(
                f"'{actor_name}' has no session to {action.replace('_', ' ')}: "
                "add a login before this step, or give it an error",
                step.location,
            )
        if not (lockout or self.wants is None or self.wants(action, error)):
            # the vendor has no event for it: played (what it changes and draws), not made
            if error is None:
                self._context(action, actor, params, error, step.location, made=False)
            else:
                self._failed_unmade(action, actor, params, session)
            self._pass_over()
            self.clock.advance(self.gap)
            return
        ctx = self._context(action, actor, params, error, step.location)
        occurrence = self._occurrence(action, error, ctx, step.location)
        if step.faults:
            occurrence.faults = step.faults
        if step.transaction:
            occurrence.transaction = step.transaction
        yield occurrence
        if lockout:
            lock_ctx = dict(ctx, action="lockout", error=None)
            lock_ctx["lockout"] = {
                "failures": self.lockout_failures,
                "until_ms": epoch_ms(self.locked_until[actor["name"]]),
            }
            locked = self._occurrence("lockout", None, lock_ctx, step.location)
            locked.time += timedelta(milliseconds=locked.offset_ms(1))
            yield locked
        self.clock.advance(self.gap)

    def _pass_over(self) -> None:
        """What making an occurrence changes and draws, for one that is not made."""
        self.seq += 1
        self.rng.getrandbits(42)  # its gaps

    def _occurrence(self, action: str, error: str | None, ctx: dict[str, Any], where: Location) -> Occurrence:
        self.seq += 1
        # one draw decides the gaps between the events this action yields
        return Occurrence(action, self.clock.now, error, ctx, where, self.seq, self.rng.getrandbits(42))

    def _credentials(self, actor: dict[str, Any], error: str | None, now: datetime) -> tuple[str | None, bool]:
        """Brute-force bookkeeping: count credential failures, lock out at the threshold."""
        name = actor["name"]
        until = self.locked_until.get(name)
        if until and now < until:
            # brute-force protection answers before the password is even checked
            if error in (None, "invalid_user_credentials"):
                error = "user_temporarily_disabled"
            return error, False
        if error != "invalid_user_credentials":
            if error is None:
                self.failures[name] = 0
            return error, False
        self.failures[name] = self.failures.get(name, 0) + 1
        if self.lockout_failures and self.failures[name] >= self.lockout_failures:
            self.failures[name] = 0
            self.locked_until[name] = now + self.lockout_for
            return error, True
        return error, False

    def _failed_unmade(
        self, action: str, actor: dict[str, Any], params: dict[str, Any], session: dict[str, Any] | None
    ) -> None:
        """What ``_context`` changes and draws for a failed step, without the context (no occurrence
        will carry it): a failure starts, issues and updates nothing, so that is the auth session
        id's draw, a provider's (its subject is linked even when the login fails) and a token
        refresh's ids. tests/play/test_player.py holds the two equal for every action and error."""
        uuid4_unformatted(self.rng)  # the auth session id
        if action == "sso_login":
            self._provider(actor, params["provider"], params.get("protocol", "oidc"))
        elif action == "link_identity":
            self._provider(actor, params["provider"], "oidc")
        elif action in _REISSUES and session:
            self._tokens(epoch_ms(self.clock.now), session.get("tokens"))

    # -- the occurrence's context ----------------------------------------------------------
    def _context(
        self,
        action: str,
        actor: dict[str, Any],
        params: dict[str, Any],
        error: str | None,
        where: Location,
        made: bool = True,
    ) -> dict[str, Any]:
        """What a template may read of the occurrence; not ``made`` (no occurrence will carry it),
        only what the step changes and draws, the rest of the context left out or unformatted."""
        rng = self.rng
        now_ms = epoch_ms(self.clock.now)
        client_name = (
            params.get("client")
            or (actor.get("client_id") if actor.get("kind") == "client" else None)
            or self.shared["default_client"]
        )
        ctx: dict[str, Any] = {
            **self.shared,
            "action": action,
            "error": error,
            "params": self._params(params) if made else params,
            "actor": actor,
            "client": self._client(client_name),
            "ip": params.get("ip") or actor.get("ip") or "127.0.0.1",
            "user_agent": actor.get("user_agent"),
            "device": actor.get("device"),  # one object per actor for the whole run (copies share it)
            "auth_session_id": (self.auth_session_id if made else uuid4_unformatted)(rng),
            "time_ms": now_ms,
        }
        name = actor.get("name", "")
        session = self.sessions.get(name)
        ok = error is None
        ctx["before"] = actor  # the actor as the step found it (what it changes is in ``actor``)

        started = (action in _STARTS_SESSION or (action == "register" and params.get("login"))) and ok
        if started:
            # how the session began (what a vendor's session object reports as its method)
            how = {k: params[k] for k in ("method", "protocol") if params.get(k) is not None}
            session = {"id": uuid4(rng), "started_ms": now_ms, "client": client_name, "action": action, **how}
            ctx["tokens"] = self._tokens(now_ms)
        if action == "register" and ok:
            actor = self._update(name, registered=True, created_ms=now_ms)
            ctx["actor"] = actor
        if action == "sso_login":
            ctx["provider"] = self._provider(actor, params["provider"], params.get("protocol", "oidc"))
            actor = ctx["actor"] = self.actors.get(name, actor)
            if ok and params.get("first"):
                actor = self._update(name, registered=True, created_ms=actor.get("created_ms") or now_ms)
                ctx["actor"] = actor
        if action == "link_identity":
            ctx["provider"] = self._provider(actor, params["provider"], "oidc")
            actor = ctx["actor"] = self.actors.get(name, actor)
        if action in _REISSUES and session:
            ctx["tokens"] = self._tokens(now_ms, session.get("tokens"))
        if action == "propagate_session":
            ctx["source_client"] = ctx["client"]
            ctx["client"] = self._client(params["to"])
            if ok:
                ctx["tokens"] = self._tokens(now_ms)
        if action == "update_email" and ok:
            new = params.get("email") or f"{actor['username']}.{rng.randint(2, 99)}@{self.fake.free_email_domain()}"
            ctx["previous"] = {"email": actor.get("email")}
            actor = self._update(name, email=new, email_verified=False)
            ctx["actor"] = actor
        if action == "update_profile" and ok:
            ctx["previous"] = {"first_name": actor.get("first_name"), "last_name": actor.get("last_name")}
            first = params.get("first_name") or self.fake.first_name()
            last = params.get("last_name") or actor.get("last_name") or self.fake.last_name()
            actor = self._update(name, first_name=first, last_name=last, full_name=f"{first} {last}")
            ctx["actor"] = actor
        previous = ctx.get("previous")
        ctx["previous"] = (_without_nulls(previous) or None) if previous and made else None
        if ok and (action == "verify_email" or (action == "required_action" and params["action"] == "verify_email")):
            actor = self._update(name, email_verified=True)
            ctx["actor"] = actor
        if action == "emit":
            ctx["fields"] = _without_nulls(params.get("fields") or {})
        if started and name in self.actors:
            self.last_login[name] = now_ms  # kept beside the actor: a login changes no more than this
        ctx["last_login_ms"] = self.last_login.get(name)
        if ok and name in self.actors and (action == "update_password" or params.get("action") == "update_password"):
            actor = ctx["actor"] = self._update(name, password_ms=now_ms)
        if made and actor.get("created_ms") is not None:
            ctx["registration"] = self._registration(actor, ctx["client"])
        ctx["session"] = session
        if session is not None and ok:
            if "tokens" in ctx and action != "propagate_session":  # the other client's tokens are its own
                session = dict(session, tokens=ctx["tokens"])
            if action == "logout":
                self.sessions.pop(name, None)
            elif name:
                self.sessions[name] = session
        return ctx

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The step's own parameters, made once per step (templates may memoize on them)."""
        cached = self.step_params.get(id(params))
        if cached is None or cached[0] is not params:
            cached = (params, _without_nulls({k: v for k, v in params.items() if k not in _RESERVED}))
            self.step_params[id(params)] = cached
        return cached[1]

    def _update(self, name: str, **changes: Any) -> dict[str, Any]:
        """Copy-on-write: events already made keep the actor as it was then. A change to who the
        user is (email, names, verification, registration) records when it happened (``updated_ms``)."""
        if changes.keys() & _PROFILE:
            changes.setdefault("updated_ms", epoch_ms(self.clock.now))
        actor = dict(self.actors[name], **changes)
        self.actors[name] = actor
        return actor

    def _tokens(self, now_ms: int, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        rng = self.rng
        code, access, refresh, id_token = self.token_ids
        tokens = {
            "code": code(rng),
            "access": access(rng),
            "refresh": refresh(rng),
            "id_token": id_token(rng),
            "issued_ms": now_ms,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": SCOPE,
        }
        if previous:
            tokens["previous_refresh"] = previous["refresh"]
            tokens["refresh_age_s"] = max(0, (now_ms - previous["issued_ms"]) // 1000)
        return tokens

    def _provider(self, actor: dict[str, Any], alias: str, protocol: str) -> dict[str, Any]:
        links = actor.get("links", {})
        subject = links.get(alias)
        if subject is None:
            subject = str(self.rng.getrandbits(64))
            links = {**links, alias: subject}
            if actor.get("name"):
                actor = self._update(actor["name"], links=links)
        realm = self.shared["realm"]["name"]
        return {
            "alias": alias,
            "id": stable_uuid("provider", realm, alias),
            "name": alias.replace("-", " ").title(),
            "protocol": protocol,
            "subject": subject,
            "username": actor.get("email") or actor.get("username"),
            "broker_session_id": (
                f"{alias}.{uuid4(self.rng)}" if self.shows_broker_session else uuid4_unformatted(self.rng)
            ),
        }

    def _registration(self, actor: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        """The user's registration with a client (one object per pair, so templates can memoize)."""
        created = actor["created_ms"]
        key = (actor["id"], client["id"])
        registration = self.registrations.get(key)
        if registration is None or registration["created_ms"] != created:
            registration = {"id": stable_uuid("registration", actor["id"], client["id"]), "created_ms": created}
            self.registrations[key] = registration
        return registration

    def _client(self, name: str) -> dict[str, Any]:
        client = self.clients.get(name)
        if client is None:
            client = self.clients[name] = _client(name, self.shared["realm"]["name"])
        return client


def _client(name: str, realm: str) -> dict[str, Any]:
    return {
        "id": name,
        "uuid": stable_uuid("client", realm, name),
        "name": name.replace("-", " ").title(),
        "redirect_uri": f"https://{name}.example.com/callback",
    }


def _everything(path: tuple[str, ...]) -> bool:
    return True


def _without_nulls(value: Any) -> Any:
    """The context holds no null inside a mapping or list (templates insert its parts as they are)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value if v is not None]
    return value


def play(scenario: Scenario, seed: int, start: datetime | None = None) -> Iterator[Occurrence]:
    """Play a scenario into occurrences (a generator)."""
    return Player(scenario, seed, start).occurrences()
