"""A JSON Schema (2020-12) for every event type of a vendor, derived from its templates and catalog.

Consumers generate types from these and validate what they receive, so a schema must accept every
payload the emulator can send for the type and reject one that lost a field it always has or
carries a field of another type. Nothing is rendered: the schema is read off the template itself.
A literal in a template is a constant; an expression is typed by what it is (``~`` and text make
strings, ``| int`` an integer, ``| ms_iso`` a date-time, a ``{...}`` an object with its members,
``a if c else b`` either of two, ``{...}.get(k, d)`` one of the mapping's values) and by what it
reads: the occurrence's context (``play/occurrence.CONTEXT``), the catalog's error codes, the
catalog rows' ``with`` values and the template's ``$let``. A field is required only when it is
there in every render: a literal, or an expression that cannot come out as nothing (vendors omit
absent fields, so an expression that may be null makes an optional field, and a ``$if`` mapping
an optional one). What cannot be typed is left open (``{}``): a schema may be loose, never wrong.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from jinja2 import nodes

from emulator.errors import UnknownNameError
from emulator.play.occurrence import CONTEXT
from emulator.scenario.vocabulary import vocabulary
from emulator.vendors.expressions import parse_expression
from emulator.vendors.parts import KEEP, NULL
from emulator.vendors.registry import Vendor
from emulator.vendors.templates import _EXPR, ENV, IF, LET

DIALECT = "https://json-schema.org/draft/2020-12/schema"
Shape = tuple[dict[str, Any], bool]  # a value's schema, and whether it is there in every render
_OPEN: Shape = ({}, False)  # anything, or nothing: what cannot be typed
_NEVER: dict[str, Any] = {"not": {}}  # no value at all (a null, an ``x if c`` whose test fails)
_NOTHING: Shape = (_NEVER, False)
_TEXT: dict[str, Any] = {"type": "string"}
_NULL: dict[str, Any] = {"type": "null"}  # a "$null" the vendor sends
_STRING_FILTERS = {
    "string",
    "lower",
    "upper",
    "title",
    "capitalize",
    "trim",
    "format",
    "replace",
    "join",
    "jwt",
    "opaque",
    "base64url",
    "java_local_datetime",
    "ksuid",
    "b64url",
}
_ARRAY_FILTERS = {"list", "select", "reject", "unique"}
_NUMBER_OPS = (nodes.Add, nodes.Sub, nodes.Mul, nodes.FloorDiv, nodes.Mod, nodes.Pow)
# context names that hold another's shape: the actor as the step found it, the client a session came from
_ALIASES = {"before": ("actor", True), "source_client": ("client", False)}
_CACHE: WeakKeyDictionary[Vendor, dict[str, dict[str, Any]]] = WeakKeyDictionary()


def event_schemas(vendor: Vendor) -> dict[str, dict[str, Any]]:
    """Each event type of the vendor (error variants and raw types included) with its schema."""
    found = _CACHE.get(vendor)
    if found is None:
        catalog = vendor.catalog
        found = {t: _schema(vendor, t) for t in [*vendor.event_types(), *catalog.raw_types]}
        _CACHE[vendor] = found
    return found


def event_schema(vendor: Vendor, event_type: str) -> dict[str, Any]:
    """One event type's schema; an unknown type is an error that lists the known ones."""
    schemas = event_schemas(vendor)
    if event_type not in schemas:
        raise UnknownNameError(f"{vendor.key} event type", event_type, list(schemas))
    return schemas[event_type]


