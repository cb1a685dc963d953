"""A fast path for the template expressions vendors actually write.

Jinja2 builds a fresh context for every expression it evaluates, which dominates rendering when a
payload has a dozen computed values. The expressions in templates and catalogs use a small subset
(names, attribute and key lookups, literals, ``x if c else y``, ``and``/``or``/``not``,
comparisons, a few filters), so we compile that subset from Jinja2's own parse tree into plain
closures. Anything outside the subset returns ``None`` here and runs in Jinja2's sandbox instead.

The closures only read keys of dicts and items of lists from the context: they never call a method
or read an attribute of a Python object, so they cannot reach further than the sandbox can.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jinja2 import Undefined, nodes
from jinja2.environment import Environment
from jinja2.exceptions import TemplateError

MAX_TEXT = 1_000_000  # characters in one value
MAX_NUMBER_BITS = 128  # largest exponent; products stay under 4x this many bits


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``10 ** 10 ** 10``, ``'x' * 10 ** 9`` and the like before computing them.

    Both engines call this: the fast path's closures and the sandbox's intercepted operators.
    """
    if operator == "**":
        if not isinstance(right, int | float) or abs(right) > MAX_NUMBER_BITS:
            raise ValueError("exponent too large")
    elif operator == "*":
        for a, b in ((left, right), (right, left)):
            if isinstance(a, str | list | tuple) and isinstance(b, int) and len(a) * b > MAX_TEXT:
                raise ValueError("result too large")
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > 4 * MAX_NUMBER_BITS
        ):
            raise ValueError("number too large")
    elif operator == "%" and isinstance(left, str):
        raise ValueError("string formatting with % is not allowed; use the format filter")


