"""A vendor's catalog (``catalog.yaml``): its event types, error codes, and which action yields
which events, in the order the vendor emits them. Loading checks it against the vocabulary so a
broken catalog is reported where it is broken, not when a scenario happens to reach it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.errors import Location, Problem, VendorError, suggest
from emulator.play.ids import id_maker
from emulator.scenario.vocabulary import vocabulary
from emulator.scenario.yamlpos import load_yaml
from emulator.vendors.versions import CONFIDENCE, Versions, parse_versions

# Occurrences the player makes on its own (not written in scenarios).
INTERNAL_ACTIONS = {"lockout": "The account was temporarily disabled after repeated login failures."}
_ROW_KEYS = {"event", "when", "error", "with", "template"}
_TOP_KEYS = {
    "name",
    "title",
    "summary",
    "sources",
    "notes",
    "type_format",
    "error_format",
    "event_ids",
    "errors",
    "events",
    "actions",
    "raw_types",
    "defaults",
    "delivery",
    "wire",
    "versions",
}
_EVENT_KEYS = {"doc", "template", "errors", "success", "source", "confidence", "since"}


@dataclass(frozen=True)
class Emission:
    """One row of an action's recipe: emit ``event`` when ``when`` holds (rendered with ``template``
    when the row names one: one event type, two shapes, as Flip's LOGIN_API_CLIENT for two grants)."""

    event: str
    when: str | None = None
    error: bool = True
    with_: Any = None
    template: str | None = None


@dataclass(frozen=True)
class EventType:
    """One catalog event: its doc, template, variants, where its shape comes from and how sure that is."""

    name: str
    doc: str
    template: str
    error_variant: bool
    success_variant: bool = True
    source: tuple[str, ...] = ()  # URLs, repository paths or seed documents the shape follows
    confidence: str = ""  # confirmed, inferred or unverified (see emulator/vendors/versions.py)
    since: str | None = None  # the version feature that brought this event type, if not always there


@dataclass
class Catalog:
    name: str
    title: str
    summary: str
    path: Path
    sources: list[str]
    type_format: str
    error_format: str
    event_ids: str
    errors_known: list[str]
    error_map: dict[str, str]
    error_fallback: str
    events: dict[str, EventType]
    actions: dict[str, list[Emission]]
    notes: dict[str, str]
    raw_types: list[str] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    delivery: dict[str, Any] = field(default_factory=dict)
    wire: dict[str, Any] = field(default_factory=dict)  # where a consumer reads id, type and user
    versions: Versions = field(default_factory=Versions)
    versions_like: str | None = None  # another vendor whose releases these are (Flip runs on Keycloak)
    raw_source: tuple[str, ...] = ()  # what the generic shape of the raw types follows
    raw_confidence: str = ""
    error_docs: dict[str, str] = field(default_factory=dict)  # the vendor's own words for its error codes
    _bases: dict[str, str] | None = field(default=None, repr=False)

    def error_code(self, neutral: str) -> str:
        """The vendor's own string for a neutral error code."""
        if neutral in self.error_map:
            return self.error_map[neutral]
        if neutral in self.errors_known or not self.errors_known:
            return neutral
        return self.error_fallback or neutral

    def error_doc(self, neutral: str, fallback: str) -> str:
        """What the vendor says of the code it reports for ``neutral`` (``fallback``: the neutral
        code's own description, for vendors that describe no codes of their own)."""
        return self.error_docs.get(self.error_code(neutral), fallback)

    def success_type(self, base: str) -> str:
        return self.type_format.replace("{type}", base)

    def error_type(self, base: str) -> str:
        """The type of the event when the action failed (``LOGIN_ERROR``, ``failure:login``)."""
        event = self.events.get(base)
        if self.error_format and (event is None or event.error_variant):
            return self.error_format.replace("{type}", base)
        return self.success_type(base)

    def all_types(self, features: dict[str, bool] | None = None) -> list[str]:
        """Every event type this vendor can emit, error variants included, in catalog order
        (with ``features``, only those of that version)."""
        names: list[str] = []
        for event in self.events.values():
            if features is not None and event.since and not features.get(event.since):
                continue
            if event.success_variant:
                names.append(self.success_type(event.name))
            if self.error_format and event.error_variant:
                names.append(self.error_type(event.name))
        return names

    def base_of(self, event_type: str) -> str | None:
        """The catalog event a (possibly formatted) type name belongs to."""
        if self._bases is None:
            self._bases = {}
            for event in self.events.values():
                self._bases.setdefault(self.error_type(event.name), event.name)
                self._bases[self.success_type(event.name)] = event.name
        return self._bases.get(event_type)


