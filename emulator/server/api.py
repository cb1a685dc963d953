"""The REST API under ``/api/``: vendors, scenarios, runs, events, deliveries, sinks, health.

Handlers are thin: they check the request, call the runner or the store, and answer JSON.
Every client mistake becomes a problem document (``problems.py``), never a 500.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.delivery.flags import SECRET_ENV
from emulator.delivery.redact import REDACTED
from emulator.delivery.signing import scheme
from emulator.delivery.targets import Target, delivery_facts, vendor_delivery
from emulator.delivery.transactions import TYPES as TRANSACTION_TYPES
from emulator.errors import ForbiddenError, OverrideError, RefusedError, ScenarioError, UnknownNameError, VendorError
from emulator.overrides import Override, parse_overrides
from emulator.play.clock import iso_utc, parse_since
from emulator.render import dry_run, load
from emulator.scenario.bundled import bundled_names, resolve_scenario
from emulator.scenario.loader import load_scenario_text
from emulator.scenario.model import Scenario, check_size
from emulator.scenario.single import single_action
from emulator.server.probe import send_test
from emulator.server.problems import ApiError, field, read_json
from emulator.server.routes import BOOLEANS, ORDERS, SERVICE, Handler, resolve
from emulator.server.routes import ROUTES as route_names
from emulator.server.service import STREAM_END, Service, now
from emulator.server.sinks import SinkRequest
from emulator.server.targets import build_checked, check_shape, refuse_keys_without_token
from emulator.store import DELIVERY_FILTERS, DELIVERY_STATUSES, EVENT_FILTERS, Store
from emulator.store.rows import EventListing, RunFacts
from emulator.vendors.overview import catalog_data
from emulator.vendors.versions import split_spec, vendor_spec

MAX_PAGE = 500
SCENARIO_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
RUN_FIELDS = {"scenario", "yaml", "vendor", "targets", "seed", "time_scale", "transaction", "set", "unset"}
HEARTBEAT = 15.0  # seconds between keep-alive comments on the live stream


def _service(request: web.Request) -> Service:
    return request.app[SERVICE]


# vendors and scenarios ---------------------------------------------------------------------------
async def vendors(request: web.Request) -> web.Response:
    registry = _service(request).registry
    items = [{"name": n, "title": registry.vendor(n).catalog.title} for n in registry.names]
    return web.json_response({"vendors": items})


async def vendor(request: web.Request) -> web.Response:
    """One vendor's catalog (``/api/vendors/fusionauth@1.45`` for one release): sources and examples."""
    name = request.match_info["vendor"]
    registry = _service(request).registry
    if split_spec(name)[0] not in registry.names:
        message = UnknownNameError("vendor", split_spec(name)[0], registry.names).message
        raise ApiError(404, "Unknown vendor", message, "vendor")
    try:
        registry.vendor(name)
    except VendorError as exc:
        raise ApiError(404, "Unknown version", exc.message, "vendor") from None
    _one_of(request, "examples", BOOLEANS)
    # without examples no template is rendered: what a page showing descriptions needs, at once
    data = catalog_data(registry, name, with_examples=request.query.get("examples", "true") == "true")
    data["vendors"][0]["delivery"] = delivery_facts(registry, name)
    return web.json_response(data)


async def scenarios(request: web.Request) -> web.Response:
    service = _service(request)
    items = [{"name": n, "description": load(n).description.strip(), "bundled": True} for n in bundled_names()]
    for name in service.store.scenario_names():
        items.append({"name": name, "description": await _description(service, name), "bundled": False})
    return web.json_response({"scenarios": items})


async def parse(text: str, name: str) -> Scenario:
    """A scenario read off the event loop: a large one takes a while, and the server answers meanwhile."""
    return await asyncio.to_thread(load_scenario_text, text, name)


async def _description(service: Service, name: str) -> str:
    """An uploaded scenario's description, read once per text (not at every listing)."""
    text = service.store.scenario(name) or ""
    known = service.descriptions.get(name)
    if known is not None and known[0] == hash(text):
        return known[1]
    try:
        description = (await parse(text, name)).description.strip()
    except ScenarioError:  # stored before a change of the language: it says so when someone runs it
        description = ""
    service.descriptions[name] = (hash(text), description)
    return description


