"""The catalog as people and programs read it: which action yields which event, per vendor."""

from __future__ import annotations

import json
import textwrap
from typing import Any, TextIO

from emulator.scenario.vocabulary import vocabulary
from emulator.vendors.catalog import INTERNAL_ACTIONS, Catalog, EventType
from emulator.vendors.examples import examples
from emulator.vendors.registry import Registry, Vendor


def catalog_data(registry: Registry, only: str | None = None, with_examples: bool = False) -> dict[str, Any]:
    """The catalog as data; ``with_examples`` adds an example payload to each event type.

    ``only`` may name a release (``keycloak@25.0``): its event types, delivery and examples.
    Every event type says where its shape comes from and how sure that is, and so does every
    delivery fact (signing, retries, timeouts): a consumer's tests are only as good as these.
    """
    vocab = vocabulary()
    names = [only] if only else registry.names
    vendors = []
    for name in names:
        dialect = registry.vendor(name)
        catalog = dialect.catalog
        shown = examples(registry, name) if with_examples else {}
        actions: dict[str, Any] = {}
        for action in [*vocab.actions, *INTERNAL_ACTIONS]:
            if action == "emit":
                continue
            rows = catalog.actions.get(action, [])
            entry: dict[str, Any] = {
                "events": [
                    {"type": catalog.success_type(r.event), **({"when": r.when} if r.when else {})} for r in rows
                ]
            }
            if action in catalog.notes:
                entry["note"] = catalog.notes[action]
            elif not rows:
                entry["note"] = f"{catalog.title} emits no event for this action."
            actions[action] = entry
        delivery = delivery_sources(registry, name)
        vendors.append(
            {
                "name": dialect.name,
                "vendor": dialect.key,  # the name a run gives: the bare name, or name@version for a release
                **({"version": dialect.version} if dialect.version else {}),
                "title": catalog.title,
                "summary": catalog.summary,
                "sources": catalog.sources,
                "versions": dialect.versions.describe() if dialect.versions.releases else None,
                "delivery_sources": delivery,
                "event_types": [
                    {
                        "type": t,
                        "event": catalog.base_of(t),
                        "doc": _event(catalog, t).doc,
                        "source": list(_event(catalog, t).source),
                        "confidence": _event(catalog, t).confidence,
                        **({"since": _since(dialect, t)} if _since(dialect, t) else {}),
                        **({"failure": True} if _failure(catalog, t) else {}),
                        **({"note": catalog.notes[t]} if t in catalog.notes else {}),
                        **({"example": shown[t].body} if t in shown else {}),
                    }
                    for t in dialect.event_types()
                ],
                "raw_types": catalog.raw_types,
                "raw_types_source": {"source": list(catalog.raw_source), "confidence": catalog.raw_confidence},
                "errors": {"known": catalog.errors_known, "map": catalog.error_map, "fallback": catalog.error_fallback},
                # each neutral error code (what scenarios write and the store keeps) as this vendor reports it
                "error_codes": {
                    neutral: {"code": catalog.error_code(neutral), "doc": catalog.error_doc(neutral, doc)}
                    for neutral, doc in vocab.errors.items()
                },
                "actions": actions,
            }
        )
    return {
        "actions": {
            n: {"doc": a.doc, "params": {p.name: p.type for p in a.params.values()}} for n, a in vocab.actions.items()
        },
        "errors": vocab.errors,
        "vendors": vendors,
    }


def _failure(catalog: Catalog, event_type: str) -> bool:
    """Whether ``event_type`` is the error variant of its event (``LOGIN_ERROR``, ``failure:login``)."""
    base = catalog.base_of(event_type)
    return base is not None and catalog.error_type(base) == event_type != catalog.success_type(base)


def _event(catalog: Catalog, event_type: str) -> EventType:
    base = catalog.base_of(event_type)
    return catalog.events[base] if base else EventType(event_type, "", "_raw", False)


def _since(dialect: Vendor, event_type: str) -> str | None:
    """The release that brought an event type, when not the oldest one."""
    feature = _event(dialect.catalog, event_type).since
    for release in dialect.versions.releases:
        if feature and feature in release.adds:
            return release.version
    return None


def delivery_sources(registry: Registry, name: str) -> dict[str, Any]:
    """Where each of a vendor's delivery facts (signing, retries, timeouts) comes from, and how sure
    that is; ``delivery_facts`` says what they are, in words."""
    from emulator.delivery.targets import vendor_delivery

    facts = vendor_delivery(registry, name).get("facts") or {}
    return {fact: dict(spec) for fact, spec in facts.items()}


