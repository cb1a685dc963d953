"""Overrides: change fields of rendered events before they are signed (``--set``, ``--unset``).

A test often needs one field to be something a scenario cannot say (an email with a plus sign,
an unknown outcome, a field the vendor leaves out removed). An override names a field by a
dotted path (``event.user.email``, ``data.events[0].outcome.result``, ``labels.0``), optionally
only in events of some types (``user.login.success:event.user.email=x@example.com``; the type is
a glob), and is applied after rendering and before signing, so the signature covers the changed
body. The value is JSON where it parses as JSON, else the text as written.

A path that matches nothing is an error naming the event type: an override is never silently
ignored, so a typo cannot pass for a test of the consumer. The same holds for a type filter that
names no event type of the vendor, or no event of the run. ``render``, ``run``, the API's runs and
triggers and the pytest fixture all read overrides through this one module.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emulator.errors import OverrideError, suggest

if TYPE_CHECKING:
    from emulator.vendors.dialect import Event

Part = str | int
_PART = re.compile(r'\[(-?\d+)\]|\["((?:[^"\\]|\\.)*)"\]|([^.\[\]]+)')
KINDS = ("set", "unset")


@dataclass(frozen=True, slots=True)
class Override:
    """One ``--set PATH=VALUE`` or ``--unset PATH``, optionally for some event types only."""

    kind: str  # "set" or "unset"
    text: str  # as written, for messages and for the store
    path: tuple[Part, ...]
    value: Any = None
    types: str | None = None  # a glob over event types; None: every event

    def wants(self, event_type: str) -> bool:
        return self.types is None or fnmatch.fnmatchcase(event_type, self.types)

    def __str__(self) -> str:
        return f"--{self.kind} {self.text!r}"


def parse_path(text: str, where: str) -> tuple[Part, ...]:
    """``a.b[0].c`` or ``a.b.0.c`` (a number names an item of a list); ``["a.b"]`` quotes a key with dots."""
    parts: list[Part] = []
    pos = 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            raise OverrideError(f"{where}: cannot read the path {text!r} at character {pos + 1}")
        index, quoted, name = match.groups()
        if index is not None:
            parts.append(int(index))
        elif quoted is not None:
            parts.append(json.loads(f'"{quoted}"'))
        else:
            parts.append(name)
        pos = match.end()
        if pos < len(text):
            if text[pos] == ".":
                pos += 1
                if pos == len(text) or text[pos] == ".":
                    raise OverrideError(f"{where}: the path {text!r} has an empty part")
            elif text[pos] != "[":
                raise OverrideError(f"{where}: cannot read the path {text!r} at character {pos + 1}")
    if not parts:
        raise OverrideError(f"{where}: the path is empty; name a field such as event.user.email")
    return tuple(parts)


def _not_json(word: str) -> Any:
    """NaN and Infinity, which Python's reader takes and JSON has not (an event never holds them)."""
    raise ValueError(f"{word} is not JSON")


def parse_override(kind: str, text: str) -> Override:
    """``[TYPE:]PATH=VALUE`` for ``set``, ``[TYPE:]PATH`` for ``unset``."""
    if kind not in KINDS:
        raise OverrideError(f"an override is one of {', '.join(KINDS)}, not {kind!r}")
    where = f"--{kind} {text!r}"
    if not isinstance(text, str) or not text.strip():
        raise OverrideError(f"--{kind}: expected [TYPE:]PATH{'=VALUE' if kind == 'set' else ''}, got {text!r}")
    value: Any = None
    target = text
    if kind == "set":
        if "=" not in text:
            raise OverrideError(f"{where}: expected [TYPE:]PATH=VALUE (no '=' found)")
        target, raw = text.split("=", 1)
        try:
            value = json.loads(raw, parse_constant=_not_json)
        except ValueError:
            value = raw  # not JSON: the text as written (x@example.com, NaN)
    types, _, path = target.rpartition(":")  # event types may hold ':' (success:login), paths do not
    if _ and not types:
        raise OverrideError(f"{where}: nothing before ':'; name an event type or leave the ':' out")
    return Override(kind, text, parse_path(path.strip(), where), value, types.strip() or None)


