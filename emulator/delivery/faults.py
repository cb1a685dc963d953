"""Faults: the misbehaviour of a real IdP's delivery, injected on purpose and on record.

A target lists faults (the kinds in ``FAULTS``), each with an optional ``probability`` and
``events`` globs. Whether a fault hits a delivery is
drawn from the run's seed, the event id and the target, so the same run injects the same faults
however deliveries interleave. Delivery faults change when and how often an event is sent;
request faults change what one attempt puts on the wire. Both are written to the delivery log.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import EmulatorError
from emulator.scenario.durations import parse_duration


@dataclass(frozen=True)
class FaultKind:
    """One kind of fault as users write it: its settings (as JSON Schema) and what it does."""

    doc: str
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


_DURATION: dict[str, Any] = {"type": ["string", "number"], "description": "a duration such as 2s or 5m"}

# Every fault, once: the loader, the emulator.yaml and scenario schemas and the docs read this table.
FAULTS: dict[str, FaultKind] = {
    "duplicate": FaultKind(
        "the same event (same id) sent again",
        {"copies": {"type": "integer", "minimum": 1, "maximum": 100}, "delay": _DURATION},
    ),
    "reorder": FaultKind(
        "events held back and sent in another order", {"window": {"type": "integer", "minimum": 2, "maximum": 10000}}
    ),
    "delay": FaultKind(
        "sent late by a fixed, uniform or exponential amount",
        {"fixed": _DURATION, "uniform": {"type": "array", "items": _DURATION}, "exponential": _DURATION},
    ),
    "drop": FaultKind("never sent"),
    "bad_signature": FaultKind("a signature that cannot verify, or none", {"mode": {"enum": ["wrong", "missing"]}}),
    "timestamp": FaultKind("a signed timestamp moved (stale or future)", {"offset": {"type": ["string", "number"]}}),
    "rotation": FaultKind("signed with the previous secret too", {"previous": {"type": "string"}}),
    "malformed_json": FaultKind("a body that is not JSON"),
    "truncate": FaultKind("a body cut in transit", {"at": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}}),
    "content_type": FaultKind("another Content-Type", {"value": {"type": "string"}}),
    "oversize": FaultKind("a body padded to a size", {"size": {"type": ["string", "integer"]}}),
}
KINDS = tuple(FAULTS)
_COMMON: dict[str, dict[str, Any]] = {
    "probability": {"type": "number", "minimum": 0, "maximum": 1, "description": "chance per delivery (default 1)"},
    "events": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "event-type globs"},
}


def fault_schema() -> dict[str, Any]:
    """One fault as written in emulator.yaml or a scenario step, as JSON Schema (from ``FAULTS``)."""
    shapes = [
        {
            "type": "object",
            "additionalProperties": False,
            "required": [name],
            "properties": {
                name: {
                    "description": kind.doc,
                    "type": ["object", "null"],
                    "additionalProperties": False,
                    "properties": {**kind.params, **_COMMON},
                }
            },
        }
        for name, kind in FAULTS.items()
    ]
    return {"oneOf": [{"enum": list(KINDS), "description": "a fault with its default settings"}, *shapes]}


MAX_OVERSIZE = 64 * 1024 * 1024  # each attempt holds its body in memory: keep it bounded


class FaultError(EmulatorError):
    """A fault written wrongly; the message names the fault and the field."""


@dataclass(frozen=True)
class Fault:
    kind: str
    probability: float = 1.0
    events: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    _match: Callable[[str], Any] | None = field(default=None, repr=False, compare=False)

    def applies(self, event_type: str) -> bool:
        return self._match is None or self._match(event_type) is not None


@dataclass
class Plan:
    """The faults one delivery gets, drawn once (and again, identically, after a resume)."""

    drop: bool = False
    delay: float = 0.0  # seconds of scenario time before the first attempt
    copies: list[float] = field(default_factory=list)  # one entry per extra copy: its delay
    reorder: int = 0  # window size, when the delivery takes part in reordering
    request: list[Fault] = field(default_factory=list)  # applied to every attempt
    notes: list[str] = field(default_factory=list)  # what the log says was injected

    @property
    def any(self) -> bool:
        return bool(self.drop or self.delay or self.copies or self.reorder or self.request)


def _seconds(value: Any, where: str) -> float:
    try:
        return parse_duration(value).total_seconds()
    except ValueError as exc:
        raise FaultError(f"{where}: {exc}") from None


def _size(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?\s*", str(value), re.I)
        if not m:
            raise FaultError(f"{where}: expected a size such as 10MB, got {value!r}")
        size = int(float(m.group(1)) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[(m.group(2) or "B").upper()])
    if not 0 < size <= MAX_OVERSIZE:
        raise FaultError(f"{where}: between 1 byte and 64MB, got {value!r}")
    return size


def parse_faults(raw: Any) -> tuple[Fault, ...]:
    """Faults from their written form: a list of ``{kind: {params}}`` (or ``kind`` alone)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FaultError("faults: expected a list such as [{duplicate: {copies: 2}}, drop]")
    faults = []
    for i, item in enumerate(raw):
        where = f"faults[{i}]"
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise FaultError(f"{where}: one fault per entry, written as {{kind: {{settings}}}}")
        [(kind, params)] = item.items()
        if params is not None and not isinstance(params, dict):
            raise FaultError(f"{where}.{kind}: settings are a mapping such as {{probability: 0.5}}, got {params!r}")
        if kind not in KINDS:
            from emulator.errors import suggest

            hint = suggest(kind, KINDS)
            raise FaultError(f"{where}: unknown fault {kind!r}" + (f"; did you mean {hint!r}?" if hint else ""))
        params = dict(params or {})
        probability = params.pop("probability", 1.0)
        if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
            raise FaultError(f"{where}.{kind}.probability: a number from 0 to 1, got {probability!r}")
        events = params.pop("events", None) or []
        if not isinstance(events, list) or not all(isinstance(e, str) and e for e in events):
            raise FaultError(f"{where}.{kind}.events: a list of event-type globs such as ['user.login.*']")
        events = tuple(events)
        unknown = sorted(set(params) - set(FAULTS[kind].params))
        if unknown:
            allowed = ", ".join(sorted({*FAULTS[kind].params, "probability", "events"}))
            raise FaultError(f"{where}.{kind}: unknown setting {unknown[0]!r}; expected some of: {allowed}")
        faults.append(
            Fault(
                kind,
                float(probability),
                events,
                _check(kind, params, f"{where}.{kind}"),
                re.compile("|".join(fnmatch.translate(g) for g in events)).match if events else None,
            )
        )
    return tuple(faults)