def _scenario_text(service: Service, name: str) -> str | None:
    if name in _bundled_names():
        return _bundled_text(name)
    return service.store.scenario(name)


@cache
def _bundled_names() -> frozenset[str]:
    """The bundled scenarios: files of the package, listed once per process (a run names one at each start)."""
    return frozenset(bundled_names())


@cache
def _bundled_text(name: str) -> str:
    return Path(resolve_scenario(name)).read_text("utf-8")


@cache
def _bundled_story(name: str) -> Scenario:
    return load_scenario_text(_bundled_text(name), name)


async def scenario(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    text = _scenario_text(_service(request), name)
    if text is None:
        raise ApiError(404, "Unknown scenario", f"no scenario {name!r}", "name")
    return web.json_response({"name": name, "yaml": text, "bundled": name in bundled_names()})


async def upload_scenario(request: web.Request) -> web.Response:
    """Store a scenario under a name (checked first); runs can then name it."""
    name = request.match_info["name"]
    if not SCENARIO_NAME.fullmatch(name):
        raise ApiError(422, "Bad name", "a scenario name is lowercase letters, digits and -, at most 64", "name")
    if name in bundled_names():
        raise ApiError(409, "Bundled scenario", f"{name!r} is bundled and cannot be replaced; pick another name")
    text = field(await read_json(request), "yaml", str, required=True)
    story = await parse(text, name)  # a ScenarioError becomes a 422 that lists every problem
    service = _service(request)
    service.store.save_scenario(name, text)
    service.descriptions[name] = (hash(text), story.description.strip())
    return web.json_response({"name": name, "url": f"/api/scenarios/{name}"}, status=201)


async def delete_scenario(request: web.Request) -> web.Response:
    """Remove an uploaded scenario (bundled ones stay)."""
    name = request.match_info["name"]
    if name in bundled_names():
        raise ApiError(409, "Bundled scenario", f"{name!r} is bundled and cannot be deleted")
    if not _service(request).store.delete_scenario(name):
        raise ApiError(404, "Unknown scenario", f"no uploaded scenario {name!r}", "name")
    return web.json_response({"name": name, "deleted": True})


async def validate(request: web.Request) -> web.Response:
    data = await read_json(request)
    text = field(data, "yaml", str, required=True)
    try:
        await parse(text, "<request>")
    except ScenarioError as exc:  # the request was fine; the scenario has problems: say which
        return web.json_response({"valid": False, "problems": [str(p) for p in exc.problems]})
    return web.json_response({"valid": True, "problems": []})


# runs --------------------------------------------------------------------------------------------
async def start_run(request: web.Request) -> web.Response:
    """Start a run: {scenario | yaml, vendor, targets, seed?, time_scale?, transaction?, set?, unset?}."""
    return await _start(_service(request), await read_json(request))


async def _start(service: Service, data: dict[str, Any]) -> web.Response:
    unknown = sorted(set(data) - RUN_FIELDS)
    if unknown:
        raise ApiError(
            422, "Unknown field", f"{unknown[0]!r} is not a run setting: {', '.join(sorted(RUN_FIELDS))}", unknown[0]
        )
    name = field(data, "scenario", str)
    text = field(data, "yaml", str)
    if bool(name) == bool(text):
        raise ApiError(422, "Scenario needed", "give either 'scenario' (a bundled name) or 'yaml'", "scenario")
    if name:
        text = _scenario_text(service, name)
        if text is None:
            known = [*bundled_names(), *service.store.scenario_names()]
            raise ApiError(422, "Unknown scenario", UnknownNameError("scenario", name, known).message, "scenario")
    # a bundled scenario is read once per process (no thread's round trip for each run that names one)
    story = _bundled_story(name) if name in _bundled_names() else await parse(text, name or "<request>")
    check_size(story, service.max_actions)
    vendor = _vendor(service, field(data, "vendor", (str, dict), required=True))
    targets, specs = _targets(service, vendor, field(data, "targets", list))
    # a new seed per run unless one is asked for, as the command line does: consumers that drop
    # event ids they saw would otherwise drop every run after the first
    seed = field(data, "seed", int, default=None)
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    scale = field(data, "time_scale", (int, float), default=1.0)
    if not 0 <= scale <= 1_000_000:
        raise ApiError(422, "Out of range", "'time_scale' must be from 0 to 1000000", "time_scale")
    transaction = field(data, "transaction", str)
    if transaction is not None and transaction not in TRANSACTION_TYPES:
        raise ApiError(422, "Unknown transaction type", f"one of {', '.join(TRANSACTION_TYPES)}", "transaction")
    overrides = _overrides(service, story, [t.vendor for t in targets], seed, data)
    run_id = service.start_run(story, targets, seed, float(scale), transaction, specs, overrides)
    return web.json_response({"run": run_id, "url": f"/api/runs/{run_id}", "seed": seed}, status=202)


def _overrides(
    service: Service, story: Scenario, vendors: list[str], seed: int, data: dict[str, Any]
) -> tuple[Override, ...]:
    """``set`` and ``unset`` (lists of texts, as ``--set`` and ``--unset`` take them), checked against
    the run's own events before it starts: one that matches nothing is a 422 naming the event type."""
    texts = {}
    for key in ("set", "unset"):
        given = field(data, key, list, default=[])
        for i, item in enumerate(given):
            if not isinstance(item, str):
                raise ApiError(422, "Wrong type", f"'{key}[{i}]' must be str, got {type(item).__name__}", f"{key}[{i}]")
        texts[key] = given
    try:
        overrides = parse_overrides(texts["set"], texts["unset"])
        dry_run(story, vendors, seed, None, service.registry, overrides)
    except OverrideError as exc:
        kind = exc.message.removeprefix("--").split(" ", 1)[0]
        raise ApiError(422, "Bad override", exc.message, kind if kind in texts else "set") from None
    return overrides


def _vendor(service: Service, given: Any) -> str:
    """The run's vendor as one string (``fusionauth@1.45``), or a 422 saying what is wrong with it."""
    try:
        spec = vendor_spec(given)
    except VendorError as exc:
        raise ApiError(422, "Bad vendor", exc.message, "vendor") from None
    names = service.registry.names
    if not spec or split_spec(spec)[0] not in names:
        message = UnknownNameError("vendor", split_spec(spec or "")[0], names).message
        raise ApiError(422, "Unknown vendor", message, "vendor")
    try:
        service.registry.vendor(spec)
    except VendorError as exc:
        raise ApiError(422, "Unknown version", exc.message, "vendor") from None
    return spec


def _targets(service: Service, vendor: str, given: list[Any] | None) -> tuple[list[Target], list[dict[str, Any]]]:
    """A run's targets: URLs, saved targets' names, or target objects; none given means every
    saved target of the vendor (as an IdP sends to every webhook it has)."""
    if given is None:
        names = service.saved.names(vendor)
        if not names:
            raise ApiError(
                422, "No target", f"give 'targets' (URLs or objects), or save a {vendor} target first", "targets"
            )
        given = names
    if not given:
        raise ApiError(422, "No target", "'targets' needs at least one URL, saved target or target", "targets")
    targets, specs = [], []
    for i, raw in enumerate(given):
        if isinstance(raw, str) and "://" not in raw and raw in service.saved.items:
            targets.append(service.saved.build(raw, vendor))
            specs.append(service.saved.items[raw].spec)
            continue
        spec = {"url": raw} if isinstance(raw, str) else raw
        if not isinstance(spec, dict):
            raise ApiError(422, "Wrong type", "a target is a URL, a saved target's name or an object", f"targets[{i}]")
        spec = {"name": f"target-{i + 1}", **spec}
        plaintext = service.config.plaintext_secrets if service.config else None
        check_shape(spec, f"targets[{i}]", plaintext=plaintext)
        refuse_keys_without_token(spec, service.token, f"targets[{i}]")
        if isinstance(raw, str) and os.environ.get(SECRET_ENV) and _signs_with_a_secret(service, vendor):
            # a URL is signed with the server's secret, as `run --target URL` signs it
            spec["signing"] = {"secret": "${" + SECRET_ENV + "}"}
        targets.append(build_checked(spec, service.registry, vendor, f"targets[{i}]"))
        specs.append({**spec, "vendor": targets[-1].vendor})
    names = [t.name for t in targets]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ApiError(422, "Same target twice", f"target names must differ: {', '.join(twice)}", "targets")
    return targets, specs


def _signs_with_a_secret(service: Service, vendor: str) -> bool:
    """Whether the vendor's scheme keeps its secret to itself (a MAC or a signature); a static header
    would send the server's secret to the URL as it is."""
    name = (vendor_delivery(service.registry, vendor).get("signing") or {}).get("scheme", "none")
    return bool(scheme(name).needs_secret)


async def trigger(request: web.Request) -> web.Response:
    """One action, like ``stripe trigger``: {action, vendor, targets, error?, actor?, params?}."""
    data = await read_json(request)
    action = field(data, "action", str, required=True)
    params = dict(field(data, "params", dict, default={}))
    if "yaml" in data or "scenario" in data:
        raise ApiError(422, "Unknown field", "a trigger plays one action: give 'action', not a scenario", "action")
    if "error" in data:
        params["error"] = field(data, "error", str)
    actor = field(data, "actor", dict, default={})
    body = {k: v for k, v in data.items() if k not in ("action", "params", "error", "actor")}
    body["yaml"] = single_action(action, params, actor)
    return await _start(_service(request), body)


def _run_view(run_id: str, info: RunFacts) -> dict[str, Any]:
    """What the API says of any run: the story, who, the seed (to replay it), when, how it ended."""
    return {
        "run": run_id,
        "scenario": info["scenario"],
        "vendors": info["vendors"],
        "seed": info["seed"],
        "status": info["status"],
        "started": _iso(info["started_ms"]),
        "finished": _iso(info["finished_ms"]),
    }


async def runs(request: web.Request) -> web.Response:
    await _service(request).stored()  # runs just started are listed too
    return web.json_response({"runs": [_run_view(r["run"], r) for r in _service(request).store.runs(100)]})


async def run(request: web.Request) -> web.Response:
    """A run's state and counts (``latest``: the newest run)."""
    service = _service(request)
    run_id = request.match_info["run"]
    if run_id == "latest":
        await service.stored()
        newest = service.store.runs(1)
        if not newest:
            raise ApiError(404, "No run yet", "no run has been started on this server", "run")
        run_id = newest[0]["run"]
    await service.stored(run_id)
    info = service.store.run_state(run_id)
    if info is None:
        raise ApiError(404, "Unknown run", f"no run {run_id!r}", "run")
    live = service.runs.get(run_id)
    body = {**_run_view(run_id, info), "events": info["played"], "deliveries": service.store.counts(run_id)}
    progress = service.progress(run_id)
    if progress:
        body["progress"] = progress
    if live is not None and live.summary is not None and live.summary.steps:
        body["transactions"] = live.summary.steps
        if live.summary.steps.total > len(live.summary.steps):
            body["transactions_unlisted"] = live.summary.steps.unlisted
    if live is not None and live.error:
        body["error"] = live.error
    return web.json_response(body)


async def cancel(request: web.Request) -> web.Response:
    service = _service(request)
    run_id = request.match_info["run"]
    await service.stored(run_id)
    owed = service.cancel(run_id)
    return web.json_response({"run": run_id, "status": "cancelled", "deliveries_cancelled": owed}, status=202)


# events and deliveries ---------------------------------------------------------------------------
def _page(request: web.Request) -> tuple[int, int, int | None, bool]:
    """A page's size, its bounds (ids after and before) and its order: keyset paging on the store's
    ids, so any page costs what the first does. ``next`` in an answer is the bound of the next page:
    ``after`` for the oldest first, ``before`` for the newest first."""
    try:
        limit = int(request.query.get("limit", "100"))
        after = int(request.query.get("after", "0"))
        before = int(request.query["before"]) if "before" in request.query else None
    except ValueError:
        raise ApiError(400, "Wrong type", "'limit', 'after' and 'before' are whole numbers", "limit") from None
    if not 1 <= limit <= MAX_PAGE:
        raise ApiError(400, "Out of range", f"'limit' is from 1 to {MAX_PAGE}", "limit")
    for name, value in (("after", after), ("before", before)):
        if value is not None and not 0 <= value < 2**62:
            raise ApiError(400, "Out of range", f"'{name}' is an id: a whole number from 0", name)
    _one_of(request, "order", ORDERS)
    return limit, after, before, request.query.get("order") == "newest"


def _filters(request: web.Request, names: Iterable[str]) -> dict[str, str]:
    """The query parameters that are filters of this listing."""
    return {name: request.query[name] for name in names if name in request.query}


def _time_param(text: str, name: str) -> int:
    try:
        return parse_since(text)
    except ValueError as exc:
        raise ApiError(400, "Wrong type", f"'{name}': {exc}", name) from None


def _event_views(store: Store, rows: list[EventListing]) -> list[dict[str, Any]]:
    """Events as the API shows them, each with where its deliveries stand (one indexed query a page)."""
    sent = store.event_deliveries([r["id"] for r in rows])
    return [
        {
            "id": r["id"],
            "run": r["run"],
            "vendor": r["vendor"],
            "event_id": r["event_id"],
            "type": r["type"],
            "time": _iso(r["time_ms"]),
            "action": r["action"],
            "actor": r["actor"],
            "error": r["error"],
            "user": r["user"],
            "user_id": r["user_id"],
            "username": r["username"],
            "ip": r["ip"],
            "client": r["client"],
            "body": json.loads(r["body"]),
            "deliveries": sent[r["id"]],
        }
        for r in rows
    ]


async def events(request: web.Request) -> web.Response:
    """Played events, filtered like an IdP's event console: user, time, type, error, IP address, client."""
    _one_of(request, "vendor", _service(request).registry.names)
    limit, after, before, newest = _page(request)
    since = _time_param(request.query["since"], "since") if "since" in request.query else None
    until = _time_param(request.query["until"], "until") if "until" in request.query else None
    store = _service(request).store
    rows = store.event_page(_filters(request, EVENT_FILTERS), after, limit, since, until, before, newest)
    items = _event_views(store, rows)
    return web.json_response({"events": items, "next": items[-1]["id"] if len(items) == limit else None})


def _one_of(request: web.Request, name: str, allowed: Iterable[str]) -> None:
    """A query parameter's value must be one of ``allowed`` (a 400 naming the nearest otherwise)."""
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise ApiError(400, f"Unknown {name}", UnknownNameError(name, value, allowed).message, name)


async def event(request: web.Request) -> web.Response:
    """One event, with its body and its deliveries."""
    raw = request.match_info["event"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ApiError(400, "Wrong type", "an event id is a whole number", "event")
    store = _service(request).store
    row = store.event(int(raw))
    if row is None:
        raise ApiError(404, "Unknown event", f"no event {raw}", "event")
    return web.json_response(_event_views(store, [row])[0])


async def deliveries(request: web.Request) -> web.Response:
    _one_of(request, "status", DELIVERY_STATUSES)
    limit, after, before, newest = _page(request)
    items = _service(request).store.delivery_page(_filters(request, DELIVERY_FILTERS), after, limit, before, newest)
    return web.json_response({"deliveries": items, "next": items[-1]["id"] if len(items) == limit else None})


def _delivery_id(request: web.Request) -> int:
    raw = request.match_info["delivery"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ApiError(400, "Wrong type", "a delivery id is a whole number", "delivery")
    return int(raw)


async def delivery(request: web.Request) -> web.Response:
    store = _service(request).store
    delivery_id = _delivery_id(request)
    info = store.delivery(delivery_id)
    if info is None:
        raise ApiError(404, "Unknown delivery", f"no delivery {delivery_id}", "delivery")
    body: dict[str, Any] = dict(info)
    log = []
    for attempt in store.attempts(delivery_id):
        item: dict[str, Any] = dict(attempt)
        raw = item.pop("response_body") or b""
        try:
            item["response_body"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            item["response_body_base64"] = base64.b64encode(raw).decode()
        log.append(item)
    body["attempt_log"] = log
    return web.json_response(body)


async def delivery_curl(request: web.Request) -> web.Response:
    """The delivery as a curl command that sends it again, signed now; a credential shows as the
    ${VARIABLE} it comes from, or <redacted>."""
    from emulator.delivery.curl import replay

    service = _service(request)
    delivery_id = _delivery_id(request)
    info = service.store.delivery(delivery_id)
    row = service.store.event(info["event"]) if info is not None else None
    if info is None or row is None:
        raise ApiError(404, "Unknown delivery", f"no delivery {delivery_id}", "delivery")
    signed = int(time.time())
    made = replay(service.delivery_target(info["run"], info["target"]), info["event_id"], row["body"], signed)
    return web.json_response(
        {
            "delivery": delivery_id,
            "target": info["target"],
            "signed": _iso(signed * 1000),
            "url": made.url.text,
            "headers": [{"name": name, "value": value.text} for name, value in made.headers],
            "variables": made.variables,
            "redacted": made.redacted,
            "curl": made.command(),
        }
    )


async def resend(request: web.Request) -> web.Response:
    """Send one failed delivery again (same event id, fresh retries)."""
    service = _service(request)
    delivery_id = _delivery_id(request)
    info = service.store.delivery(delivery_id)
    if info is None:
        raise ApiError(404, "Unknown delivery", f"no delivery {delivery_id}", "delivery")
    if info["status"] != "failed":
        status = info["status"]
        raise ApiError(409, "Not failed", f"delivery {delivery_id} is {status}; only failed deliveries are resent")
    service.redeliver(info["run"], (delivery_id,))
    return web.json_response({"delivery": delivery_id, "status": "pending"}, status=202)


async def replay(request: web.Request) -> web.Response:
    """Send every failed delivery again: {since?, run?, target?} (since: ISO 8601 or a duration ago)."""
    service = _service(request)
    data = await read_json(request)
    unknown = sorted(set(data) - {"since", "run", "target"})
    if unknown:
        raise ApiError(422, "Unknown field", f"{unknown[0]!r}: give since, run or target", unknown[0])
    since_text = field(data, "since", str)
    since = None
    if since_text is not None:
        try:
            since = parse_since(since_text)
        except ValueError as exc:
            raise ApiError(422, "Wrong time", str(exc), "since") from None
    run_id, target = field(data, "run", str), field(data, "target", str)
    if run_id is not None and service.store.run(run_id) is None:
        raise ApiError(404, "Unknown run", f"no run {run_id!r}", "run")
    runs = [run_id] if run_id is not None else service.store.failed_runs(since, target)
    queued: dict[str, int] = {}
    skipped: dict[str, str] = {}  # runs still delivering, or whose secrets are not at hand
    for rid in runs:
        try:
            count = service.redeliver(rid, since_ms=since, target=target)
        except RefusedError as exc:
            skipped[rid] = exc.detail
            continue
        if count:
            queued[rid] = count
    return web.json_response({"queued": sum(queued.values()), "runs": queued, "skipped": skipped}, status=202)


# targets -----------------------------------------------------------------------------------------
async def targets(request: web.Request) -> web.Response:
    """Saved targets; secrets show as <hidden> or the ${VARIABLE} they come from."""
    saved = _service(request).saved
    return web.json_response({"targets": [saved.items[n].view() for n in saved.names()]})


async def create_target(request: web.Request) -> web.Response:
    """Save a target: {name, url, vendor, signing?, headers?, events?, retry?, ...} as in emulator.yaml."""
    service = _service(request)
    saved = service.saved.create(await read_json(request))
    service.remember_saved(saved.name)
    return web.json_response(saved.view(), status=201, headers={"Location": f"/api/targets/{saved.name}"})


async def target(request: web.Request) -> web.Response:
    return web.json_response(_service(request).saved.get(request.match_info["name"]).view())


async def update_target(request: web.Request) -> web.Response:
    """Change a target with a JSON Merge Patch: what it leaves out (a secret, say) stays."""
    service = _service(request)
    saved = service.saved.update(request.match_info["name"], await read_json(request, empty=False))
    service.remember_saved(saved.name)
    return web.json_response(saved.view())


async def delete_target(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    _service(request).saved.delete(name)
    return web.json_response({"name": name, "deleted": True})


async def test_target(request: web.Request) -> web.Response:
    """Send the target one test event: {type?, body?} (the type's example unless a body is given)."""
    service = _service(request)
    data = await read_json(request)
    name = request.match_info["name"]
    built = service.saved.build(name)
    event_type = field(data, "type", str)
    body = field(data, "body", dict)
    if body is not None and not service.token:
        raise ForbiddenError(
            "Token needed",
            "a test with your own body is signed with the target's secret, which would sign anything for whoever"
            " asks; start serve with --token to allow it (the type's example needs no token)",
            "body",
        )
    if name in service.testing:  # a target pointed at its own test would call itself for ever
        raise ApiError(409, "Test in progress", f"a test of {name!r} is in progress; try again when it ends", "name")
    service.testing.add(name)
    try:
        return web.json_response(await send_test(built, service.registry, event_type, body))
    finally:
        service.testing.discard(name)


# live stream -------------------------------------------------------------------------------------
async def stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: each event played and each delivery attempt, as it is recorded.

    Filters: ``run``, ``type`` (a glob over event types), ``kind`` (event or attempt).
    """
    from fnmatch import fnmatchcase

    service = _service(request)
    run_filter, type_filter, kind_filter = (request.query.get(k) for k in ("run", "type", "kind"))
    if kind_filter not in (None, "event", "attempt"):
        raise ApiError(400, "Unknown kind", "'kind' is event or attempt", "kind")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    queue = service.watch()
    try:
        await response.write(b": idp-emulator live stream\n\n")
        while True:
            try:
                async with asyncio.timeout(HEARTBEAT):
                    kind, record = await queue.get()
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if kind == STREAM_END:  # the server is stopping: it need not wait for the client to go
                break
            if kind_filter and kind != kind_filter:
                continue
            if run_filter and record.get("run", run_filter) != run_filter:
                continue
            if type_filter and kind == "event" and not fnmatchcase(record["type"], type_filter):
                continue
            await response.write(f"event: {kind}\ndata: {json.dumps(record)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        service.watchers.discard(queue)
    return response


# sinks -------------------------------------------------------------------------------------------
async def sink_receive(request: web.Request) -> web.Response:
    body = await request.read()
    name = request.match_info["name"]
    path = request.path_qs if "token" not in request.query else str(request.rel_url.update_query(token=REDACTED))
    _service(request).sink(name, SinkRequest(request.method, path, dict(request.headers), body, now()))
    return web.json_response({"received": True})


async def sink_list(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    kept = _service(request).sinks.get(name)
    items = []
    for r in kept:
        try:
            body: Any = json.loads(r.body)
        except (ValueError, UnicodeDecodeError):
            body = r.body.decode("utf-8", "replace")
        items.append({"method": r.method, "path": r.path, "headers": r.headers, "body": body, "at": r.at})
    return web.json_response({"sink": name, "requests": items})


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    from datetime import UTC, datetime

    return iso_utc(datetime.fromtimestamp(ms / 1000, UTC))


# the routes with their handlers (what the OpenAPI document describes and the fuzz test drives)
ROUTES: list[tuple[str, str, Handler]] = [(method, path, resolve(name)) for method, path, name in route_names]