def print_catalog(data: dict[str, Any], out: TextIO) -> None:
    width = 100
    for vendor in data["vendors"]:
        out.write(f"\n{vendor['name']} — {vendor['title']}\n")
        if vendor["summary"]:
            out.write(textwrap.indent(textwrap.fill(vendor["summary"], width - 2), "  ") + "\n")
        out.write("\n  action               events (in the order the vendor emits them)\n")
        silent = []
        for action, entry in vendor["actions"].items():
            if not entry["events"]:
                silent.append(f"{action} ({entry.get('note', '')})")
                continue
            events = ", ".join(e["type"] + (f" [if {e['when']}]" if "when" in e else "") for e in entry["events"])
            lines = textwrap.wrap(events, width - 25) or [""]
            out.write(f"  {action:<20} {lines[0]}\n")
            for more in lines[1:]:
                out.write(f"  {'':<20} {more}\n")
        if silent:
            out.write("\n  no event for: " + "; ".join(silent) + "\n")
        _print_versions(vendor, out, width)
        _print_delivery(vendor, out, width)
        types = vendor["event_types"]
        counts = ", ".join(f"{n} {c}" for c, n in confidence_counts(vendor).items())
        out.write(f"\n  event types ({len(types)}: {counts}), where each shape comes from:\n")
        for event in types:
            sources = "; ".join(event["source"]) or "no source recorded"
            since = f" [since {event['since']}]" if event.get("since") else ""
            lines = textwrap.wrap(f"{event['confidence'] or 'unrated'}: {sources}{since}", width - 8)
            out.write(f"    {event['type']}\n")
            for line in lines:
                out.write(f"        {line}\n")
        for event in vendor["event_types"]:
            if "example" in event:
                body = json.dumps(event["example"], ensure_ascii=False, indent=2)
                out.write(f"\n  example {event['type']}:\n" + textwrap.indent(body, "    ") + "\n")
        if "delivery" in vendor:
            out.write("\n  delivery by default:\n")
            for key, text in vendor["delivery"].items():
                lines = textwrap.wrap(text, width - 16) or [""]
                out.write(f"    {key:<10} {lines[0]}\n" + "".join(f"    {'':<10} {more}\n" for more in lines[1:]))
        known = vendor["errors"]["known"]
        if known:
            out.write(f"  error codes ({len(known)}):\n")
            out.write(textwrap.indent(textwrap.fill(", ".join(known), width - 4), "    ") + "\n")
    out.write(f"\nactions: {', '.join(data['actions'])}\n")
    out.write(f"neutral error codes: {', '.join(data['errors'])}\n")


def confidence_counts(vendor: dict[str, Any]) -> dict[str, int]:
    """How many of a vendor's event types (an error variant counts with its success type) are
    confirmed, inferred or unverified: the README's table and the catalog's header."""
    seen: dict[str, str] = {}
    for event in vendor["event_types"]:
        seen.setdefault(event["event"], event["confidence"] or "unrated")
    counts = {c: 0 for c in ("confirmed", "inferred", "unverified")}
    for confidence in seen.values():
        counts[confidence] = counts.get(confidence, 0) + 1
    return counts


def _print_versions(vendor: dict[str, Any], out: TextIO, width: int) -> None:
    versions = vendor.get("versions")
    if not versions:
        return
    out.write(f"\n  versions (default {versions['default']}; pick one with {vendor['name']}@VERSION):\n")
    for release in versions["known"]:
        sure = "" if release["confidence"] == "confirmed" else f" ({release['confidence']})"
        lines = textwrap.wrap(release["changes"] + sure, width - 14) or [""]
        out.write(f"    {release['version']:<8}  {lines[0]}\n")
        for line in lines[1:]:
            out.write(f"    {'':<8}  {line}\n")


def _print_delivery(vendor: dict[str, Any], out: TextIO, width: int) -> None:
    facts = vendor.get("delivery_sources") or {}
    if not facts:
        return
    out.write("\n  where each delivery fact comes from:\n")
    for fact, spec in facts.items():
        source = "; ".join(spec.get("source") if isinstance(spec.get("source"), list) else [spec.get("source", "")])
        text = f"{spec.get('confidence', 'unrated')}: {spec.get('note', '')} ({source})".replace(" ()", "")
        lines = textwrap.wrap(text, width - 18) or [""]
        out.write(f"    {fact:<12}  {lines[0]}\n")
        for line in lines[1:]:
            out.write(f"    {'':<12}  {line}\n")