def parse_overrides(sets: Iterable[str] = (), unsets: Iterable[str] = ()) -> tuple[Override, ...]:
    """Every ``set`` (in order), then every ``unset`` (in order)."""
    for kind, given in (("set", sets), ("unset", unsets)):
        if isinstance(given, str):
            raise OverrideError(f"--{kind}: a list of overrides, not one text")
    return tuple(
        [parse_override("set", str(s)) for s in sets or ()] + [parse_override("unset", str(u)) for u in unsets or ()]
    )


def stored(overrides: Sequence[Override]) -> dict[str, list[str]]:
    """How a run records its overrides (to resume it alike): the texts as written."""
    return {kind: [o.text for o in overrides if o.kind == kind] for kind in KINDS}


def check_types(overrides: Sequence[Override], known: Iterable[str], vendors: str) -> None:
    """A type filter must name an event type the run's vendors have (``user.login.sucess`` is an error)."""
    names = sorted(set(known))
    for override in overrides:
        if override.types is not None and not any(override.wants(t) for t in names):
            hint = suggest(override.types, names)
            more = f"; did you mean {hint!r}?" if hint else ""
            raise OverrideError(f"{override}: {vendors} has no event type {override.types!r}{more}")


def apply(event: Event, overrides: Sequence[Override]) -> Event:
    """The event with its body changed by every override that wants its type (a new body: the
    rendered one may share parts with other events, so only the changed path is copied)."""
    body: Any = event.body
    touched = False
    for override in overrides:
        if override.wants(event.type):
            body = _edit(body, override, 0, event)
            touched = True
    return dataclasses.replace(event, body=body) if touched else event


def apply_all(events: Iterable[Event], overrides: Sequence[Override]) -> Iterator[Event]:
    """Each event overridden; at the end, an override that wanted no event of the stream is an error."""
    if not overrides:
        yield from events
        return
    used = [False] * len(overrides)
    for event in events:
        for i, override in enumerate(overrides):
            if not used[i] and override.wants(event.type):
                used[i] = True
        yield apply(event, overrides)
    for override, was in zip(overrides, used, strict=True):
        if not was:
            raise OverrideError(f"{override}: no event of this run has the type {override.types!r}")


def _edit(node: Any, override: Override, depth: int, event: Event) -> Any:
    path = override.path
    part = path[depth]
    last = depth == len(path) - 1
    here = _dotted(path[:depth])
    if isinstance(node, dict):
        if not isinstance(part, str) or part not in node:
            fields = ", ".join(sorted(node)) or "none"
            hint = suggest(str(part), node) if isinstance(part, str) else None
            more = f"; did you mean {hint!r}?" if hint else ""
            why = f"{here or 'the body'} has no field {str(part)!r}{more} (it has: {fields})"
            raise _missing(override, event, why + (" (to add a field, set its parent object)" if last else ""))
        copy = dict(node)
        if last:
            if override.kind == "unset":
                del copy[part]
            else:
                copy[part] = override.value
        else:
            copy[part] = _edit(node[part], override, depth + 1, event)
        return copy
    if isinstance(node, list):
        index = part if isinstance(part, int) else int(part) if part.lstrip("-").isdigit() else None
        if index is None or not -len(node) <= index < len(node):
            what = f"[{part}]" if index is not None else repr(part)
            raise _missing(override, event, f"{here or 'the body'} is a list of {len(node)} item(s); {what} is not one")
        copy_list = list(node)
        if last:
            if override.kind == "unset":
                del copy_list[index]
            else:
                copy_list[index] = override.value
        else:
            copy_list[index] = _edit(node[index], override, depth + 1, event)
        return copy_list
    kind = "null" if node is None else type(node).__name__.replace("str", "text").replace("bool", "true/false")
    raise _missing(override, event, f"{here} is {kind}, not an object or a list")


def _missing(override: Override, event: Event, why: str) -> OverrideError:
    return OverrideError(
        f"{override}: the path {_dotted(override.path)} matches nothing in {event.type} (event {event.id}): {why}"
    )


def _dotted(path: Sequence[Part]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[^.\[\]]+", part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text
