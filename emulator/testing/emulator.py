"""The emulator inside a test process: play a scenario or trigger one action, deliver, report.

What a test needs from ``idp-emulator run`` without a command line: the same targets, signing,
retries and store (in memory), with every result returned as data. It runs on the harness's
loop, so both sync and async tests can use it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from emulator.delivery.runner import Summary, deliver_run
from emulator.delivery.targets import Target, build_target
from emulator.errors import ScenarioError
from emulator.overrides import parse_overrides
from emulator.render import load
from emulator.scenario.loader import load_scenario_text
from emulator.scenario.model import Scenario
from emulator.scenario.single import single_action
from emulator.server.app import make_app
from emulator.server.service import Service
from emulator.store import Store
from emulator.store.rows import RunDelivery, StoredEvent
from emulator.testing.harness import LoopThread
from emulator.testing.oidc import OidcProvider
from emulator.testing.receiver import WebhookReceiver
from emulator.vendors.registry import Registry

T = TypeVar("T")


# a target's settings the fixture hands to the target as given (the rest it builds itself)
TARGET_OPTIONS = (
    "retry", "signed_time", "ordering", "events", "headers", "timeouts", "concurrency", "basic_auth", "faults",
    "disable_after", "disable_on_gone", "format", "batch",
)  # fmt: skip
# what a one-action call takes about delivering rather than about its action
DELIVERY_OPTIONS = frozenset(
    {*TARGET_OPTIONS, "seed", "start", "secret", "signing", "algorithm", "key_id", "time_scale", "transaction",
     "timeout", "set", "unset"}
)  # fmt: skip


@dataclass
class PlayResult:
    """A finished run: the summary, each event played, and each delivery's attempts."""

    summary: Summary
    events: list[StoredEvent] = field(default_factory=list)
    deliveries: list[RunDelivery] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.summary.ok

    def __repr__(self) -> str:
        s = self.summary
        failed = [
            f"{d['type']} {d['event_id']}: {d['last_error']}" for d in self.deliveries if d["status"] != "delivered"
        ]
        more = f", not delivered: {failed[:5]}" if failed else ""
        counts = f"{s.events} events, {s.delivered} delivered, {s.failed} failed, {s.attempts} attempts"
        return f"<PlayResult {s.run} {s.status}: {counts}{more}>"

    @property
    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def bodies(self, type: str | None = None) -> list[Any]:
        return [json.loads(e["body"]) for e in self.events if type is None or e["type"] == type]