def _check(kind: str, params: dict[str, Any], where: str) -> dict[str, Any]:
    """Settings made ready to use (durations to seconds, sizes to bytes), with defaults."""
    out = dict(params)
    if kind == "duplicate":
        copies = out.get("copies", 1)
        if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= 100:
            raise FaultError(f"{where}.copies: a whole number from 1 to 100, got {copies!r}")
        out["copies"] = copies
        out["delay"] = _seconds(out.get("delay", 0), f"{where}.delay")
    elif kind == "reorder":
        window = out.get("window", 5)
        if isinstance(window, bool) or not isinstance(window, int) or not 2 <= window <= 10_000:
            raise FaultError(f"{where}.window: a whole number from 2 to 10000, got {window!r}")
        out["window"] = window
    elif kind == "delay":
        if len(out) != 1:
            raise FaultError(f"{where}: give one of fixed: 2s, uniform: [1s, 5s] or exponential: 2s (the mean)")
        if "fixed" in out:
            out["fixed"] = _seconds(out["fixed"], f"{where}.fixed")
        elif "exponential" in out:
            out["exponential"] = _seconds(out["exponential"], f"{where}.exponential")
        else:
            pair = out["uniform"]
            if not isinstance(pair, list) or len(pair) != 2:
                raise FaultError(f"{where}.uniform: two durations, [shortest, longest]")
            low, high = (_seconds(v, f"{where}.uniform") for v in pair)
            if low > high:
                raise FaultError(f"{where}.uniform: the first duration must not exceed the second")
            out["uniform"] = (low, high)
    elif kind == "bad_signature":
        mode = out.get("mode", "wrong")
        if mode not in ("wrong", "missing"):
            raise FaultError(f"{where}.mode: 'wrong' or 'missing', got {mode!r}")
        out["mode"] = mode
    elif kind == "timestamp":
        offset = out.get("offset", "-10m")
        text = str(offset).strip()
        sign = -1 if text.startswith("-") else 1
        out["offset"] = sign * _seconds(text.lstrip("+-"), f"{where}.offset")
    elif kind == "rotation":
        if not isinstance(out.get("previous"), str) or not out["previous"]:
            raise FaultError(f"{where}.previous: the previous secret (use ${{VARIABLE}})")
    elif kind == "truncate":
        at = out.get("at", 0.5)
        if isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at < 1:
            raise FaultError(f"{where}.at: the share of the body kept, from 0 up to (not including) 1, got {at!r}")
        out["at"] = float(at)
    elif kind == "content_type":
        value = out.get("value", "text/plain")
        if not isinstance(value, str) or any(c in value for c in "\r\n"):
            raise FaultError(f"{where}.value: a single-line media type, got {value!r}")
        out["value"] = value
    elif kind == "oversize":
        out["size"] = _size(out.get("size", "10MB"), f"{where}.size")
    return out


@functools.lru_cache(maxsize=256)
def step_faults(text: str | None) -> tuple[Fault, ...]:
    """A scenario step's faults, as stored with its events (JSON), parsed once per distinct list."""
    return parse_faults(json.loads(text)) if text else ()


