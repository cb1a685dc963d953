"""Occurrences -> vendor events, following the vendor's catalog and templates.

This is the one place that knows how a catalog row becomes an event; vendor folders only hold
data. A dialect is made per run so its id generator follows the run's seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from emulator.errors import EmulatorError, UnknownNameError, VendorError
from emulator.play.clock import MILLISECOND, epoch_ms, iso_of_ms
from emulator.play.ids import id_maker, uuid4, uuid4_unformatted
from emulator.play.occurrence import Occurrence
from emulator.vendors.catalog import Emission
from emulator.vendors.encoding import finite
from emulator.vendors.reads import Path, Paths, expression_paths, reaches, template_paths
from emulator.vendors.registry import Vendor
from emulator.vendors.templates import (
    ENV,
    OMIT,
    ExpressionError,
    compile_condition,
    compile_template,
    decided_by,
    deep_merge,
)


@dataclass(slots=True)
class Event:
    """One vendor event: its type and the exact payload the vendor would send.

    Parts of ``body`` may be shared with other events of the run (templates render what reads
    only stable context once): treat it as read-only, and copy it before changing it.
    """

    vendor: str
    type: str
    id: str
    time: datetime
    time_iso: str
    body: dict[str, Any]
    action: str
    actor: str | None
    error: str | None
    seq: int
    faults: tuple[Any, ...] = ()  # delivery faults the scenario's step asks for
    transaction: str | None = None  # the step's transaction type, if it set one
    user: str | None = None  # the columns of an IdP's event console: who, from where, through what
    user_id: str | None = None
    username: str | None = None
    ip: str | None = None
    client: str | None = None

    def record(self) -> dict[str, Any]:
        """The JSON Lines record ``render`` prints."""
        return {
            "vendor": self.vendor,
            "type": self.type,
            "id": self.id,
            "time": self.time_iso,
            "action": self.action,
            "actor": self.actor,
            "body": self.body,
        }


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ExpressionError | VendorError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, MemoryError):
        return "needs too much memory"
    return f"{type(exc).__name__}: {exc}"


class _Row:
    __slots__ = (
        "emission",
        "error_type",
        "failure_only",
        "renderer",
        "shows_uid",
        "silent",
        "success_type",
        "template",
        "when",
        "with_",
    )

    def __init__(self, vendor: Vendor, emission: Emission) -> None:
        self.emission = emission
        where = f"{vendor.catalog.path}: action row {emission.event!r}"
        try:
            self.when = compile_condition(emission.when) if emission.when else None
            # whether the row emits nothing for a step that succeeded (a false error) and for one that
            # failed, whatever the rest of the context (``when: not error`` for a failure)
            when = emission.when
            self.silent = tuple(
                bool(when) and decided_by(when or "", "error", failed) is False for failed in (False, True)
            )
            self.with_ = compile_template(emission.with_) if emission.with_ is not None else None
        except (ExpressionError, RecursionError, MemoryError) as exc:
            raise VendorError(f"{where}: {_reason(exc)}") from None
        self.template = emission.template or vendor.catalog.events[emission.event].template
        self.renderer = vendor.renderer(self.template)
        # whether this row's event may show ``event.uid``: drawn for every event, formatted only then
        withs = [emission.with_] if emission.with_ is not None else []
        read = vendor_paths(vendor, [self.template], [emission.when] if emission.when else [], withs)
        self.shows_uid = reaches(read, ("event", "uid"))
        self.success_type = vendor.catalog.success_type(emission.event)
        self.error_type = vendor.catalog.error_type(emission.event)
        # an event that exists only as a failure (Strivacity's failure:account_lock) is one whatever the step
        self.failure_only = not vendor.catalog.events[emission.event].success_variant


_RECIPES: WeakKeyDictionary[Vendor, dict[str, list[_Row]]] = WeakKeyDictionary()


def _recipes(vendor: Vendor) -> dict[str, list[_Row]]:
    """Each action's catalog rows, compiled once per vendor release (a server starts many runs);
    a row whose event type the release does not have yet (its ``since`` feature) is left out."""
    recipes = _RECIPES.get(vendor)
    if recipes is None:
        events = vendor.catalog.events
        features = vendor.features
        recipes = {
            action: [
                _Row(vendor, e) for e in rows if not events[e.event].since or features.get(events[e.event].since or "")
            ]
            for action, rows in vendor.catalog.actions.items()
        }
        _RECIPES[vendor] = recipes
    return recipes


_PATHS: WeakKeyDictionary[Vendor, Paths | None] = WeakKeyDictionary()


def _paths(vendor: Vendor) -> Paths | None:
    """What any of the vendor's events may read of an occurrence's context: its rows' templates,
    conditions and ``with:``, and every template a raw event of one of its types renders."""
    if vendor in _PATHS:
        return _PATHS[vendor]
    catalog = vendor.catalog
    rows = [e for emissions in catalog.actions.values() for e in emissions]
    templates = {e.template for e in rows if e.template} | {event.template for event in catalog.events.values()}
    if vendor.registry.find(vendor.name, "templates/_raw.json") is not None:
        templates.add("_raw")
    conditions = [e.when for e in rows if e.when]
    withs = [e.with_ for e in rows if e.with_ is not None]
    found = _PATHS[vendor] = vendor_paths(vendor, sorted(templates), conditions, withs)
    return found


def vendor_paths(
    vendor: Vendor, templates: Iterable[str], conditions: Iterable[str], withs: Iterable[Any]
) -> Paths | None:
    """The paths the vendor's ``templates`` (by name, ``$extends`` resolved), ``when:``
    ``conditions`` and ``with:`` templates read; None when that cannot be told."""
    try:
        found: set[Path] = set()
        for name in templates:
            found |= template_paths(ENV, vendor.resolve(name, vendor.name, ()))
        for source in conditions:
            found |= expression_paths(ENV, source)
        for node in withs:
            found |= template_paths(ENV, node)
    except (EmulatorError, RecursionError):  # UnknownReadsError among them
        return None
    return frozenset(found)


class Dialect:
    """Turns occurrences into one vendor's events."""

    def __init__(self, vendor: Vendor, seed: int, scenario: str = "") -> None:
        self.vendor = vendor
        self.catalog = vendor.catalog
        self.rng = random.Random(f"{seed}:{scenario}:{vendor.name}")
        self.recipes = _recipes(vendor)
        self.event_id = id_maker(self.catalog.event_ids) or (lambda rng, ms: uuid4(rng))
        # what every event of this dialect reads the same: the vendor and its release's features
        self.stable = {"vendor": vendor.name, "version": vendor.version, "features": vendor.features}
        self.emitting: dict[tuple[str, bool], bool] = {}  # (action, failed): what ``emits`` found
        self.paths = _paths(vendor)

    def reads(self, path: Path) -> bool:
        """Whether any of this vendor's events may show what is at ``path`` of a context (the
        player formats only those of its ids)."""
        return reaches(self.paths, path)

    def emits(self, action: str, error: str | None) -> bool:
        """False when an occurrence of ``action`` that ended with ``error`` gives none of this
        vendor's events whatever else it holds (no catalog row for it, or every row's ``when:``
        false for it): the player need not make it (``Player``'s ``wants``)."""
        key = (action, bool(error))
        found = self.emitting.get(key)
        if found is None:
            rows = self.recipes.get(action, ())
            found = self.emitting[key] = action == "emit" or not all(row.silent[key[1]] for row in rows)
        return found

    def events(self, occ: Occurrence) -> list[Event]:
        if occ.action == "emit":
            return self._raw(occ)
        rows = self.recipes.get(occ.action, ())
        if not rows:
            return []
        base = occ.context
        error = occ.error
        error_code = self.catalog.error_code(error) if error else None
        error_doc = self.catalog.error_docs.get(error_code) if error_code else None
        ctx = {**base, "error_code": error_code, "error_doc": error_doc, **self.stable}
        events: list[Event] = []
        for row in rows:
            try:
                failed = error is not None and row.emission.error
                ctx["failed"] = failed
                ctx["event"] = None
                ctx["vars"] = {}
                ctx["let"] = {}
                if row.when is not None and not row.when(ctx):
                    continue
                ev = self._event_meta(occ, row, failed, len(events))
                ctx["event"] = ev
                if row.with_ is not None:
                    rendered = row.with_(ctx)
                    ctx["vars"] = {} if rendered is OMIT else rendered
                body = row.renderer(ctx)
            except Exception as exc:  # a user's template must never end in a traceback
                raise VendorError(
                    f"{self.vendor.name} template {row.template!r}: {_reason(exc)}", occ.location
                ) from None
            events.append(self._event(ev, body, occ, error if failed else None))
        return events

    def _event_meta(self, occ: Occurrence, row: _Row, failed: bool, index: int) -> dict[str, Any]:
        time = occ.time
        if index:
            time = time + MILLISECOND * occ.offset_ms(index)
        event_type = row.error_type if failed or row.failure_only else row.success_type
        return self._meta(event_type, row.emission.event, time, row.shows_uid)

    def _meta(self, event_type: str, base: str, time: datetime, shows_uid: bool = True) -> dict[str, Any]:
        ms = epoch_ms(time)
        iso = iso_of_ms(ms)
        event_id = self.event_id(self.rng, ms)
        return {
            "type": event_type,
            "base_type": base,
            "id": event_id,
            "uid": uuid4(self.rng) if shows_uid else uuid4_unformatted(self.rng),
            "time": time,
            "time_ms": ms,
            "time_iso": iso,
            "time_iso_s": iso[:19] + "Z",
        }

    def _event(self, ev: dict[str, Any], body: Any, occ: Occurrence, error: str | None) -> Event:
        context = occ.context
        actor = context.get("actor") or {}
        client = context.get("client")
        # in field order, by position: a third of the time keywords take, for every event
        return Event(
            self.vendor.key,  # vendor
            ev["type"],  # type
            ev["id"],  # id
            ev["time"],  # time
            ev["time_iso"],  # time_iso
            body if isinstance(body, dict) else {},  # body
            occ.action,  # action
            actor.get("name"),  # actor
            error,  # error
            occ.seq,  # seq
            occ.faults,  # faults
            occ.transaction,  # transaction
            actor.get("email") or actor.get("username"),  # user
            actor.get("id"),  # user_id
            actor.get("username"),  # username
            context.get("ip"),  # ip
            client.get("id") if isinstance(client, dict) else None,  # client
        )

    def _raw(self, occ: Occurrence) -> list[Event]:
        params = occ.context["params"]
        if params.get("vendor") != self.vendor.name:
            return []
        event_type = params["type"]
        catalog = self.catalog
        base = catalog.base_of(event_type)
        if base is None and event_type not in catalog.raw_types:
            known = [*self.vendor.event_types(), *catalog.raw_types]
            raise UnknownNameError(f"{self.vendor.key} event type", event_type, known, occ.location)
        since = catalog.events[base].since if base else None
        if since and not self.vendor.features.get(since):
            return []  # a type that came with a later release: this release emits nothing, as its rows do
        template = catalog.events[base].template if base else "_raw"
        renderer = self.vendor.renderer(template)
        ev = self._meta(event_type, base or event_type, occ.time)
        error = occ.error
        ctx = {
            **occ.context,
            "event": ev,
            "error_code": catalog.error_code(error) if error else None,
            "error_doc": catalog.error_docs.get(catalog.error_code(error)) if error else None,
            "failed": error is not None,
            "vars": {},
            "let": {},
            **self.stable,
        }
        try:
            body = renderer(ctx)
        except Exception as exc:  # a user's template must never end in a traceback
            raise VendorError(f"{self.vendor.name} template {template!r}: {_reason(exc)}", occ.location) from None
        fields = occ.context.get("fields") or {}
        if fields and isinstance(body, dict):
            if not finite(fields):  # what the template would refuse (see encoding.event_json)
                raise VendorError(
                    f"{event_type}: fields hold a number JSON cannot carry (NaN or infinity)", occ.location
                )
            body = deep_merge(body, fields)
        return [self._event(ev, body, occ, error)]