class _Missing:
    """An undefined value: falsy, equal to nothing, omitted from payloads."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
Fn = Callable[[dict[str, Any]], Any]


class Unsupported(Exception):
    """The expression uses something outside the fast subset."""


def _string(value: Any) -> str:
    if value is MISSING:
        return ""
    return value if isinstance(value, str) else str(value)


def _lookup(container: Any, key: Any) -> Any:
    if isinstance(container, dict):
        return container.get(key, MISSING)
    if isinstance(container, list | tuple) and isinstance(key, int) and -len(container) <= key < len(container):
        return container[key]
    return MISSING


def _contains(item: Any, container: Any) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list | tuple | dict):
        try:
            return item in container
        except TypeError:  # an unhashable item and a dict
            return False
    return False


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "in": _contains,
    "notin": lambda a, b: not _contains(a, b),
}
_ORDER = {"lt": lambda a, b: a < b, "gt": lambda a, b: a > b, "lteq": lambda a, b: a <= b, "gteq": lambda a, b: a >= b}


_LITERAL_NAMES = {"true", "True", "false", "False", "none", "None"}


def _path(keys: tuple[str, ...]) -> Fn:
    """``a.b.c`` as successive dict lookups (the bulk of every template)."""
    first, rest = keys[0], keys[1:]
    if len(rest) == 1:
        second = rest[0]

        def two(ctx: dict[str, Any]) -> Any:
            value = ctx.get(first, MISSING)
            return value.get(second, MISSING) if isinstance(value, dict) else MISSING

        return two

    def many(ctx: dict[str, Any]) -> Any:
        value = ctx.get(first, MISSING)
        for key in rest:
            if not isinstance(value, dict):
                return MISSING
            value = value.get(key, MISSING)
        return value

    return many


def _constant(value: Any) -> Fn:
    """A part of an expression whose value is known when it is compiled."""

    def constant(ctx: dict[str, Any]) -> Any:
        return value

    constant.constant = value  # type: ignore[attr-defined]
    return constant


def _is_constant(fn: Fn) -> bool:
    return hasattr(fn, "constant")


def _skeleton(keys: list[Any], values: list[Fn]) -> Fn:
    """A dict literal with fixed keys: its fixed members are placed once, the others filled per call
    (in the literal's key order; an undefined or null member is left out)."""
    fixed = {k: v.constant for k, v in zip(keys, values, strict=True) if _is_constant(v)}  # type: ignore[attr-defined]
    dynamic = [(k, v) for k, v in zip(keys, values, strict=True) if not _is_constant(v)]
    # every key in literal order; a dynamic one holds its place until filled or removed
    skeleton = {k: fixed.get(k) for k in keys if not (k in fixed and (fixed[k] is None or fixed[k] is MISSING))}
    if not dynamic:
        return _constant(skeleton)

    def build(ctx: dict[str, Any]) -> dict[Any, Any]:
        out = skeleton.copy()
        for key, fn in dynamic:
            v = fn(ctx)
            if v is MISSING or v is None:
                del out[key]
            else:
                out[key] = v
        return out

    return build


class Compiler:
    """Jinja2 expression nodes -> closures over the context dict."""

    def __init__(self, filters: dict[str, Callable[..., Any]]) -> None:
        self.filters = filters

    def expr(self, node: nodes.Node) -> Fn:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise Unsupported(type(node).__name__)
        return method(node)

    def _Const(self, node: nodes.Const) -> Fn:
        return _constant(node.value)

    def _Name(self, node: nodes.Name) -> Fn:
        name = node.name
        if name in ("true", "True"):
            return lambda ctx: True
        if name in ("false", "False"):
            return lambda ctx: False
        if name in ("none", "None"):
            return lambda ctx: None
        return lambda ctx: ctx.get(name, MISSING)

    def _Getattr(self, node: nodes.Getattr) -> Fn:
        path = [node.attr]
        base = node.node
        while isinstance(base, nodes.Getattr):
            path.append(base.attr)
            base = base.node
        if any(a.startswith("_") for a in path):
            raise Unsupported("private attribute")
        path.reverse()
        if isinstance(base, nodes.Name) and base.name not in _LITERAL_NAMES:
            return _path((base.name, *path))
        inner = self.expr(base)

        def getattr_chain(ctx: dict[str, Any]) -> Any:
            value = inner(ctx)
            for key in path:
                value = _lookup(value, key)
            return value

        return getattr_chain

    def _Getitem(self, node: nodes.Getitem) -> Fn:
        inner = self.expr(node.node)
        if isinstance(node.arg, nodes.Slice):
            if node.arg.step is not None:
                raise Unsupported("slice step")
            start = self.expr(node.arg.start) if node.arg.start is not None else (lambda ctx: None)
            stop = self.expr(node.arg.stop) if node.arg.stop is not None else (lambda ctx: None)

            def sliced(ctx: dict[str, Any]) -> Any:
                value = inner(ctx)
                if not isinstance(value, str | list):
                    return MISSING
                return value[start(ctx) : stop(ctx)]

            return sliced
        key = self.expr(node.arg)
        return lambda ctx: _lookup(inner(ctx), key(ctx))

    def _arith(self, node: nodes.BinExpr, op: Callable[[Any, Any], Any]) -> Fn:
        left, right = self.expr(node.left), self.expr(node.right)

        def compute(ctx: dict[str, Any]) -> Any:
            a, b = left(ctx), right(ctx)
            if a is MISSING or b is MISSING:
                raise TypeError("arithmetic on an undefined value")
            return op(a, b)

        return compute

    def _Add(self, node: nodes.Add) -> Fn:
        return self._arith(node, lambda a, b: a + b)

    def _Sub(self, node: nodes.Sub) -> Fn:
        return self._arith(node, lambda a, b: a - b)

    def _Mul(self, node: nodes.Mul) -> Fn:
        def multiply(a: Any, b: Any) -> Any:
            if isinstance(a, str | list) or isinstance(b, str | list):
                raise TypeError("only numbers can be multiplied here")
            check_binop("*", a, b)
            return a * b

        return self._arith(node, multiply)

    def _Div(self, node: nodes.Div) -> Fn:
        return self._arith(node, lambda a, b: a / b)

    def _FloorDiv(self, node: nodes.FloorDiv) -> Fn:
        return self._arith(node, lambda a, b: a // b)

    def _Mod(self, node: nodes.Mod) -> Fn:
        def modulo(a: Any, b: Any) -> Any:
            if isinstance(a, str):
                raise TypeError("string formatting with % is not supported here")
            return a % b

        return self._arith(node, modulo)

    def _Neg(self, node: nodes.Neg) -> Fn:
        inner = self.expr(node.node)
        return lambda ctx: -inner(ctx)

    def _CondExpr(self, node: nodes.CondExpr) -> Fn:
        test, then = self.expr(node.test), self.expr(node.expr1)
        otherwise = self.expr(node.expr2) if node.expr2 is not None else _constant(MISSING)
        if _is_constant(otherwise):  # ``x if cond``: the common form, with no call for the other branch
            other = otherwise.constant  # type: ignore[attr-defined]
            if _is_constant(then):
                value = then.constant  # type: ignore[attr-defined]
                return lambda ctx: value if test(ctx) else other
            return lambda ctx: then(ctx) if test(ctx) else other
        return lambda ctx: then(ctx) if test(ctx) else otherwise(ctx)

    def _And(self, node: nodes.And) -> Fn:
        left, right = self.expr(node.left), self.expr(node.right)
        return lambda ctx: left(ctx) and right(ctx)

    def _Or(self, node: nodes.Or) -> Fn:
        left, right = self.expr(node.left), self.expr(node.right)
        return lambda ctx: left(ctx) or right(ctx)

    def _Not(self, node: nodes.Not) -> Fn:
        inner = self.expr(node.node)
        return lambda ctx: not inner(ctx)

    def _Compare(self, node: nodes.Compare) -> Fn:
        first = self.expr(node.expr)
        ops = []
        for operand in node.ops:
            if operand.op in ("in", "notin") and isinstance(operand.expr, nodes.List | nodes.Tuple):
                # a membership list keeps its None: ``error in [none, 'x']``
                members = [self.expr(i) for i in operand.expr.items]
                if all(_is_constant(f) for f in members):
                    ops.append((_COMPARE[operand.op], _constant([f.constant for f in members]), False))  # type: ignore[attr-defined]
                else:
                    ops.append((_COMPARE[operand.op], lambda ctx, m=members: [f(ctx) for f in m], False))
            elif operand.op in _COMPARE:
                ops.append((_COMPARE[operand.op], self.expr(operand.expr), False))
            elif operand.op in _ORDER:
                ops.append((_ORDER[operand.op], self.expr(operand.expr), True))
            else:
                raise Unsupported(operand.op)

        if len(ops) == 1 and not ops[0][2] and _is_constant(ops[0][1]):
            # one equality or membership test against a constant (``error == 'x'``, ``error in [...]``)
            test, right_value = ops[0][0], ops[0][1].constant  # type: ignore[attr-defined]
            if test is _COMPARE["eq"]:
                return lambda ctx: first(ctx) == right_value
            if test is _COMPARE["ne"]:
                return lambda ctx: first(ctx) != right_value
            return lambda ctx: test(first(ctx), right_value)

        def compare(ctx: dict[str, Any]) -> bool:
            left = first(ctx)
            for op, right_fn, ordered in ops:
                right = right_fn(ctx)
                if ordered and (left is MISSING or right is MISSING or left is None or right is None):
                    raise TypeError("cannot order an undefined value")
                if not op(left, right):
                    return False
                left = right
            return True

        return compare

    # Literals drop undefined and null members as they are built (vendors omit, they do not send
    # null), so what the fast path builds is ready for a payload as it is.
    def _List(self, node: nodes.List) -> Fn:
        items = [self.expr(i) for i in node.items]
        if all(_is_constant(f) for f in items):  # built once; what templates build is read-only
            return _constant([v for v in (f.constant for f in items) if v is not MISSING and v is not None])  # type: ignore[attr-defined]

        def build_list(ctx: dict[str, Any]) -> list[Any]:
            out = []
            for f in items:
                v = f(ctx)
                if v is not MISSING and v is not None:
                    out.append(v)
            return out

        return build_list

    def _Tuple(self, node: nodes.Tuple) -> Fn:
        return self._List(node)  # type: ignore[arg-type]

    def _Dict(self, node: nodes.Dict) -> Fn:
        pairs = [(self.expr(p.key), self.expr(p.value)) for p in node.items]
        if all(_is_constant(k) for k, _ in pairs):
            keys = [k.constant for k, _ in pairs]  # type: ignore[attr-defined]
            try:
                distinct = len(set(keys)) == len(keys)  # no key given twice (1 and True are the same key)
            except TypeError:  # an unhashable key: the general path says so when it runs
                distinct = False
            if distinct:
                return _skeleton(keys, [v for _, v in pairs])

        def build(ctx: dict[str, Any]) -> dict[Any, Any]:
            out = {}
            for key, value in pairs:
                v = value(ctx)
                if v is not MISSING and v is not None:
                    out[key(ctx)] = v
            return out

        return build

    def _Concat(self, node: nodes.Concat) -> Fn:
        parts = [self.expr(n) for n in node.nodes]
        return lambda ctx: "".join(_string(p(ctx)) for p in parts)

    def _Test(self, node: nodes.Test) -> Fn:
        inner = self.expr(node.node)
        tests = {
            "defined": lambda v: v is not MISSING,
            "undefined": lambda v: v is MISSING,
            "none": lambda v: v is None,
            "string": lambda v: isinstance(v, str),
        }
        if node.name not in tests or node.args or node.kwargs:
            raise Unsupported(f"test {node.name}")
        test = tests[node.name]
        return lambda ctx: test(inner(ctx))

    def _Call(self, node: nodes.Call) -> Fn:
        # only mapping.get(key[, default]), the one method templates need
        target = node.node
        if not (isinstance(target, nodes.Getattr) and target.attr == "get") or node.kwargs or node.dyn_args:
            raise Unsupported("call")
        mapping = self.expr(target.node)
        args = [self.expr(a) for a in node.args]
        if not 1 <= len(args) <= 2:
            raise Unsupported("get arity")

        def get(ctx: dict[str, Any]) -> Any:
            container = mapping(ctx)
            if not isinstance(container, dict):
                return MISSING
            default = args[1](ctx) if len(args) == 2 else MISSING
            return container.get(args[0](ctx), default)

        return get

    def _Filter(self, node: nodes.Filter) -> Fn:
        if node.name not in self.filters or node.dyn_args or node.dyn_kwargs:
            raise Unsupported(f"filter {node.name}")
        function = self.filters[node.name]
        inner = self.expr(node.node)
        args = [self.expr(a) for a in node.args]
        kwargs = [(k.key, self.expr(k.value)) for k in node.kwargs]
        if node.name == "map":
            if kwargs or not node.args or not isinstance(node.args[0], nodes.Const):
                raise Unsupported("map takes a filter name")
            name = node.args[0].value
            if name not in self.filters or name == "map":
                raise Unsupported(f"map with filter {name}")
            mapped, rest = self.filters[name], args[1:]
            return lambda ctx: [mapped(v, *(a(ctx) for a in rest)) for v in _items(inner(ctx))]
        if all(_is_constant(a) for a in args) and all(_is_constant(v) for _, v in kwargs):
            fixed_args = [a.constant for a in args]  # type: ignore[attr-defined]
            fixed_kwargs = {k: v.constant for k, v in kwargs}  # type: ignore[attr-defined]
            if not fixed_args and not fixed_kwargs:
                return lambda ctx: function(inner(ctx))
            return lambda ctx: function(inner(ctx), *fixed_args, **fixed_kwargs)
        if not kwargs:
            return lambda ctx: function(inner(ctx), *(a(ctx) for a in args))
        return lambda ctx: function(inner(ctx), *(a(ctx) for a in args), **{k: v(ctx) for k, v in kwargs})


def _to_int(value: Any, default: int = 0, base: int = 10) -> int:
    try:
        return int(value, base) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _items(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, dict):
        return list(value)
    return []


_WIDE = re.compile(r"%[-+ #0]*([1-9]\d{2,}|\*)|\.(\d{3,}|\*)")


def _format(pattern: Any, *args: Any) -> str:
    """``'%s-%04d' | format(a, b)``: printf-style, with widths kept small."""
    if not isinstance(pattern, str) or any(isinstance(a, dict | list | tuple) for a in args):
        raise TypeError("format takes a pattern and plain values")
    if _WIDE.search(pattern):
        raise ValueError("format widths and precisions above 99 are not allowed")
    return pattern % args


def _replace(value: Any, old: Any, new: Any) -> str:
    text, old, new = _string(value), _string(old), _string(new)
    if old and len(new) > len(old) and len(text) + text.count(old) * (len(new) - len(old)) > MAX_TEXT:
        raise ValueError("replace would make a text too long")
    return text.replace(old, new)


def _default(value: Any, fallback: Any = "", boolean: bool = False) -> Any:
    if value is MISSING or (boolean and not value):
        return fallback
    return value


FAST_FILTERS: dict[str, Callable[..., Any]] = {
    "string": _string,
    "lower": lambda v: _string(v).lower(),
    "upper": lambda v: _string(v).upper(),
    "int": _to_int,
    "list": _items,
    "select": lambda v: [x for x in _items(v) if x],
    "replace": _replace,
    "join": lambda v, sep="": _string(sep).join(_string(x) for x in _items(v)),
    "format": _format,
    "first": lambda v: _items(v)[0] if _items(v) else MISSING,
    "map": None,  # handled in Compiler._Filter (it applies another filter)
    "default": _default,
    "d": _default,
    "length": lambda v: len(v) if isinstance(v, list | dict | str) else 0,
}


def _single_expression(env: Environment, source: str) -> nodes.Expr | None:
    """The parse tree of ``{{ source }}``, or None when it is not exactly one expression."""
    try:
        tree = env.parse(f"{{{{ {source} }}}}")
    except TemplateError:
        return None
    body = tree.body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    return body[0].nodes[0]


def path_of(env: Environment, source: str) -> tuple[str, ...] | None:
    """``("actor", "email")`` for ``actor.email``: a plain lookup, the commonest expression."""
    node, keys = _single_expression(env, source), []
    while isinstance(node, nodes.Getattr):
        keys.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name) or node.name in _LITERAL_NAMES or any(k.startswith("_") for k in keys):
        return None
    return (node.name, *reversed(keys))


def compile_fast(env: Environment, source: str, extra_filters: dict[str, Callable[..., Any]]) -> Fn | None:
    """Closures for ``{{ source }}``, or None when it needs the full Jinja2 engine."""
    node = _single_expression(env, source)
    if node is None:
        return None
    try:
        return Compiler({**FAST_FILTERS, **extra_filters}).expr(node)
    except Unsupported:
        return None


def compile_fast_text(env: Environment, source: str, extra_filters: dict[str, Callable[..., Any]]) -> Fn | None:
    """Closures for text with ``{{ }}`` expressions in it (no ``{% %}`` blocks), or None."""
    try:
        tree = env.parse(source)
    except TemplateError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    compiler = Compiler({**FAST_FILTERS, **extra_filters})
    parts: list[Fn] = []
    try:
        for node in tree.body[0].nodes:
            if isinstance(node, nodes.TemplateData):
                text = node.data
                parts.append(lambda ctx, text=text: text)
            else:
                parts.append(compiler.expr(node))
    except Unsupported:
        return None
    return lambda ctx: "".join(_string(p(ctx)) for p in parts)


def _absent(value: Any) -> bool:
    return value is None or value is MISSING or isinstance(value, Undefined)


def clean(value: Any) -> Any:
    """A container as it may go into a payload: no null or undefined members; tuples become lists."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if not _absent(v)}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value if not _absent(v)]
    return value
