"""The catalog as people and programs read it: which action yields which event, per vendor."""

from __future__ import annotations

import json
import textwrap
from typing import Any, TextIO

from emulator.scenario.vocabulary import vocabulary
from emulator.vendors.catalog import INTERNAL_ACTIONS
from emulator.vendors.examples import examples
from emulator.vendors.registry import Registry


def catalog_data(registry: Registry, only: str | None = None, with_examples: bool = False) -> dict[str, Any]:
    """The catalog as data; ``with_examples`` adds an example payload to each event type."""
    vocab = vocabulary()
    names = [only] if only else registry.names
    vendors = []
    for name in names:
        catalog = registry.vendor(name).catalog
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
        vendors.append(
            {
                "name": name,
                "title": catalog.title,
                "summary": catalog.summary,
                "sources": catalog.sources,
                "event_types": [
                    {
                        "type": t,
                        "doc": _doc(catalog, t),
                        **({"failure": True} if _failure(catalog, t) else {}),
                        **({"note": catalog.notes[t]} if t in catalog.notes else {}),
                        **({"example": shown[t].body} if t in shown else {}),
                    }
                    for t in catalog.all_types()
                ],
                "raw_types": catalog.raw_types,
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


def _failure(catalog: Any, event_type: str) -> bool:
    """Whether ``event_type`` is the error variant of its event (``LOGIN_ERROR``, ``failure:login``)."""
    base = catalog.base_of(event_type)
    return bool(base) and catalog.error_type(base) == event_type != catalog.success_type(base)


def _doc(catalog: Any, event_type: str) -> str:
    base = catalog.base_of(event_type)
    return catalog.events[base].doc if base else ""


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
        types = [e["type"] for e in vendor["event_types"]]
        out.write(f"\n  event types ({len(types)}):\n")
        out.write(textwrap.indent(textwrap.fill(", ".join(types), width - 4), "    ") + "\n")
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
