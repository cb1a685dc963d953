"""Vendor templates: the vendor's JSON shape, with Jinja2 expressions for values.

A template is a JSON document. A string value that is exactly ``{{ expr }}`` becomes the
expression's native value (a number stays a number, a mapping stays a mapping); a string with
text around expressions becomes text. A value that comes out as nothing (None or undefined) is
omitted, as vendors omit absent fields, and a mapping or list left empty by omission is omitted too.
A vendor that does send ``null`` (Clerk, Okta, WorkOS) writes ``"$null"``, as a value or as an
expression's result (``"{{ actor.first_name or '$null' }}"``: null when there is none), and a list
that is sent empty rather than left out starts with ``"$keep"``.
Output is built as data and serialized by ``json``, so it is always valid JSON and any quote or
Unicode character round-trips.

Expressions read the event's context and nothing else. They mean what they mean in Jinja2's
immutable sandbox, with bounded arithmetic and a short list of filters; most are compiled to
plain closures that give the sandbox's answers faster (``expressions.py``), and the rest, or a
value the closures may not look into, runs in the sandbox itself. Statements (``{% %}``) are
refused. A part of a template that reads only stable context (the actor, the client, the realm)
is rendered once per distinct input and reused.

A mapping with ``"$if": "{{ expr }}"`` is there only when the expression holds (a user object only
when there is a user). A template may name values once for the templates it extends to read:
``"$let": {"user": "{{ ... }}"}`` is rendered first and read as ``let.user``. An event type decides
who and which session it carries in one place, and every envelope that wraps it (Keycloak's webhook
body, Flip's event representation) reads the decision instead of repeating it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, cast

from jinja2 import ChainableUndefined, TemplateError, Undefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from emulator.errors import EmulatorError
from emulator.play.clock import iso_of_ms
from emulator.play.ids import ksuid_of, stable_uuid
from emulator.vendors.codegen import generate, generate_condition
from emulator.vendors.expressions import (
    INT_BOUND,
    MAX_TEXT,
    PLAIN_TYPES,
    HandOverError,
    carried,
    check_binop,
    compile_expression,
    compile_payload,
    compile_text,
    parse_expression,
    path_of,
)
from emulator.vendors.memo import memoized
from emulator.vendors.parts import (
    KEEP,
    NULL,
    OMIT,
    Conditional,
    Const,
    Kept,
    Leaf,
    Let,
    Mapping,
    Memo,
    Part,
    Renderer,
    Sequence,
    Split,
)

_JSON_TYPES = (str, int, float, bool, dict, list)

_EXPR = re.compile(r"^\{\{\s*(.+?)\s*\}\}$", re.S)


class ExpressionError(EmulatorError):
    """A template that does not compile or render; the caller adds where (see registry and dialect)."""


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
    return iso_of_ms(int(ms))


def uuid5_of(value: Any, *more: Any) -> str:
    """A UUID that depends only on the given values (a registration from user and app ids)."""
    return stable_uuid(*(str(v) for v in (value, *more)))


_WIDE = re.compile(r"%[-+ #0]*([1-9]\d{2,}|\*)|\.(\d{3,}|\*)")


def format_text(pattern: Any, *args: Any) -> str:
    """``'%s-%04d' | format(a, b)``: printf-style, with widths kept small (Jinja2's own takes any)."""
    if not isinstance(pattern, str) or any(isinstance(a, dict | list | tuple) for a in args):
        raise TypeError("format takes a pattern and plain values")
    if _WIDE.search(pattern):
        raise ValueError("format widths and precisions above 99 are not allowed")
    return pattern % args


def replace_text(value: Any, old: Any, new: Any) -> str:
    """``replace``, refusing a result longer than a value may be (Jinja2's own has no bound)."""
    text, old, new = str(value), str(old), str(new)
    if old and len(new) > len(old) and len(text) + text.count(old) * (len(new) - len(old)) > MAX_TEXT:
        raise ValueError("replace would make a text too long")
    return text.replace(old, new)


def java_local_datetime(ms: Any) -> str:
    """Epoch milliseconds, floored to the second, as Java's ``LocalDateTime.toString()`` writes a UTC
    time: ``2026-01-01T00:10:59``, and ``2026-01-01T00:10`` when the seconds are zero (Java drops them)."""
    moment = datetime.fromtimestamp(int(ms) // 1000, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M")
    return text + f":{moment.second:02d}" if moment.second else text


# base32 as RFC 4648 writes it, read in Crockford's alphabet (ULIDs'): the standard library encodes
_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def ulid_of(value: Any, ms: Any = None) -> str:
    """A ULID (26 Crockford base32 characters), as WorkOS writes its ids after a prefix (``user_01H...``).

    A UUID gives its own 128 bits (a uuid7's first 48 are its time in milliseconds, as a ULID's);
    with ``ms`` those are the time and the rest comes from a hash of the value; any other text
    gives a hash of itself. The same input always gives the same ULID.
    """
    if ms is not None and not isinstance(ms, Undefined):  # a time the context lacks: as if none were given
        return _ulid(str(value), int(ms) & (2**48 - 1))
    return _ulid(str(value), None)


@functools.lru_cache(maxsize=4096)
def _ulid(text: str, ms: int | None) -> str:
    digest = int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big")
    if ms is not None:
        number = (ms << 80) | (digest & (2**80 - 1))
    else:
        try:
            number = uuid.UUID(text).int
        except ValueError:
            number = digest
    # 160 bits whose top 130 are two zero bits and the number: 26 base32 characters, as a ULID has
    return base64.b32encode((number << 30).to_bytes(20, "big")).decode()[:26].translate(_CROCKFORD)


def base64url(value: Any) -> str:
    """Standard base64 text as base64url without padding (credential ids, key ids)."""
    return str(value).replace("+", "-").replace("/", "_").rstrip("=")


def b64url_text(value: Any) -> str:
    """A text as base64url without padding (Clerk's image URLs carry a small JSON document so)."""
    return _b64url(str(value).encode())


def ksuid_text(seed: Any, ms: Any) -> str:
    """``actor.id | ksuid(actor.created_ms)``: a KSUID of that time that depends only on the seed
    (Clerk's ``user_...``, ``sess_...``: one user keeps one id)."""
    return ksuid_of(seed if type(seed) is str else str(seed), ms if type(ms) is int else int(ms))


_CUSTOM_FILTERS = {
    "jwt": fake_jwt,
    "opaque": opaque_token,
    "ms_iso": ms_iso,
    "uuid5": uuid5_of,
    "format": format_text,
    "replace": replace_text,
    "java_local_datetime": java_local_datetime,
    "base64url": base64url,
    "ulid": ulid_of,
    "ksuid": ksuid_text,
    "b64url": b64url_text,
}


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
    env.tests = {name: t for name, t in env.tests.items() if name in _JINJA_TESTS}
    env.globals.clear()
    return env


ENV = _environment()
# what an expression gives for nothing: the environment's undefined, or the plain one of ``x if c``
_UNDEFINED_TYPES = frozenset({ENV.undefined, Undefined})


# What a template's expression may raise while it runs, on either path: each is the template's
# fault and becomes a message. NameError is Jinja2's for a folded constant it cannot write back as
# code (``{{ 1e400 }}``), OSError a timestamp beyond the platform's (``ms_iso``).
_PROBLEMS = (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError, NameError, OSError)


def _finish(value: Any, source: str) -> Any:
    """A value as it goes into a payload: OMIT for nothing, containers without null members."""
    kind = type(value)
    if (kind is str and len(value) <= MAX_TEXT) or kind is bool:
        return None if value == NULL else value
    if kind is int and -INT_BOUND < value < INT_BOUND:
        return value
    if kind is dict or kind is list:
        return _carried(value, source)
    if value is None or isinstance(value, Undefined):
        return OMIT
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"{{{{ {source} }}}} gives {value}, which JSON cannot carry")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        raise ExpressionError(f"{{{{ {source} }}}} gives a number too large for JSON consumers")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise ExpressionError(f"{{{{ {source} }}}} gives a text longer than {MAX_TEXT:,} characters")
    if isinstance(value, dict | list | tuple):
        value = _carried(value, source)
    elif not isinstance(value, _JSON_TYPES):
        raise ExpressionError(f"{{{{ {source} }}}} gives {type(value).__name__}, not a JSON value")
    return value


def _carried(value: Any, source: str) -> Any:
    """A container as a payload carries it (``expressions.carried``), or the template's fault."""
    try:
        return carried(value)
    except ValueError as exc:
        raise ExpressionError(f"{{{{ {source} }}}} gives {exc}") from None


def _later(compile_: Callable[[], Renderer]) -> Renderer:
    """The sandbox's renderer, compiled the first time the fast path hands an expression over."""
    compiled: list[Renderer] = []

    def run(ctx: dict[str, Any]) -> Any:
        if not compiled:
            compiled.append(compile_())
        return compiled[0](ctx)

    return run


def _leaf_path(keys: tuple[str, ...], source: str) -> Renderer:
    """A lookup such as ``actor.email``: OMIT when absent, the value as ``_finish`` makes it."""
    first, rest = keys[0], keys[1:]
    from_let = first == "let"
    sandbox = _later(lambda: _sandbox_expression(source))

    def lookup(ctx: dict[str, Any]) -> Any:
        value = ctx.get(first)
        for key in rest:
            if type(value) is not dict:
                if type(value) in PLAIN_TYPES:
                    return OMIT  # a missing member (the sandbox's answer too)
                return sandbox(ctx)  # an object only the sandbox may look into (a datetime's year)
            value = value.get(key)
        kind = type(value)
        if kind is str:
            if len(cast(str, value)) <= MAX_TEXT:
                return value
        elif value is None:
            return OMIT
        elif kind is int and -INT_BOUND < value < INT_BOUND:
            return value
        elif kind is dict and from_let:
            return value  # rendered by the template's own $let: finished already, its "$null"s meant
        return _finish(value, source)

    return lookup


def _sandbox_expression(source: str) -> Renderer:
    """``{{ source }}`` evaluated by Jinja2's sandbox: the reference for what an expression means."""
    try:
        compiled = ENV.compile_expression(source, undefined_to_none=True)
    except _PROBLEMS as exc:  # a TypeError from folding ``{{'a': 1}: 2} ~ ''`` too
        raise ExpressionError(f"bad expression {{{{ {source} }}}}: {exc}") from None

    def run(ctx: dict[str, Any]) -> Any:
        try:
            value = compiled(**ctx)
        except _PROBLEMS as exc:
            raise ExpressionError(f"{{{{ {source} }}}}: {exc}") from None
        return _finish(value, source)

    return run


def _expression(source: str) -> Renderer:
    return _expression_leaf(source).render


def _expression_leaf(source: str, text: str | None = None) -> Part:
    """``{{ source }}`` (written as ``text``) as a part: a lookup, closures (with the tree they were
    compiled from, for the code generator), or the sandbox."""
    text = text or "{{ " + source + " }}"
    node = parse_expression(ENV, source)
    if node is None:
        return _leaf_part(_sandbox_expression(source), text, Leaf(source, None, None))
    keys = path_of(node)
    if keys is not None:
        return Part(_leaf_path(keys, source), frozenset({keys[0]}) - _CONSTANTS, 1, Leaf(source, keys, None))
    compiled = compile_payload(ENV, node)
    if compiled is None:
        return Part(_sandbox_expression(source), _node_names(node), 1, Leaf(source, None, None))
    fast, built, tree = compiled  # built: its containers come out clean already
    sandbox = _later(lambda: _sandbox_expression(source))

    def run_fast(ctx: dict[str, Any]) -> Any:
        try:
            value = fast(ctx)
        except HandOverError:
            return sandbox(ctx)
        except _PROBLEMS as exc:
            raise ExpressionError(f"{{{{ {source} }}}}: {exc}") from None
        kind = type(value)
        if kind is str:
            if len(value) <= MAX_TEXT:
                return None if value == NULL else value
        elif kind is bool:
            return value
        elif value is None or kind in _UNDEFINED_TYPES:
            return OMIT
        elif built and (kind is dict or kind is list):
            return value
        return _finish(value, source)

    shape = Leaf(source, None, tree, built, functools.partial(_finish, source=source))
    return Part(run_fast, _node_names(node), 1, shape)


def _leaf_part(render: Renderer, text: str, shape: Leaf) -> Part:
    return Part(render, _names(text), 1, shape)


def _sandbox_text(source: str) -> Renderer:
    """Text with expressions in it, rendered by Jinja2's sandbox."""
    try:
        template = ENV.from_string(source)
    except _PROBLEMS as exc:
        raise ExpressionError(f"bad template text {source!r}: {exc}") from None

    def run(ctx: dict[str, Any]) -> Any:
        try:
            return template.render(ctx)
        except _PROBLEMS as exc:
            raise ExpressionError(f"{source!r}: {exc}") from None

    return run


def _text(source: str) -> Renderer:
    fast = compile_text(ENV, source)
    if fast is None:
        return _sandbox_text(source)
    sandbox = _later(lambda: _sandbox_text(source))

    def run_fast(ctx: dict[str, Any]) -> Any:
        try:
            return fast(ctx)
        except HandOverError:
            return sandbox(ctx)
        except _PROBLEMS as exc:
            raise ExpressionError(f"{source!r}: {exc}") from None

    return run_fast


def _string(source: str) -> Part:
    if "{%" in source:
        raise ExpressionError(f"{source[:60]!r}: statements ({{% ... %}}) are not supported; use expressions")
    match = _EXPR.match(source)
    if match and "{{" not in match.group(1) and "}}" not in match.group(1):
        return _expression_leaf(match.group(1), source)
    return Part(_text(source), _names(source), 1, Leaf(source, None, None))


# Context values that are the same object for as long as their content is the same (actors are
# copied when they change; clients, realm and tenant are made once per run) or are immutable.
# A part of a template that reads only these renders once per distinct combination: the
# "generate actors once" rule, applied to what templates build from them.
STABLE = frozenset(
    {"actor", "before", "client", "realm", "tenant", "account", "resource", "store", "registration", "ip"}
    | {"user_agent", "device", "last_login_ms", "time_ms", "session"}
    | {"action", "error", "error_code", "failed", "vendor", "params", "version", "features"}
)
# stable names whose value changes far more often than the rest (at every login): a part that reads
# them beside much else renders that much else once, as a part of its own, so a new login renders only
# the members that show it
CHANGING = frozenset({"last_login_ms", "time_ms"})  # time_ms: when the action happened (Clerk's updated_at)


_CONSTANTS = frozenset({"true", "false", "none"})


def _names(source: str) -> frozenset[str] | None:
    """Top-level context names a template string reads; None when it does not parse."""
    try:
        tree = ENV.parse(source)
    except TemplateError:
        return None
    return _node_names(tree)


def _node_names(tree: nodes.Node) -> frozenset[str]:
    """The context names a parsed template or expression reads (the tree itself included)."""
    found = [tree] if isinstance(tree, nodes.Name) else []
    return frozenset(n.name for n in (*found, *tree.find_all(nodes.Name)) if n.name not in _CONSTANTS)


LET = "$let"


def compile_template(node: Any) -> Renderer:
    """Compile a JSON-shaped template into a function of the context.

    A top-level ``$let`` mapping is rendered first and read by the rest as ``let``. Rendered values
    may be shared between events (see STABLE): treat them as read-only. The function is generated
    Python (``codegen.py``) with the answers of the plain renderer (``compile_part(node).render``).
    The same template as written compiles once per process: every registry, run and test that
    renders it shares the function (a compiled template holds no state of a run; its memo caches
    are already shared by the part's text).
    """
    try:
        # exact types in the key: json.dumps would turn a YAML number key into text, and True into 1
        key = repr(node)
    except RecursionError:
        return _compile_template(node)
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= 4096:
            _COMPILED.clear()
        found = _COMPILED[key] = _compile_template(node)
    return found


_COMPILED: dict[str, Renderer] = {}


def _compile_template(node: Any) -> Renderer:
    part = compile_part(node)
    return generate(part) or part.render


def compile_part(node: Any) -> Part:
    """The template as a tree of parts; its ``render`` is the plain renderer, made of closures."""
    if not (isinstance(node, dict) and LET in node):
        return _compile(node, STABLE)
    if not isinstance(node[LET], dict):
        raise ExpressionError(f"{LET} is a mapping of names to values")
    names_part = _compile(node[LET], STABLE)
    # names that are constants, or rendered once per distinct stable input, are one object for as
    # long as they are the same: what reads them may be memoized too (Okta's targets read a $let flag)
    stable = STABLE | {"let"} if isinstance(names_part.shape, Const | Memo) else STABLE
    body_part = _compile({k: v for k, v in node.items() if k != LET}, stable)
    names, body = names_part.render, body_part.render

    def render(ctx: dict[str, Any]) -> Any:
        values = names(ctx)
        ctx["let"] = {} if values is OMIT else values
        return body(ctx)

    return Part(render, None, names_part.weight + body_part.weight, Let(names_part, body_part))


IF = "$if"
# what templates once wrote for "null when nothing": refused with the way to write it now
_NULLS = "$nulls"


def _union(parts: Iterable[Part]) -> frozenset[str] | None:
    """The names a group of parts reads, or None when one of them is unknown."""
    names: frozenset[str] | None = frozenset()
    for part in parts:
        names = None if names is None or part.names is None else names | part.names
    return names


def _memo(inner: Part, names: frozenset[str], signature: str, weight: int) -> Part:
    key = tuple(sorted(names))
    return Part(memoized(inner.render, key, signature), names, weight, Memo(inner, key, signature))


def _compile(node: Any, stable: frozenset[str]) -> Part:
    """A template node as a part: its renderer, the context names it reads, its computed leaves.
    A part that reads only ``stable`` names is rendered once per distinct input (``memo.py``)."""
    if isinstance(node, dict) and _NULLS in node:
        raise ExpressionError(
            f'{_NULLS} is not supported: write a null as "$null", or as an expression\'s result '
            "(\"{{ actor.first_name or '$null' }}\")"
        )
    if isinstance(node, dict) and IF in node:
        return _conditional(node, stable)
    if isinstance(node, list) and node[:1] == [KEEP]:
        return _kept(node[1:], stable)
    if isinstance(node, dict | list):
        children = [_compile(v, stable) for v in (node.values() if isinstance(node, dict) else node)]
        names = _union(children)
        weight = sum(c.weight for c in children)
        inner = _container(node, children)
        if names is not None and names and names <= stable and weight >= 2:
            if isinstance(node, dict) and names & CHANGING:
                inner = _split_changing(node, children) or inner
            elif any(isinstance(c.shape, Memo) for c in children):
                # a member memoized on what this part is memoized on is found again only when this
                # part is: rendered within it, it is not looked up twice (a user's object on a new actor)
                inner = _container(node, [_unmemoized(c, names) for c in children])
            # the part as written: the same members in another order make another part
            return _memo(inner, names, json.dumps(node), weight)
        return inner
    if isinstance(node, str):
        if "{{" not in node and "{%" not in node:
            return _constant(None if node == NULL else node)
        part = _string(node)
        # (not one that reads the time of the action: that is new at every event)
        if part.names and part.names <= stable and not part.names & CHANGING and _costly(part.shape):
            return _memo(part, part.names, json.dumps(node), part.weight)
        return part
    if isinstance(node, float) and not math.isfinite(node):
        raise ExpressionError(f"{node} is a number JSON cannot carry")
    return _constant(OMIT if node is None else node)


# What generated code writes inline (``codegen.py``): a leaf made of only these is cheaper than a
# memo's lookup; one that calls a filter, joins texts or computes (an id from a hash) is not.
_INLINE_NODES = (nodes.Name, nodes.Getattr, nodes.Const, nodes.CondExpr, nodes.And, nodes.Or, nodes.Not, nodes.Compare)


def _costly(shape: Any) -> bool:
    """A leaf whose value takes more than lookups to compute."""
    if not isinstance(shape, Leaf) or shape.path is not None:
        return False
    tree = shape.tree
    if tree is None:
        return True
    found = [tree, *tree.find_all(nodes.Expr)]
    return not all(isinstance(n, _INLINE_NODES) for n in found)


def _unmemoized(part: Part, names: frozenset[str]) -> Part:
    """``part`` without its memo when that reads no more than ``names``."""
    shape = part.shape
    return shape.inner if isinstance(shape, Memo) and frozenset(shape.names) <= names else part


def _kept(items: list[Any], stable: frozenset[str]) -> Part:
    """A list sent empty rather than left out when every item is omitted (``["$keep", ...]``)."""
    if not items:
        return _constant([])
    inner = _compile(items, stable)
    render = inner.render

    def render_kept(ctx: dict[str, Any]) -> Any:
        value = render(ctx)
        return [] if value is OMIT else value

    return Part(render_kept, inner.names, inner.weight, Kept(inner))


class _Constant:
    """A template part with no expression in it: rendered once, when compiled."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, ctx: dict[str, Any]) -> Any:
        return self.value


def _constant(value: Any) -> Part:
    return Part(_Constant(value), frozenset(), 0, Const(value))


def _conditional(node: dict[str, Any], stable: frozenset[str]) -> Part:
    """``{"$if": "{{ actor.id }}", ...}``: the mapping is there only when the test holds, so its
    members need not each repeat the test (and those that are constants are rendered once)."""
    source = node[IF]
    if not (isinstance(source, str) and _EXPR.match(source)):
        raise ExpressionError(f'{IF} takes one expression, such as "{{{{ actor.id }}}}", not {source!r}')
    test_part = _compile(source, stable)
    inner_part = _compile({k: v for k, v in node.items() if k != IF}, stable)
    test, inner = test_part.render, inner_part.render

    def render_if(ctx: dict[str, Any]) -> Any:
        held = test(ctx)
        return inner(ctx) if held is not OMIT and held else OMIT

    names = _union((test_part, inner_part))
    weight = inner_part.weight
    part = Part(render_if, names, weight + 1, Conditional(test_part, inner_part))
    inner_names = inner_part.names
    inner_memoized = inner_names and inner_names <= stable and weight >= 2  # the mapping is a part already
    if names and names <= stable and not inner_memoized:
        return _memo(part, names, json.dumps(node), weight + 1)
    return part


def _split_changing(node: dict[str, Any], children: list[Part]) -> Part | None:
    """A mapping most of whose members read context that changes rarely, and a few what changes
    often (a user object and its last login): the rest is rendered once as a part of its own, so a
    new login renders only the members that show it."""
    keys = [str(k) for k in node]
    steady = [
        k
        for k, c in zip(keys, children, strict=True)
        if not isinstance(c.shape, Const) and c.names is not None and not c.names & CHANGING
    ]
    weight = sum(c.weight for k, c in zip(keys, children, strict=True) if k in steady)
    if weight < 2:
        return None
    index = {k: i for i, k in enumerate(keys)}
    steady_node = {k: node[k] for k in steady}
    steady_children = [children[index[k]] for k in steady]
    steady_names: frozenset[str] = frozenset().union(*(c.names or frozenset() for c in steady_children))
    shared = _memo(_container(steady_node, steady_children), steady_names, "steady:" + json.dumps(steady_node), weight)
    steady_part = shared.render
    fixed = {k: c.shape.value for k, c in zip(keys, children, strict=True) if isinstance(c.shape, Const)}
    skeleton = {k: fixed.get(k) for k in keys if fixed.get(k) is not OMIT}
    changing = [
        (k, c.render) for k, c in zip(keys, children, strict=True) if k not in steady and not isinstance(c.shape, Const)
    ]
    empty = not keys

    def render_split(ctx: dict[str, Any]) -> Any:
        out = skeleton.copy()
        shared = steady_part(ctx)
        for key in steady:
            value = OMIT if shared is OMIT else shared.get(key, OMIT)
            if value is OMIT:
                del out[key]
            else:
                out[key] = value
        for key, fn in changing:
            value = fn(ctx)
            if value is OMIT:
                del out[key]
            else:
                out[key] = value
        return out if out or empty else OMIT

    names = _union(children)
    shape = Split(tuple(keys), tuple(children), frozenset(steady), shared)
    return Part(render_split, names, sum(c.weight for c in children), shape)


def _container(node: dict[str, Any] | list[Any], children: list[Part]) -> Part:
    names = _union(children)
    weight = sum(c.weight for c in children)
    if isinstance(node, dict):
        keys = [str(k) for k in node]
        empty = not keys
        fixed = {k: c.shape.value for k, c in zip(keys, children, strict=True) if isinstance(c.shape, Const)}
        dynamic = [(k, c.render) for k, c in zip(keys, children, strict=True) if not isinstance(c.shape, Const)]
        if not dynamic:
            value = {k: v for k, v in fixed.items() if v is not OMIT}
            return _constant(value if value or empty else OMIT)
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

        return Part(render_dict, names, weight, Mapping(tuple(keys), tuple(children)))
    empty_list = not children
    if all(isinstance(c.shape, Const) for c in children):
        items = [c.shape.value for c in children if c.shape.value is not OMIT]  # type: ignore[union-attr]
        return _constant(items if items or empty_list else OMIT)
    parts = [c.render for c in children]

    def render_list(ctx: dict[str, Any]) -> Any:
        out = [v for v in (fn(ctx) for fn in parts) if v is not OMIT]
        return out if out or empty_list else OMIT

    return Part(render_list, names, weight, Sequence(tuple(children)))


def _sandbox_condition(source: str) -> Callable[[dict[str, Any]], bool]:
    """A ``when:`` condition evaluated by Jinja2's sandbox."""
    try:
        compiled = ENV.compile_expression(source, undefined_to_none=True)
    except _PROBLEMS as exc:
        raise ExpressionError(f"bad condition {source!r}: {exc}") from None

    def test(ctx: dict[str, Any]) -> bool:
        try:
            return bool(compiled(**ctx))
        except _PROBLEMS as exc:
            raise ExpressionError(f"condition {source!r}: {exc}") from None

    return test


@functools.lru_cache(maxsize=4096)
def compile_condition(source: str) -> Callable[[dict[str, Any]], bool]:
    """A ``when:`` condition from a catalog: a sandboxed expression, true or false; generated
    Python (``codegen.py``) with the answers of the plain one (``plain_condition``); compiled once
    per process."""
    plain, tree = plain_condition(source)
    return generate_condition(plain, tree) or plain


def plain_condition(source: str) -> tuple[Callable[[dict[str, Any]], bool], nodes.Expr | None]:
    """A condition as closures (or the sandbox), and the tree the closures were compiled from."""
    node = parse_expression(ENV, source)
    compiled = compile_expression(ENV, node) if node is not None else None
    if compiled is None:
        return _sandbox_condition(source), None
    fast, tree = compiled
    sandbox = _later(lambda: _sandbox_condition(source))

    def test_fast(ctx: dict[str, Any]) -> bool:
        try:
            return bool(fast(ctx))
        except HandOverError:
            return bool(sandbox(ctx))
        except _PROBLEMS as exc:
            raise ExpressionError(f"condition {source!r}: {exc}") from None

    return test_fast, tree


def decided_by(source: str, name: str, truth: bool) -> bool | None:
    """What a ``when:`` condition gives whenever ``name`` is true (``truth``) or false, when that
    alone decides it: ``not error and params.first`` is false for every failure. None when the
    rest of the context may matter, or when deciding would first evaluate something else (which
    could raise: the condition's own answer then)."""
    node = parse_expression(ENV, source)
    return None if node is None else _decided(node, name, truth)


def _decided(node: nodes.Node, name: str, truth: bool) -> bool | None:
    # ``not``, ``and`` and ``or`` are Python's in Jinja2 (the sandbox does not intercept them), and a
    # name is a lookup that never raises; nothing else is looked into
    if isinstance(node, nodes.Name):
        return truth if node.name == name else None
    if isinstance(node, nodes.Const):
        return bool(node.value)
    if isinstance(node, nodes.Not):
        inner = _decided(node.node, name, truth)
        return None if inner is None else not inner
    if isinstance(node, nodes.And | nodes.Or):
        left = _decided(node.left, name, truth)
        if left is None or left is isinstance(node, nodes.Or):
            return left  # unknown, or the side that ends it: false for ``and``, true for ``or``
        return _decided(node.right, name, truth)
    return None


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


__all__ = ["OMIT", "compile_condition", "compile_template", "decided_by", "deep_merge"]
