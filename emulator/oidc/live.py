"""Protocol steps as occurrences: a live login plays the scenario actions it is made of.

One ``LivePlayer`` per vendor keeps the IdP-side story (who has which session, which tokens are
current) with the scenario player's own rules, so a live ``login`` makes exactly the occurrence a
scenario's ``login`` step would. The provider then mints its tokens from that occurrence's ids (the
session id becomes the token's ``sid``, the actor's id its ``sub``), and the events are rendered by the
vendor's dialect and delivered as a run of their own to the vendor's saved targets.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from emulator.errors import Location
from emulator.play.actors import device_of, make_actor
from emulator.play.ids import stable_uuid
from emulator.play.occurrence import Occurrence
from emulator.play.player import Player
from emulator.scenario.model import ActionStep, ActorSpec, Scenario
from emulator.scenario.vocabulary import vocabulary

if TYPE_CHECKING:
    from emulator.oidc.clients import User
    from emulator.server.service import Service
    from emulator.vendors.dialect import Dialect, Event

WHERE = Location("<live login>")
# Under load (a run of at least LOAD_STEPS steps), at least BATCH_PAUSE between the starts of two runs
# of live events: a run costs the store a few synced commits (milliseconds in which the event loop
# answers nothing), so steps gather into fewer, larger runs. Steps that come one at a time (an app
# signing in, a test) go at once.
LOAD_STEPS = 3
BATCH_PAUSE = 1.0


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class LivePlayer(Player):
    """The scenario player, driven one protocol step at a time on the wall clock."""

    def __init__(self, vendor: str, realm: str, tenant: str, seed: int) -> None:
        scenario = Scenario("live", "", {"realm": realm, "tenant": tenant}, {}, [])
        super().__init__(scenario, seed, datetime.now(UTC), vendor=vendor)

    def actor(self, username: str, user: User | None, registered: bool, user_agent: str | None) -> str:
        """The actor for a username (a configured user's fields, Faker for the rest), made once;
        the browser's user agent is the actor's from then on."""
        name = username
        actor = self.actors.get(name)
        if actor is None:
            fields: dict[str, Any] = dict(user.fields) if user is not None else {"username": username}
            if "@" in username and "email" not in fields:
                fields["email"] = username
            fields["registered"] = registered
            actor = make_actor(ActorSpec(name, fields, WHERE), self.fake, self.rng, fields.get("locale") or "en_US")
            actor["roles"] = list(user.roles) if user is not None else []
        if user_agent and actor.get("user_agent") != user_agent:
            actor = dict(actor, user_agent=user_agent, device=device_of(user_agent))
        self.actors[name] = actor
        return name

    def service_account(self, client_id: str) -> str:
        name = f"service-account-{client_id}"
        if name not in self.actors:
            spec = ActorSpec(name, {"kind": "client", "client_id": client_id}, WHERE)
            self.actors[name] = make_actor(spec, self.fake, self.rng, "en_US")
        return name

    def client(self, client_id: str, redirect_uri: str | None = None) -> dict[str, Any]:
        """The client as events name it; an id that is a UUID is its own (FusionAuth's applicationId).
        A new redirect URI makes a new mapping (templates keep what they computed from the old one)."""
        found = self.clients.get(client_id)
        if found is not None and redirect_uri and found["redirect_uri"] != redirect_uri:
            found = self.clients[client_id] = dict(found, redirect_uri=redirect_uri)
        if found is None:
            realm = self.shared["realm"]["name"]
            found = {
                "id": client_id,
                "uuid": client_id if _is_uuid(client_id) else stable_uuid("client", realm, client_id),
                "name": client_id.replace("-", " ").title(),
                "redirect_uri": redirect_uri or "",
            }
            self.clients[client_id] = found
        return found

    def perform(
        self,
        action: str,
        actor: str,
        client_id: str,
        params: dict[str, Any],
        error: str | None,
        session: dict[str, Any] | None,
        ip: str | None,
    ) -> list[Occurrence]:
        """Play one action now, for ``actor`` within ``session`` (None: no session yet)."""
        defaults = {n: p.default for n, p in vocabulary().actions[action].params.items() if p.default is not None}
        given = {**defaults, **params, "actor": actor, "client": client_id}
        if error:
            given["error"] = error
        if ip:
            given["ip"] = ip
        if session is None:
            self.sessions.pop(actor, None)
        else:
            self.sessions[actor] = session
        self.clock.now = datetime.now(UTC)
        return list(self._act(ActionStep(action, given, WHERE)))

    def session_of(self, actor: str) -> dict[str, Any] | None:
        return self.sessions.get(actor)


class LiveEvents:
    """A vendor's live player, dialect and delivery: each step's events, in the order of the steps.

    Steps are handed to one delivery worker per vendor: a step queued while the worker delivers the
    ones before it waits for the next batch, and a batch is one run: one run per step when logins come
    one at a time, under load a run per batch (``BATCH_PAUSE`` apart), so the store's per-run work is
    not paid per token.
    The protocol answer never waits for its events; their order, per user and overall, is the steps'."""

    def __init__(self, service: Service, vendor: str, realm: str, tenant: str) -> None:
        import secrets

        from emulator.vendors.dialect import Dialect

        seed = secrets.randbits(32)
        self.service = service
        self.vendor = vendor
        self.player = LivePlayer(vendor, realm, tenant, seed)
        self.dialect: Dialect = Dialect(service.registry.vendor(vendor), seed, "live")
        self.features: dict[str, Any] = dict(self.dialect.vendor.features)
        self._queue: list[tuple[str, list[Occurrence]]] = []  # (action, its occurrences) waiting for the worker
        self._worker: asyncio.Task[Any] | None = None

    def render(self, occurrences: list[Occurrence]) -> list[Event]:
        return [event for occ in occurrences for event in self.dialect.events(occ)]

    def deliver(self, action: str, occurrences: list[Occurrence]) -> asyncio.Task[Any] | None:
        """Queue the step's occurrences for the worker (started if idle), which renders them after the
        protocol answer is written, in the order of the steps; the worker's task, or None."""
        if not occurrences:
            return None
        self._queue.append((action, occurrences))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
            self.service.tasks.add(self._worker)
            self._worker.add_done_callback(self.service.tasks.discard)
        return self._worker

    async def _drain(self) -> None:
        """Deliver what is queued, a batch at a time, until nothing is."""
        from emulator.delivery.runner import deliver_events, new_run_id
        from emulator.errors import EmulatorError

        service = self.service
        while self._queue:
            began = asyncio.get_running_loop().time()
            batch, self._queue = self._queue, []
            actions = {action for action, _ in batch}
            name = f"live-{actions.pop().replace('_', '-')}" if len(actions) == 1 else "live"
            targets = []
            for target in service.saved.names(self.vendor):
                try:
                    targets.append(service.saved.build(target, self.vendor))
                except EmulatorError:  # a target still waiting for its secret takes nothing until it has it
                    continue
            service.remember(targets)
            events = [event for _, step in batch for event in self.render(step)]
            if not events:  # steps the vendor records no event for
                continue
            await deliver_events(name, events, targets, service.store, self.vendor, service.registry, new_run_id())
            if self._queue and len(batch) >= LOAD_STEPS:
                await asyncio.sleep(max(0.0, began + BATCH_PAUSE - asyncio.get_running_loop().time()))
