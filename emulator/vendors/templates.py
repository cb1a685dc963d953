"""Vendor templates: the vendor's JSON shape, with Jinja2 expressions for values.

A template is a JSON document. A string value that is exactly ``{{ expr }}`` becomes the
expression's native value (a number stays a number, a mapping stays a mapping); a string with
text around expressions becomes text. A value that comes out as nothing (None or undefined) is
omitted, as vendors omit absent fields, and a mapping or list left empty by omission is omitted too.
Output is built as data and serialized by ``json``, so it is always valid JSON and any quote or
Unicode character round-trips.

Expressions read the event's context and nothing else. The subset vendors write (lookups,
literals, conditions, a few filters) is compiled to plain closures (``expressions.py``); the
rest runs in Jinja2's immutable sandbox with bounded arithmetic and a short list of filters.
Statements (``{% %}``) are refused. A part of a template that reads only stable context (the
actor, the client, the realm) is rendered once per distinct input and reused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, Undefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from emulator.play.clock import iso_utc
from emulator.play.ids import stable_uuid
from emulator.vendors.expressions import (
    FAST_FILTERS,
    MAX_TEXT,
    MISSING,
    check_binop,
    clean,
    compile_fast,
    compile_fast_text,
    path_of,
)

OMIT: Any = object()
_JSON_TYPES = (str, int, float, bool, dict, list)
Renderer = Callable[[dict[str, Any]], Any]

_EXPR = re.compile(r"^\{\{\s*(.+?)\s*\}\}$", re.S)


class TemplateProblem(Exception):
    """A template that does not compile or render; the caller adds where."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_jwt(claims: dict[str, Any], kid: str = "emulator") -> str:
    """A JWT-shaped token for payloads that carry one (not meant to verify anywhere)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signature = hmac.new(b"idp-emulator", f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(signature)}"


def opaque_token(seed: Any, length: int = 40) -> str:
    """An opaque token string derived from a seed value (stable for the same input)."""
    data = str(seed).encode()
    digest = hashlib.sha256(data).digest() + hashlib.sha256(data + b"2").digest()
    return base64.b64encode(digest).decode()[:length]


def ms_iso(ms: Any) -> str:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds and a ``Z``."""
    return iso_utc(datetime.fromtimestamp(int(ms) / 1000, UTC))


def uuid5_of(value: Any, *more: Any) -> str:
    """A UUID that depends only on the given values (a registration from user and app ids)."""
    return stable_uuid(*(str(v) for v in (value, *more)))


_CUSTOM_FILTERS = {"jwt": fake_jwt, "opaque": opaque_token, "ms_iso": ms_iso, "uuid5": uuid5_of}