class Emulator:
    """Plays scenarios against targets from inside a test; ``play`` blocks, ``play_async`` awaits."""

    def __init__(self, harness: LoopThread, registry: Registry | None = None) -> None:
        self.harness = harness
        self.registry = registry or Registry()
        self.store = Store(":memory:")
        self.runs: list[PlayResult] = []
        self.service = Service(self.store, self.registry)
        self.url = ""  # where the emulator serves its API and /.well-known/jwks.json
        self._runner: web.AppRunner | None = None

    async def start(self) -> Emulator:
        """Serve the API on a free loopback port (and the signing keys, for consumers that fetch a JWKS)."""
        self._runner = web.AppRunner(make_app(self.service), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.store.close()

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def oidc(
        self,
        vendor: str = "keycloak",
        client: dict[str, Any] | None = None,
        users: list[dict[str, Any]] | None = None,
        sign_in_as: str | None = None,
        events_to: Any = None,
        outcome: str = "success",
    ) -> OidcProvider:
        """The live fake IdP as ``vendor`` on this emulator's port: its issuer and a client for the app
        under test (``test-app`` with a secret, returning to any loopback URL, unless ``client`` says
        otherwise; ``{"secret": None}`` makes it public). ``users``: who may sign in (as in emulator.yaml);
        ``sign_in_as``: skip the login page and sign in as this user (headless suites), ending with
        ``outcome`` (a login page's choice: ``update_password``, ``consent_denied``, ``upstream_first``, ...);
        ``events_to``: a URL or webhook receiver that gets the vendor's events of every login."""
        from emulator.testing.oidc import register

        receiver = getattr(events_to, "receiver", events_to)
        url = receiver.url if isinstance(receiver, WebhookReceiver) else events_to
        if isinstance(receiver, WebhookReceiver) and receiver.vendor is None:
            _adopt(receiver, vendor, {}, self.registry)

        async def on_loop() -> OidcProvider:  # the service lives on the harness's loop, and so does its store
            return register(self.service, self.url, vendor, client, users or [], sign_in_as, url, outcome)

        return self.harness.run(on_loop(), name="oidc")

    def play(self, scenario: str | Path, vendor: str, target: Any, **options: Any) -> PlayResult:
        """Play ``scenario`` (a bundled name, a file, or YAML text) as ``vendor`` and deliver to ``target``.

        ``target``: a URL, a webhook receiver, a target mapping (as in emulator.yaml), or a list
        of these (fan-out). Options: ``seed`` (1), ``start`` (now), ``secret``, ``signing``,
        ``retry`` (the vendor's), ``time_scale`` (0: retries back to back), ``signed_time``,
        ``ordering``, ``events``, ``faults`` (as in emulator.yaml), ``transaction`` (FusionAuth's
        type), ``set`` and ``unset`` (overrides as ``--set`` and ``--unset`` take them: a text or a
        list), ``timeout`` (seconds to wait for the run, 60).
        """
        __tracebackhide__ = True
        timeout = options.pop("timeout", 60)
        return self.harness.run(self._play(scenario, vendor, target, options), timeout)

    async def play_async(self, scenario: str | Path, vendor: str, target: Any, **options: Any) -> PlayResult:
        timeout = options.pop("timeout", 60)
        return await self.harness.run_async(_within(self._play(scenario, vendor, target, options), timeout))

    def trigger(self, action: str, vendor: str, target: Any, **options: Any) -> PlayResult:
        """One action, like ``stripe trigger``: ``trigger("login", "keycloak", url, error="invalid_user_credentials")``.

        ``actor`` gives the actor's fields (``{"email": ...}``); other action parameters
        (``error``, ``provider``, ``first``, ...) go to the step; delivery options as in ``play``.
        """
        __tracebackhide__ = True
        scenario, rest = _one_action(action, options)
        timeout = rest.pop("timeout", 60)
        return self.harness.run(self._play(scenario, vendor, target, rest), timeout, name="trigger")

    async def trigger_async(self, action: str, vendor: str, target: Any, **options: Any) -> PlayResult:
        scenario, rest = _one_action(action, options)
        return await self.play_async(scenario, vendor, target, **rest)

    async def _play(self, scenario: str | Path, vendor: str, target: Any, options: dict[str, Any]) -> PlayResult:
        try:
            story = _scenario(scenario)
        except ScenarioError as exc:
            if isinstance(scenario, str) and scenario.startswith("name: trigger-"):
                # the YAML was made from the call's keywords: speak of those, not of generated lines
                reasons = "; ".join(p.message for p in exc.problems)
                raise ValueError(f"trigger: {reasons} (the action's parameters: idp-emulator catalog)") from None
            raise
        targets = [
            self._target(t, vendor, options, i) for i, t in enumerate(target if isinstance(target, list) else [target])
        ]
        self.service.remember(targets)
        start = options.get("start") or datetime.now(UTC).replace(microsecond=0)
        if isinstance(start, str):
            start = datetime.fromisoformat(start.replace("Z", "+00:00"))
        sets, unsets = (_texts(options.get(kind)) for kind in ("set", "unset"))
        summary = await deliver_run(
            story,
            targets,
            self.store,
            int(options.get("seed", 1)),
            start,
            float(options.get("time_scale", 0)),
            registry=self.registry,
            transaction=options.get("transaction"),
            overrides=parse_overrides(sets, unsets),
        )
        result = PlayResult(summary, self.store.events(summary.run), self.store.deliveries(summary.run))
        self.runs.append(result)
        return result

    def _target(self, target: Any, vendor: str, options: dict[str, Any], index: int) -> Target:
        if isinstance(target, dict):
            return build_target({"name": f"target-{index + 1}", **target}, self.registry, vendor)
        receiver = getattr(target, "receiver", target)
        spec: dict[str, Any] = {"name": f"target-{index + 1}"}
        if isinstance(receiver, WebhookReceiver):
            spec["url"] = receiver.url
            if receiver.vendor is None:  # it reads and checks what arrives as this vendor's
                _adopt(receiver, vendor, options, self.registry)
        else:
            spec["url"] = str(target)
        signing: dict[str, Any] = {}
        if options.get("signing"):
            signing["scheme"] = options["signing"]
        for key in ("algorithm", "key_id"):
            if options.get(key):
                signing[key] = options[key]
        if options.get("secret"):
            signing["secret"] = options["secret"]
        elif isinstance(receiver, WebhookReceiver) and receiver.secrets:
            signing["secret"] = receiver.secrets[0]  # the receiver checks with this secret: sign with it
        if signing:
            spec["signing"] = signing
        for key in TARGET_OPTIONS:
            if key in options:
                spec[key] = options[key]
        return build_target(spec, self.registry, vendor)


def _adopt(receiver: WebhookReceiver, vendor: str, options: dict[str, Any], registry: Registry) -> None:
    """A receiver with no vendor of its own reads and verifies as the vendor being played."""
    receiver.read_as(WebhookReceiver(vendor, options.get("secret"), options.get("signing"), registry=registry))


def _texts(given: Any) -> list[str]:
    """An override option as the fixture takes it: one text or a list of them."""
    return [given] if isinstance(given, str) else list(given or ())


def _scenario(ref: str | Path) -> Scenario:
    if isinstance(ref, str) and "\n" in ref:
        return load_scenario_text(ref, "<inline scenario>")
    return load(ref)


def _one_action(action: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rest = {k: v for k, v in options.items() if k in DELIVERY_OPTIONS}
    params = {k: v for k, v in options.items() if k not in DELIVERY_OPTIONS and k != "actor"}
    return single_action(action, params, options.get("actor")), rest


async def _within(work: Awaitable[T], seconds: float) -> T:
    """``work``, or TimeoutError after ``seconds`` (asyncio.timeout keeps a cancellation, unlike 3.11's wait_for)."""
    async with asyncio.timeout(seconds):
        return await work