def _schema(vendor: Vendor, event_type: str) -> dict[str, Any]:
    catalog = vendor.catalog
    base = catalog.base_of(event_type)
    if base is None:  # a raw type: rendered by the vendor's generic template
        templates, rows, doc, source, confidence = ["_raw"], [], "", catalog.raw_source, catalog.raw_confidence
    else:
        event = catalog.events[base]
        rows = [row for recipe in catalog.actions.values() for row in recipe if row.event == base]
        templates = list(dict.fromkeys([event.template, *(row.template for row in rows if row.template)]))
        doc, source, confidence = event.doc, event.source, event.confidence
    withs = [row.with_ for row in rows if isinstance(row.with_, dict)]
    body: dict[str, Any] | None = None
    for template in templates:
        tree = vendor.resolve(template, vendor.name, ())
        lets = tree.pop(LET, None)
        shape, _ = _Reader(vendor, event_type, base or event_type, withs, lets).value(tree)
        body = shape if body is None else union(body, shape)
    out: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"urn:idp-emulator:{vendor.key}:{event_type}",
        "title": event_type,
    }
    if doc:
        out["description"] = doc
    out.update(body or {"type": "object"})
    out["x-source"] = list(source)
    if confidence:
        out["x-confidence"] = confidence
    return out


class _Reader:
    """Reads one event type's template (and the values it reads) into shapes."""

    def __init__(self, vendor: Vendor, event_type: str, base: str, withs: list[dict[str, Any]], lets: Any) -> None:
        self.vendor = vendor
        self.event_type = event_type
        self.base = base
        self.withs = withs
        self.lets = lets if isinstance(lets, dict) else {}
        self.seen: set[tuple[str, str]] = set()  # names being read, so a name that reads itself stays open

    # -- template values --------------------------------------------------------------------------
    def value(self, node: Any) -> Shape:
        if isinstance(node, dict):
            members = {str(k): v for k, v in node.items() if k != IF and v is not None}
            properties: dict[str, Any] = {}
            required = []
            for key, member in members.items():
                shape, present = self.value(member)
                if shape == _NEVER:
                    continue
                properties[key] = shape
                if present:
                    required.append(key)
            schema: dict[str, Any] = {"type": "object", "properties": properties}
            if required:
                schema["required"] = required
            # a mapping whose members all came out as nothing is left out, and so is a $if one whose test fails
            return schema, IF not in node and (not members or bool(required))
        if isinstance(node, list) and node[:1] == [KEEP]:  # sent even when empty
            return self.value(node[1:])[0], True
        if isinstance(node, list):
            items = [self.value(item) for item in node if item is not None]
            array: dict[str, Any] = {"type": "array"}
            if items:
                array["items"] = _union_all([s for s, _ in items])
            return array, not items or any(p for _, p in items)
        if isinstance(node, str):
            match = _EXPR.match(node)
            if match:
                parsed = _parsed(match.group(1))
                return self.expr(parsed) if parsed is not None else _OPEN
            if "{{" in node or "{%" in node:
                return dict(_TEXT), True
            if node == NULL:
                return dict(_NULL), True
            return {"const": node}, True
        if isinstance(node, bool | int | float):
            return {"const": node}, True
        return _OPEN

    # -- expressions ------------------------------------------------------------------------------
    def expr(self, node: nodes.Node) -> Shape:
        if isinstance(node, nodes.Const):
            value = node.value
            if value is None:
                return _NOTHING
            if value == NULL:
                return dict(_NULL), True
            if isinstance(value, str | bool | int | float):
                return {"const": value}, True
            return _OPEN
        path = _path(node)
        if path is not None:
            return self.path(path)
        if isinstance(node, nodes.CondExpr):
            then = self.expr(node.expr1)
            otherwise = self.expr(node.expr2) if node.expr2 is not None else _NOTHING
            return union(then[0], otherwise[0]), then[1] and otherwise[1]
        if isinstance(node, nodes.Or):  # the left when truthy (so there), else the right
            left, right = self.expr(node.left), self.expr(node.right)
            return union(left[0], right[0]), right[1]
        if isinstance(node, nodes.And):
            left, right = self.expr(node.left), self.expr(node.right)
            return union(left[0], right[0]), left[1] and right[1]
        if isinstance(node, nodes.Not | nodes.Compare | nodes.Test):
            return {"type": "boolean"}, True
        if isinstance(node, nodes.Concat):
            return dict(_TEXT), True
        if isinstance(node, nodes.Filter):
            return self.filter(node)
        if isinstance(node, nodes.Dict):
            return self.mapping(node), True
        if isinstance(node, nodes.List | nodes.Tuple):
            items = [self.expr(item)[0] for item in node.items]
            return ({"type": "array", "items": _union_all(items)} if items else {"type": "array"}), True
        if isinstance(node, nodes.Call):
            return self.call(node)
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Slice):
            inner = self.expr(node.node)[0]
            return (inner if inner.get("type") in ("string", "array") else {}), False
        if isinstance(node, _NUMBER_OPS):
            kinds = {_kind(self.expr(node.left)[0]), _kind(self.expr(node.right)[0])}
            if kinds == {"integer"} and not isinstance(node, nodes.Pow):
                return {"type": "integer"}, True
            if kinds <= {"integer", "number"}:
                return {"type": "number"}, True
            return _OPEN
        if isinstance(node, nodes.Neg | nodes.Pos):
            inner = self.expr(node.node)[0]
            return ({"type": _kind(inner)} if _kind(inner) in ("integer", "number") else {}), False
        return _OPEN

    def mapping(self, node: nodes.Dict) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required = []
        for pair in node.items:
            if not isinstance(pair.key, nodes.Const):
                return {"type": "object"}
            key = str(pair.key.value)
            shape, present = self.expr(pair.value)
            if shape == _NEVER:
                continue
            properties[key] = shape
            if present:
                required.append(key)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return schema

    def filter(self, node: nodes.Filter) -> Shape:
        name = node.name
        if name in _STRING_FILTERS:
            return dict(_TEXT), True
        if name == "uuid5":
            return {"type": "string", "format": "uuid"}, True
        if name == "ms_iso":
            return {"type": "string", "format": "date-time"}, True
        if name in ("int", "length", "count"):
            return {"type": "integer"}, True
        if name in ("float", "round", "abs", "sum"):
            return {"type": "number"}, True
        inner = self.expr(node.node) if node.node is not None else _OPEN
        if name in _ARRAY_FILTERS:
            array = inner[0] if inner[0].get("type") == "array" else {"type": "array"}
            return array, True
        if name == "map":
            return {"type": "array"}, True
        if name in ("first", "last", "max", "min"):
            return inner[0].get("items", {}), False
        if name in ("default", "d") and node.args:
            other = self.expr(node.args[0])
            return union(inner[0], other[0]), inner[1]
        return _OPEN

    def call(self, node: nodes.Call) -> Shape:
        """``{...}.get(key, default)``: one of the mapping's values, or the default."""
        target = node.node
        if not (isinstance(target, nodes.Getattr) and target.attr == "get" and isinstance(target.node, nodes.Dict)):
            return _OPEN
        shapes = [self.expr(pair.value) for pair in target.node.items]
        if len(node.args) > 1:
            shapes.append(self.expr(node.args[1]))
            present = all(p for _, p in shapes)
        else:
            present = False
        return _union_all([s for s, _ in shapes]), present

    # -- what expressions read --------------------------------------------------------------------
    def path(self, path: tuple[str, ...]) -> Shape:
        head, rest = path[0], path[1:]
        if head == "event" and rest == ("type",):
            return {"const": self.event_type}, True
        if head == "event" and rest == ("base_type",):
            return {"const": self.base}, True
        if head in ("let", "vars") and len(rest) == 1:
            return self.named(head, rest[0])
        if head in ("let", "vars") and rest:
            return self.member(self.named(head, rest[0]), rest[1:])
        if head == "error_code" and not rest:
            catalog = self.vendor.catalog
            codes = list(dict.fromkeys(catalog.error_code(n) for n in vocabulary().errors))
            return {"enum": codes}, False
        if head == "error" and not rest:
            return {"enum": list(vocabulary().errors)}, False
        if head == "features" and len(rest) == 1:
            return {"type": "boolean"}, False
        always = True
        if head in _ALIASES:
            head, always = _ALIASES[head]
        key = ".".join((head, *rest))
        if key in CONTEXT:
            schema, present = CONTEXT[key]
            return dict(schema), present and always
        prefix = key + "."
        below = [present for name, (_, present) in CONTEXT.items() if name.startswith(prefix)]
        if below:
            return {"type": "object"}, any(below) and always
        return _OPEN

    def named(self, kind: str, name: str) -> Shape:
        """``let.NAME`` (the template's own value) or ``vars.NAME`` (a catalog row's ``with``: an event
        emitted without a row, by ``emit``, reads none, so it is never sure to be there)."""
        if (kind, name) in self.seen:
            return _OPEN
        self.seen.add((kind, name))
        try:
            if kind == "let":
                return self.value(self.lets[name]) if name in self.lets else _NOTHING
            shapes = [self.value(given[name])[0] for given in self.withs if name in given]
            return (_union_all(shapes) if shapes else _NEVER), False
        finally:
            self.seen.discard((kind, name))

    @staticmethod
    def member(shape: Shape, keys: tuple[str, ...]) -> Shape:
        schema, present = shape
        for key in keys:
            properties = schema.get("properties")
            if not isinstance(properties, dict) or key not in properties:
                return _OPEN
            present = present and key in schema.get("required", [])
            schema = properties[key]
        return schema, present