# Jinja2 filters a template may use; the rest (random, center, indent, wordwrap, ...) would break
# determinism or let a template ask for gigabytes.
_JINJA_FILTERS = {
    "abs",
    "capitalize",
    "d",
    "default",
    "first",
    "float",
    "int",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "round",
    "select",
    "string",
    "sum",
    "title",
    "trim",
    "unique",
    "upper",
}
_JINJA_TESTS = {"defined", "undefined", "none", "string", "number"}


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with arithmetic that cannot ask for unbounded memory or time."""

    intercepted_binops = frozenset({"*", "**", "//", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)


def _environment() -> ImmutableSandboxedEnvironment:
    env = _Sandbox(autoescape=False, undefined=ChainableUndefined)
    env.filters = {name: f for name, f in env.filters.items() if name in _JINJA_FILTERS}
    env.filters.update(_CUSTOM_FILTERS)
    env.filters["format"] = FAST_FILTERS["format"]
    env.filters["replace"] = FAST_FILTERS["replace"]
    env.tests = {name: t for name, t in env.tests.items() if name in _JINJA_TESTS}
    env.globals.clear()
    return env


ENV = _environment()


def _finish(value: Any, source: str) -> Any:
    if value is None or value is MISSING or isinstance(value, Undefined):
        return OMIT
    if isinstance(value, float) and not math.isfinite(value):
        raise TemplateProblem(f"{{{{ {source} }}}} gives {value}, which JSON cannot carry")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        raise TemplateProblem(f"{{{{ {source} }}}} gives a number too large for JSON consumers")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise TemplateProblem(f"{{{{ {source} }}}} gives a text longer than {MAX_TEXT:,} characters")
    if isinstance(value, dict | list | tuple):
        value = clean(value)
    elif not isinstance(value, _JSON_TYPES):
        raise TemplateProblem(f"{{{{ {source} }}}} gives {type(value).__name__}, not a JSON value")
    return value


_LEAF_TYPES = frozenset({str, int, float, bool, dict, list})


def _leaf_path(keys: tuple[str, ...], source: str) -> Renderer:
    """A lookup such as ``actor.email``: OMIT when absent, the value when it is JSON."""
    first, rest = keys[0], keys[1:]

    def lookup(ctx: dict[str, Any]) -> Any:
        value = ctx.get(first)
        for key in rest:
            if type(value) is not dict:
                return OMIT
            value = value.get(key)
        if value is None:
            return OMIT
        if type(value) in _LEAF_TYPES:
            return value  # containers in the context hold no nulls (see play.player)
        return _finish(value, source)

    return lookup


def _expression(source: str) -> Renderer:
    keys = path_of(ENV, source)
    if keys is not None:
        return _leaf_path(keys, source)
    fast = compile_fast(ENV, source, _CUSTOM_FILTERS)
    if fast is not None:

        def run_fast(ctx: dict[str, Any]) -> Any:
            try:
                value = fast(ctx)
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise TemplateProblem(f"{{{{ {source} }}}}: {exc}") from None
            if value is None or value is MISSING:
                return OMIT
            kind = type(value)
            if kind is str or kind is bool or kind is list or kind is dict:
                return value  # built without nulls, or taken from the null-free context
            return _finish(value, source)

        return run_fast
    try:
        compiled = ENV.compile_expression(source, undefined_to_none=True)
    except TemplateError as exc:
        raise TemplateProblem(f"bad expression {{{{ {source} }}}}: {exc}") from None

    def run(ctx: dict[str, Any]) -> Any:
        try:
            value = compiled(**ctx)
        except (TemplateError, TypeError, ValueError, ArithmeticError, KeyError, AttributeError) as exc:
            raise TemplateProblem(f"{{{{ {source} }}}}: {exc}") from None
        return _finish(value, source)

    return run


def _text(source: str) -> Renderer:
    fast = compile_fast_text(ENV, source, _CUSTOM_FILTERS)
    if fast is not None:

        def run_fast(ctx: dict[str, Any]) -> Any:
            try:
                return fast(ctx)
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise TemplateProblem(f"{source!r}: {exc}") from None

        return run_fast
    try:
        template = ENV.from_string(source)
    except TemplateError as exc:
        raise TemplateProblem(f"bad template text {source!r}: {exc}") from None

    def run(ctx: dict[str, Any]) -> Any:
        try:
            return template.render(ctx)
        except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateProblem(f"{source!r}: {exc}") from None

    return run


def _string(source: str) -> Renderer:
    if "{%" in source:
        raise TemplateProblem(f"{source[:60]!r}: statements ({{% ... %}}) are not supported; use expressions")
    match = _EXPR.match(source)
    if match and "{{" not in match.group(1) and "}}" not in match.group(1):
        return _expression(match.group(1))
    return _text(source)


# Context values that are the same object for as long as their content is the same (actors are
# copied when they change; clients, realm and tenant are made once per run) or are immutable.
# A part of a template that reads only these renders once per distinct combination: the
# "generate actors once" rule, applied to what templates build from them.
STABLE = frozenset(
    {"actor", "client", "realm", "tenant", "account", "resource", "store", "registration", "ip", "user_agent"}
    | {"action", "error", "error_code", "failed", "vendor", "params"}
)
_MEMO_SIZE = 256
_SCALARS = (str, int, float, bool)


def _names(source: str) -> frozenset[str] | None:
    """Top-level context names a template string reads; None when it does not parse."""
    try:
        tree = ENV.parse(source)
    except TemplateError:
        return None
    return frozenset(n.name for n in tree.find_all(nodes.Name) if n.name not in ("true", "false", "none"))


# One cache per distinct template part, shared by every template that contains it (the
# FusionAuth user object appears in most of its templates through $extends).
_CACHES: dict[str, dict[tuple[Any, ...], tuple[list[Any], Any]]] = {}


def _memoized(render: Renderer, names: tuple[str, ...], signature: str) -> Renderer:
    cache = _CACHES.setdefault(signature, {})
    if len(names) == 1 and names[0] in _OBJECTS:
        return _memoized_on(render, names[0], cache)

    def run(ctx: dict[str, Any]) -> Any:
        values = [ctx.get(n) for n in names]
        # a string stands for itself; 1, 1.0 and True are told apart; anything else by identity
        key = tuple(
            [v if v is None or type(v) is str else (type(v), v) if type(v) in _SCALARS else id(v) for v in values]
        )
        hit = cache.get(key)
        if hit is not None:
            return hit[1]
        if len(cache) >= _MEMO_SIZE:
            cache.clear()
        value = render(ctx)
        cache[key] = (values, value)  # holding the objects keeps their ids from being reused
        return value

    return run


# stable names that always hold a mapping (or nothing): a part reading only one of them is keyed by
# that object alone
_OBJECTS = frozenset({"actor", "client", "realm", "tenant", "account", "registration", "params"})


def _memoized_on(render: Renderer, name: str, cache: dict[Any, tuple[Any, Any]]) -> Renderer:
    def run(ctx: dict[str, Any]) -> Any:
        value = ctx.get(name)
        hit = cache.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        if len(cache) >= _MEMO_SIZE:
            cache.clear()
        result = render(ctx)
        cache[id(value)] = (value, result)  # holding the object keeps its id from being reused
        return result

    return run


def compile_template(node: Any) -> Renderer:
    """Compile a JSON-shaped template into a function of the context.

    Rendered values may be shared between events (see STABLE): treat them as read-only.
    """
    return _compile(node)[0]


def _compile(node: Any) -> tuple[Renderer, frozenset[str] | None, int]:
    """(renderer, context names it reads or None if unknown, number of computed leaves)."""
    if isinstance(node, dict | list):
        children = [_compile(v) for v in (node.values() if isinstance(node, dict) else node)]
        names: frozenset[str] | None = frozenset()
        for _, child_names, _ in children:
            names = None if names is None or child_names is None else names | child_names
        weight = sum(w for _, _, w in children)
        render = _container(node, [fn for fn, _, _ in children])
        if names is not None and names and names <= STABLE and weight >= 2:
            # the part as written: the same members in another order make another part
            render = _memoized(render, tuple(sorted(names)), json.dumps(node))
        return render, names, weight
    if isinstance(node, str):
        if "{{" not in node and "{%" not in node:
            return _Constant(node), frozenset(), 0
        return _string(node), _names(node), 1
    if node is None:
        return _Constant(OMIT), frozenset(), 0
    return _Constant(node), frozenset(), 0


class _Constant:
    """A template part with no expression in it: rendered once, when compiled."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, ctx: dict[str, Any]) -> Any:
        return self.value