def plan(faults: tuple[Fault, ...], seed: int, target: str, event_id: str, event_type: str, copy: bool) -> Plan:
    """Draw the faults of one delivery: the same inputs give the same plan, on any machine."""
    result = Plan()
    if not faults:
        return result
    rng = random.Random(f"{seed}:{target}:{event_id}:{int(copy)}")
    for fault in faults:
        hit = fault.applies(event_type) and rng.random() < fault.probability
        if not hit:
            continue
        p = fault.params
        if fault.kind == "drop" and not copy:
            result.drop = True
            result.notes.append("dropped")
        elif fault.kind == "delay":
            seconds = (
                p["fixed"]
                if "fixed" in p
                else rng.uniform(*p["uniform"])
                if "uniform" in p
                else rng.expovariate(1 / p["exponential"])
                if p["exponential"]
                else 0.0
            )
            result.delay += seconds
            result.notes.append(f"delayed {seconds:.3f} s")
        elif fault.kind == "duplicate" and not copy:
            result.copies += [p["delay"]] * p["copies"]
            result.notes.append(f"duplicated x{p['copies']}")
        elif fault.kind == "reorder":
            result.reorder = max(result.reorder, p["window"])
        elif fault.kind not in ("drop", "duplicate", "delay", "reorder"):
            result.request.append(fault)
    return result


@dataclass
class Request:
    """What one attempt sends: possibly changed by request faults."""

    body: bytes  # on the wire
    signed: bytes  # what the signature covers
    timestamp: int
    content_type: str = "application/json"
    secrets: tuple[str, ...] | None = None  # sign with these instead of the target's
    signature: str = ""  # "wrong" or "missing"
    injected: list[str] = field(default_factory=list)


def request_faults(faults: list[Fault], body: bytes, timestamp: int, current: tuple[str, ...]) -> Request:
    """Apply the request faults of a plan to one attempt's body, time and signing."""
    req = Request(body, body, timestamp)
    for fault in faults:
        p = fault.params
        if fault.kind == "malformed_json":
            req.body = req.signed = req.body.rstrip()[:-1] + b',"'  # an object that never closes
            req.injected.append("malformed JSON")
        elif fault.kind == "truncate":
            req.body = req.body[: int(len(req.body) * p["at"])]  # cut in transit: signed over the whole
            req.injected.append(f"truncated to {len(req.body)} bytes")
        elif fault.kind == "oversize":
            pad = max(0, p["size"] - len(req.body) - 16)
            stripped = req.body.rstrip()
            # one allocation of the whole size: the padding is joined from one 1 MB piece, not made first
            if stripped.endswith(b"}"):
                parts = [stripped[:-1], b',"padding":"', *_padding(b"x", pad), b'"}']
            else:
                parts = [req.body, *_padding(b" ", pad)]
            req.body = req.signed = b"".join(parts)
            req.injected.append(f"oversized to {len(req.body)} bytes")
        elif fault.kind == "content_type":
            req.content_type = p["value"]
            req.injected.append(f"Content-Type {p['value']}")
        elif fault.kind == "timestamp":
            req.timestamp = int(timestamp + p["offset"])
            req.injected.append(f"timestamp {'+' if p['offset'] >= 0 else ''}{p['offset']:g} s")
        elif fault.kind == "rotation":
            req.secrets = (*current[:1], p["previous"])
            req.injected.append("signed with the previous secret too (rotation)")
        elif fault.kind == "bad_signature":
            req.signature = p["mode"]
            req.injected.append(f"{p['mode']} signature")
    return req


def _padding(byte: bytes, size: int) -> list[bytes]:
    """``size`` copies of ``byte`` as a few references to one 1 MB piece (and the rest)."""
    piece = byte * min(size, 1 << 20)
    whole, rest = divmod(size, len(piece)) if piece else (0, 0)
    return [piece] * whole + [piece[:rest]]


def signature_headers(headers: dict[str, str], header: str = "") -> list[str]:
    """The names that carry a signature (not ids or timestamps, which a fault must leave alone)."""
    return [n for n in headers if "signature" in n.lower() or (header and n.lower() == header.lower())]


def spoil(headers: dict[str, str], header: str = "") -> dict[str, str]:
    """A signature that cannot verify: the last data character of each signature value changed."""
    out = dict(headers)
    for name in signature_headers(headers, header):
        out[name] = " ".join(_spoil_token(token) for token in headers[name].split(" "))
    return out


def _spoil_token(token: str) -> str:
    """Change one character in the middle of a signature's data (never a padding or framing one,
    whose bits may be ignored): every signature in the header, rotation or not, stops verifying."""
    start = max(token.rfind(","), token.rfind("."), token.find(":")) + 1  # v1,<b64> / JWT / sig=:<b64>:
    data = token[start:].rstrip("=:")
    if not data:
        return token
    i = start + len(data) // 2
    c = token[i]
    return token[:i] + ("A" if c != "A" else "B") + token[i + 1 :]