@lru_cache(maxsize=4096)
def _parsed(source: str) -> nodes.Expr | None:
    """An expression's parse tree, read only (event types that share a template share its trees)."""
    return parse_expression(ENV, source)


def _path(node: nodes.Node) -> tuple[str, ...] | None:
    """``actor.email`` or ``actor['email']`` as ``("actor", "email")``; None for anything else."""
    keys: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            keys.append(node.arg.value)
            node = node.node
        else:
            break
    if not isinstance(node, nodes.Name):
        return None
    return (node.name, *reversed(keys))


def _values(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _kind(schema: dict[str, Any]) -> str | None:
    """The JSON type of every value the schema allows, when there is one."""
    if isinstance(schema.get("type"), str):
        return str(schema["type"])
    values = _values(schema)
    if values is None:
        return None
    kinds = {_json_type(v) for v in values}
    return kinds.pop() if len(kinds) == 1 else None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "array"


def _union_all(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    out = schemas[0]
    for schema in schemas[1:]:
        out = union(out, schema)
    return out


def union(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """A schema that allows what either allows (an open schema stays open)."""
    if a == _NEVER:
        return b
    if b == _NEVER:
        return a
    if not a or not b:
        return {}
    if a == b:
        return a
    left, right = _values(a), _values(b)
    if left is not None and right is not None:
        keyed = {(_json_type(v), repr(v)): v for v in [*left, *right]}  # True and 1 are two values
        values = list(keyed.values())
        return {"const": values[0]} if len(values) == 1 else {"enum": values}
    kind_a, kind_b = _kind(a), _kind(b)
    if "anyOf" not in a and "anyOf" not in b and kind_a is not None and kind_a == kind_b:
        if kind_a == "object":
            return _objects(a, b)
        if kind_a == "array":
            items = union(a.get("items", {}), b.get("items", {}))
            return {"type": "array", "items": items} if items else {"type": "array"}
        same_format = a.get("format") if a.get("format") == b.get("format") else None
        return {"type": kind_a, "format": same_format} if same_format else {"type": kind_a}
    members: list[dict[str, Any]] = []
    for schema in (a, b):
        for member in schema.get("anyOf", [schema]):
            if member not in members:
                members.append(member)
    return {"anyOf": members}


def _objects(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    if "properties" not in a or "properties" not in b:  # either may hold any member
        return {"type": "object"}
    pa, pb = a.get("properties", {}), b.get("properties", {})
    properties = {
        k: union(pa[k], pb[k]) if k in pa and k in pb else (pa.get(k) or pb.get(k) or {}) for k in {**pa, **pb}
    }
    required = [k for k in a.get("required", []) if k in b.get("required", [])]
    out: dict[str, Any] = {"type": "object"}
    if properties:
        out["properties"] = properties
    if required:
        out["required"] = required
    return out