def _container(node: dict[str, Any] | list[Any], parts: list[Renderer]) -> Renderer:
    if isinstance(node, dict):
        keys = [str(k) for k in node]
        empty = not keys
        fixed = {k: p.value for k, p in zip(keys, parts, strict=True) if isinstance(p, _Constant)}
        dynamic = [(k, p) for k, p in zip(keys, parts, strict=True) if not isinstance(p, _Constant)]
        if not dynamic:
            value = {k: v for k, v in fixed.items() if v is not OMIT}
            return _Constant(value if value or empty else OMIT)
        # the keys in template order, computed ones holding a place until rendered
        skeleton = {k: fixed.get(k) for k in keys if fixed.get(k) is not OMIT}

        def render_dict(ctx: dict[str, Any]) -> Any:
            out = skeleton.copy()
            for key, fn in dynamic:
                value = fn(ctx)
                if value is OMIT:
                    del out[key]
                else:
                    out[key] = value
            return out if out or empty else OMIT

        return render_dict
    empty_list = not parts
    if all(isinstance(p, _Constant) for p in parts):
        items = [p.value for p in parts if p.value is not OMIT]  # type: ignore[attr-defined]
        return _Constant(items if items or empty_list else OMIT)

    def render_list(ctx: dict[str, Any]) -> Any:
        out = [v for v in (fn(ctx) for fn in parts) if v is not OMIT]
        return out if out or empty_list else OMIT

    return render_list


def compile_condition(source: str) -> Callable[[dict[str, Any]], bool]:
    """A ``when:`` condition from a catalog: a sandboxed expression, true or false."""
    fast = compile_fast(ENV, source, _CUSTOM_FILTERS)
    if fast is not None:

        def test_fast(ctx: dict[str, Any]) -> bool:
            try:
                return bool(fast(ctx))
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise TemplateProblem(f"condition {source!r}: {exc}") from None

        return test_fast
    try:
        compiled = ENV.compile_expression(source, undefined_to_none=True)
    except TemplateError as exc:
        raise TemplateProblem(f"bad condition {source!r}: {exc}") from None

    def test(ctx: dict[str, Any]) -> bool:
        try:
            return bool(compiled(**ctx))
        except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateProblem(f"condition {source!r}: {exc}") from None

    return test


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; a null in ``over`` removes the key. Base key order is kept."""
    result = dict(base)
    for key, value in over.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


__all__ = ["OMIT", "compile_condition", "compile_template", "deep_merge"]