def load_catalog(path: Path) -> Catalog:
    """Read and check ``catalog.yaml``; raise VendorError at the first broken place."""
    try:
        return _load_catalog(path)
    except (Problem, VendorError):
        raise
    except UnicodeDecodeError:
        raise VendorError("not a UTF-8 text file", Location(str(path))) from None
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, OSError) as exc:
        raise VendorError(
            f"malformed catalog ({type(exc).__name__}: {exc}); see the bundled catalogs for the shape",
            Location(str(path)),
        ) from None


def _load_catalog(path: Path) -> Catalog:
    text = path.read_text("utf-8")
    data, pos = load_yaml(text, str(path))

    def fail(message: str, *where: str | int) -> VendorError:
        return VendorError(message, pos.at(tuple(where)))

    if not isinstance(data, dict):
        raise fail("a vendor catalog is a mapping")
    for key in data:
        if key not in _TOP_KEYS:
            hint = suggest(key, _TOP_KEYS)
            raise fail(f"unknown catalog key {key!r}" + (f"; did you mean {hint!r}?" if hint else ""), key)
    name = data.get("name") or path.parent.name
    vocab = vocabulary()

    events: dict[str, EventType] = {}
    suffix = data.get("error_format", "") or ""
    for ev_name, spec in (data.get("events") or {}).items():
        spec = spec if isinstance(spec, dict) else {"doc": spec or ""}
        for key in spec:
            if key not in _EVENT_KEYS:
                hint = suggest(key, _EVENT_KEYS)
                raise fail(
                    f"unknown event key {key!r}" + (f"; did you mean {hint!r}?" if hint else ""), "events", ev_name, key
                )
        events[ev_name] = EventType(
            name=ev_name,
            doc=str(spec.get("doc", "")),
            template=str(spec.get("template", _file_name(ev_name))),
            error_variant=bool(spec.get("errors", bool(suffix))),
            success_variant=bool(spec.get("success", True)),
            source=_sources(spec.get("source"), fail, "events", ev_name),
            confidence=_confidence(spec.get("confidence"), fail, "events", ev_name),
            since=str(spec["since"]) if spec.get("since") else None,
        )

    raw_versions = data.get("versions")
    versions_like = None
    if isinstance(raw_versions, dict) and set(raw_versions) == {"like"}:
        versions_like, versions = str(raw_versions["like"]), Versions()
    else:
        versions = parse_versions(raw_versions, fail)
        for ev in events.values():
            if ev.since and ev.since not in versions.feature_names:
                raise fail(f"since: {ev.since!r} is not a feature any release adds", "events", ev.name, "since")
    raw = data.get("raw_types") or []
    raw_source: tuple[str, ...] = ()
    raw_confidence = ""
    if isinstance(raw, dict):
        raw_source = _sources(raw.get("source"), fail, "raw_types")
        raw_confidence = _confidence(raw.get("confidence"), fail, "raw_types")
        raw = raw.get("types") or []
    for raw_type in raw:
        if str(raw_type) in events:
            raise fail(f"raw type {raw_type!r} is a catalog event too; list it once", "raw_types")
    delivery = dict(data.get("delivery") or {})
    for fact, spec in (delivery.get("facts") or {}).items():
        if not isinstance(spec, dict):
            raise fail("a delivery fact is {source, confidence, note}", "delivery", "facts", fact)
        _sources(spec.get("source"), fail, "delivery", "facts", fact)
        _confidence(spec.get("confidence"), fail, "delivery", "facts", fact)

    errors = data.get("errors") or {}
    # known: the vendor's codes, as a list, or as a mapping to the vendor's own description of each
    given = errors.get("known") or []
    known = [str(code) for code in given]
    error_docs = {str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {}
    error_map = dict(errors.get("map") or {})
    for neutral in error_map:
        if neutral not in vocab.errors:
            hint = suggest(neutral, vocab.errors)
            raise fail(
                f"error map names unknown neutral error {neutral!r}" + (f"; did you mean {hint!r}?" if hint else ""),
                "errors",
                "map",
                neutral,
            )

    actions: dict[str, list[Emission]] = {}
    valid_actions = {*vocab.actions, *INTERNAL_ACTIONS}
    for action, rows in (data.get("actions") or {}).items():
        if action not in valid_actions:
            hint = suggest(action, valid_actions)
            raise fail(
                f"unknown action {action!r}" + (f"; did you mean {hint!r}?" if hint else ""), "actions", action, "<key>"
            )
        recipe = []
        for i, row in enumerate(rows or []):
            row = {"event": row} if isinstance(row, str) else row
            if not isinstance(row, dict) or "event" not in row:
                raise fail("each row is an event type or {event, when, error, with, template}", "actions", action, i)
            for key in row:
                if key not in _ROW_KEYS:
                    raise fail(
                        f"unknown row key {key!r}; expected one of: {', '.join(sorted(_ROW_KEYS))}",
                        "actions",
                        action,
                        i,
                        key,
                    )
            if row["event"] not in events:
                hint = suggest(row["event"], events)
                raise fail(
                    f"unknown event type {row['event']!r}" + (f"; did you mean {hint!r}?" if hint else ""),
                    "actions",
                    action,
                    i,
                    "event",
                )
            template = str(row["template"]) if row.get("template") else None
            recipe.append(
                Emission(row["event"], row.get("when"), bool(row.get("error", True)), row.get("with"), template)
            )
        actions[action] = recipe

    return Catalog(
        name=name,
        title=str(data.get("title", name)),
        summary=str(data.get("summary", "")),
        path=path,
        sources=[str(x) for x in data.get("sources") or []],
        type_format=str(data.get("type_format", "{type}")),
        error_format=suffix,
        event_ids=_event_ids(data.get("event_ids", "uuid4"), fail),
        errors_known=known,
        error_map=error_map,
        error_fallback=str(errors.get("fallback", "")),
        events=events,
        actions=actions,
        notes={str(k): str(v) for k, v in (data.get("notes") or {}).items()},
        raw_types=[str(t) for t in raw],
        defaults=dict(data.get("defaults") or {}),
        delivery=delivery,
        wire=dict(data.get("wire") or {}),
        versions=versions,
        versions_like=versions_like,
        raw_source=raw_source,
        raw_confidence=raw_confidence,
        error_docs=error_docs,
    )


def _sources(value: Any, fail: Any, *where: str) -> tuple[str, ...]:
    """``source``: one text or a list of them (a URL, a repository path, a seed document)."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise fail("source: a text or a list of texts (URL, repository path, seed document)", *where, "source")
    return tuple(items)


def _confidence(value: Any, fail: Any, *where: str) -> str:
    if value is None:
        return ""
    if value not in CONFIDENCE:
        raise fail(f"confidence: one of {', '.join(CONFIDENCE)}, got {value!r}", *where, "confidence")
    return str(value)


def _event_ids(value: Any, fail: Any) -> str:
    if not isinstance(value, str) or id_maker(value) is None:
        raise fail(
            f"event_ids must be uuid4, uuid7, ksuid, or a pattern such as msg_{{ksuid}} or 900{{digits:53}},"
            f" got {value!r}",
            "event_ids",
        )
    return value


def _file_name(event_type: str) -> str:
    """Template file stem for an event type (``success:login`` -> ``success_login``)."""
    return event_type.replace(":", "_").replace("/", "_")


def location_of(catalog: Catalog) -> Location:
    return Location(str(catalog.path))
