"""A fast path for template expressions, with the meaning Jinja2's sandbox gives them.

Jinja2 builds a fresh context for every expression it evaluates, which dominates rendering when a
payload has a dozen computed values. So we compile expressions from Jinja2's own parse tree (folded
where its code generator folds constants) into plain closures over the context dict, and keep the
sandbox as the reference: for everything the compiler accepts, a closure gives the value the
sandbox gives, or raises where the sandbox raises. That is why the closures are built from the
same parts:

- an undefined name or member is Jinja2's ``ChainableUndefined`` (falsy, printed as nothing, an
  error in arithmetic or a comparison of order), and the missing ``else`` of ``x if c`` is the plain
  ``Undefined`` Jinja2 always uses there, not stand-ins of our own;
- operators are Python's, as in the code Jinja2 generates, and ``*``, ``**``, ``//`` and ``%``
  go through ``check_binop`` first, as the sandbox's intercepted operators do;
- filters and tests are the environment's own functions, called as the sandbox calls them
  (``map``, ``select`` and ``reject`` with a context that holds no variables);
- ``a.b`` and ``a[b]`` follow the sandbox's lookup rules for the types JSON data is made of.

What the compiler refuses runs in the sandbox instead (the caller's choice): method calls other
than ``mapping.get``, a member name that is also an attribute of a dict, list, string or number
(``d.items``, ``n.real``: the sandbox would give the attribute), names with a leading underscore, a
lazy ``map``/``select``/``reject``/``unique`` whose result is not consumed by a filter that
iterates it (its text would be ``<generator object ...>``), filters that read an attribute of
each item (``map(attribute='x')``, ``join(', ', 'name')``), filter arguments spread with ``*`` or
``**``, and constants Jinja2 itself cannot write back as code (``1e400``).

The closures' own code reads keys of dicts and items of lists, strings and tuples; it never reads
an attribute of a Python object or calls one of its methods (Jinja2's undefined values aside).
When a lookup meets a value of any other type (a datetime in the context, say), the closure raises
``HandOverError`` and the caller runs the sandbox, which knows how to look into it safely.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any, cast

from jinja2 import ChainableUndefined, Undefined, nodes
from jinja2 import filters as jinja_filters
from jinja2.environment import Environment
from jinja2.exceptions import TemplateError, UndefinedError
from jinja2.optimizer import Optimizer
from jinja2.parser import Parser
from jinja2.runtime import new_context
from jinja2.utils import _PassArg

from emulator.errors import EmulatorError
from emulator.vendors.encoding import finite

MAX_TEXT = 1_000_000  # characters in one value
INT_BOUND = 1 << 64  # an integer strictly within it has at most 64 bits, the most JSON consumers take
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


# Jinja2's undefined, for an item looked up by a key only known when rendering (``l[n]``); names
# and other lookups carry their own, so error messages say what was undefined.
MISSING: Any = ChainableUndefined(hint="an item of the expression is undefined")
# The value of ``x if cond`` when cond is false: Jinja2 always makes it a plain Undefined, which,
# unlike the chainable kind, raises when it is looked into (``(x if c).y``) and equals only its kind.
NO_ELSE: Any = Undefined(hint="the inline if-expression evaluated to false and no else section was defined.")
Fn = Callable[[dict[str, Any]], Any]


class OutsideFastPathError(EmulatorError):
    """The expression uses something outside the fast subset (it runs in the sandbox instead)."""


class HandOverError(EmulatorError):
    """A closure met a value only the sandbox may look into; run the expression there."""


# The types JSON data is made of: the closures look into these themselves, anything else is HandOverError.
PLAIN_TYPES = frozenset({dict, list, tuple, str, int, float, bool, type(None)})
# What the sandbox's getattr finds on them before it tries a key (``d.items`` is the method).
_ATTRIBUTES = {kind: frozenset(dir(kind)) for kind in PLAIN_TYPES}
_ANY_ATTRIBUTE = frozenset().union(*_ATTRIBUTES.values())


def _member_name(name: str) -> bool:
    """``a.name`` is a key lookup on every plain type (no attribute of that name, not private)."""
    return not name.startswith("_") and name not in _ANY_ATTRIBUTE


def _attribute(value: Any, name: str, undefined: Any) -> Any:
    """``value.name`` as the sandbox reads it, for a name that is no attribute of a plain type."""
    if type(value) is dict:
        return value.get(name, undefined)
    if type(value) in PLAIN_TYPES:
        return undefined
    if isinstance(value, Undefined):
        return getattr(value, name)  # a ChainableUndefined gives itself; NO_ELSE raises
    raise HandOverError


def subscript(value: Any, key: Any, undefined: Any) -> Any:
    """``value[key]`` as the sandbox's getitem reads it: the item, else the attribute, else undefined."""
    kind = type(value)
    if kind in PLAIN_TYPES:
        try:
            return value[key]
        except (TypeError, LookupError):
            pass
        if isinstance(key, str) and key in _ATTRIBUTES[kind]:
            raise HandOverError  # the sandbox would give the attribute (``d['items']`` is the method)
        return undefined
    if isinstance(value, Undefined):
        return value[key]  # a ChainableUndefined gives itself; NO_ELSE raises
    raise HandOverError


def sliced(value: Any, start: Any, stop: Any, step: Any) -> Any:
    """``value[start:stop:step]``: Jinja2 subscripts with a slice directly, not through the
    sandbox's getitem (on the types JSON data is made of, and undefined)."""
    part = slice(start, stop, step)
    if type(value) in PLAIN_TYPES or isinstance(value, Undefined):
        return value[part]
    raise HandOverError


def _checked(symbol: str, function: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """An operator the sandbox intercepts: checked by ``check_binop`` before it is computed."""

    def compute(left: Any, right: Any) -> Any:
        check_binop(symbol, left, right)
        return function(left, right)

    return compute


# The operators the sandbox intercepts, as functions of their two operands (closures and
# generated code call the same ones).
BOUNDED: dict[type[nodes.BinExpr], Callable[[Any, Any], Any]] = {
    nodes.Mul: _checked("*", operator.mul),
    nodes.FloorDiv: _checked("//", operator.floordiv),
    nodes.Mod: _checked("%", operator.mod),
    nodes.Pow: _checked("**", operator.pow),
}


def _path(keys: tuple[str, ...], undefined: Any) -> Fn:
    """``a.b.c`` as successive dict lookups (the bulk of every template)."""
    first, rest = keys[0], keys[1:]
    if not rest:
        return lambda ctx: ctx.get(first, undefined)
    if len(rest) == 1:
        second = rest[0]

        def two(ctx: dict[str, Any]) -> Any:
            value = ctx.get(first, undefined)
            if type(value) is dict:
                return value.get(second, undefined)
            return _attribute(value, second, undefined)

        return two

    def many(ctx: dict[str, Any]) -> Any:
        value = ctx.get(first, undefined)
        for key in rest:
            value = value.get(key, undefined) if type(value) is dict else _attribute(value, key, undefined)
        return value

    return many


def _constant(value: Any) -> Fn:
    """A part of an expression whose value is known when it is compiled (shared: read-only)."""

    def constant(ctx: dict[str, Any]) -> Any:
        return value

    constant.constant = value  # type: ignore[attr-defined]
    return constant


def _is_constant(fn: Fn) -> bool:
    return hasattr(fn, "constant")


def _value_of(fn: Fn) -> Any:
    """The value of a part known when compiled (see ``_constant``)."""
    return fn.constant  # type: ignore[attr-defined]


def _operand(node: nodes.Filter | nodes.Test) -> nodes.Node:
    """What a filter or test applies to (a filter block has none; templates have no blocks)."""
    if node.node is None:
        raise OutsideFastPathError("filter block")
    return node.node


def _const(node: nodes.Node) -> Any:
    """The value of a constant argument (its kind was checked when the filter was compiled)."""
    return cast(nodes.Const, node).value


def _finite(value: Any) -> bool:
    """No inf or nan anywhere in a constant: Jinja2 writes constants back as code, where they are not names."""
    kind = type(value)
    if kind is float or kind is complex:
        return all(math.isfinite(part) for part in (value.real, value.imag))
    if kind in (list, tuple, set, frozenset):
        return all(_finite(v) for v in value)
    if kind is dict:
        return all(_finite(k) and _finite(v) for k, v in value.items())
    return True


def _distinct(keys: list[Any]) -> bool:
    """No key given twice (1 and True are the same key); an unhashable key fails when it runs."""
    try:
        return len(set(keys)) == len(keys)
    except TypeError:
        return False


def _named(node: nodes.Node, names: dict[str, Any]) -> bool:
    """A constant string that names one of ``names``."""
    return isinstance(node, nodes.Const) and isinstance(node.value, str) and node.value in names


def _choose(test: Fn, then: Fn, otherwise: Fn) -> Fn:
    """``then if test else otherwise``; a constant side is taken without a call (``x if cond``)."""
    if _is_constant(otherwise):
        other = otherwise.constant  # type: ignore[attr-defined]
        if _is_constant(then):
            value = then.constant  # type: ignore[attr-defined]
            return lambda ctx: value if test(ctx) else other
        return lambda ctx: then(ctx) if test(ctx) else other
    return lambda ctx: then(ctx) if test(ctx) else otherwise(ctx)


def _clean_skeleton(keys: list[Any], members: list[tuple[Fn, bool]]) -> Fn:
    """A dict literal with fixed, distinct keys, built as ``clean`` would leave it: constant members
    placed once, the others filled per call in the literal's key order or left out when absent."""
    skeleton: dict[Any, Any] = {}
    dynamic = []
    for key, (fn, built) in zip(keys, members, strict=True):
        if not _is_constant(fn):
            skeleton[key] = None  # holds the key's place until filled or removed
            dynamic.append((key, fn, built))
        elif not absent(fn.constant):  # type: ignore[attr-defined]
            skeleton[key] = fn.constant  # type: ignore[attr-defined]
    if not dynamic:
        return _constant(skeleton)

    def build(ctx: dict[str, Any]) -> dict[Any, Any]:
        out = skeleton.copy()
        for key, fn, built in dynamic:
            value = fn(ctx)
            if type(value) in _WHOLE:
                out[key] = value
            elif value is None or isinstance(value, Undefined):
                del out[key]
            else:
                out[key] = value if built else carried(value)
        return out

    return build


def _clean_list(items: list[tuple[Fn, bool]]) -> Fn:
    """A list or tuple literal built as ``clean`` would leave it: a list without absent members."""

    def build(ctx: dict[str, Any]) -> list[Any]:
        out = []
        for fn, built in items:
            value = fn(ctx)
            if type(value) in _WHOLE:
                out.append(value)
            elif value is not None and not isinstance(value, Undefined):
                out.append(value if built else carried(value))
        return out

    return build


def _plain_filter(node: nodes.Node, name: str) -> bool:
    """``x | name`` with no arguments."""
    return (
        isinstance(node, nodes.Filter)
        and node.name == name
        and not (node.args or node.kwargs or node.dyn_args or node.dyn_kwargs)
    )


def _present(node: nodes.Node) -> bool:
    """A constant member that ``clean`` keeps."""
    return isinstance(node, nodes.Const) and node.value is not None


def _same_truth(node: nodes.Node) -> bool:
    """What ``Compiler.payload`` builds for ``node`` is true exactly when its whole value is: a
    literal keeps a constant member, and only literals (or branches that are) are built otherwise."""
    if isinstance(node, nodes.Const):
        return bool(node.value) == bool(clean(node.value))
    if isinstance(node, nodes.List | nodes.Tuple):
        return any(_present(i) for i in node.items)
    if isinstance(node, nodes.Dict):
        return any(_present(p.value) for p in node.items)
    if isinstance(node, nodes.CondExpr):
        return _same_truth(node.expr1) and (node.expr2 is None or _same_truth(node.expr2))
    if isinstance(node, nodes.Or | nodes.And):
        return _same_truth(node.right)
    return True


def _truthy_list(items: list[tuple[Fn, bool]]) -> Fn:
    """The true members of a list literal, built for the payload (see ``Compiler.selected_literal``)."""

    def build(ctx: dict[str, Any]) -> list[Any]:
        out = []
        for fn, built in items:
            value = fn(ctx)
            if value:
                out.append(value if built or type(value) in _WHOLE else carried(value))
        return out

    return build


def _skeleton(keys: list[Any], values: list[Fn]) -> Fn:
    """A dict literal with fixed, distinct keys: constant members are placed once, the others filled
    per call in the literal's key order."""
    skeleton = {k: (v.constant if _is_constant(v) else None) for k, v in zip(keys, values, strict=True)}  # type: ignore[attr-defined]
    dynamic = [(k, v) for k, v in zip(keys, values, strict=True) if not _is_constant(v)]

    def build(ctx: dict[str, Any]) -> dict[Any, Any]:
        out = skeleton.copy()
        for key, fn in dynamic:
            out[key] = fn(ctx)
        return out

    return build


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "gt": operator.gt,
    "lteq": operator.le,
    "gteq": operator.ge,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}

# Jinja2's asynchronous-capable filters dispatch to these in a synchronous environment.
_SYNC: dict[Any, Any] = {
    jinja_filters.do_first: jinja_filters.sync_do_first,
    jinja_filters.do_join: jinja_filters.sync_do_join,
    jinja_filters.do_list: jinja_filters.sync_do_list,
    jinja_filters.do_map: jinja_filters.sync_do_map,
    jinja_filters.do_reject: jinja_filters.sync_do_reject,
    jinja_filters.do_select: jinja_filters.sync_do_select,
    jinja_filters.do_sum: jinja_filters.sync_do_sum,
    jinja_filters.do_unique: jinja_filters.sync_do_unique,
}
# Filters whose result is a generator, and those that iterate their input and give a plain value
# (or an error, the same on both paths). A generator anywhere else would show as its repr.
_LAZY = frozenset({"map", "select", "reject", "unique"})
_CONSUMERS = frozenset({"list", "join", "first", "last", "length", "sum", "max", "min"}) | _LAZY
# Where a filter takes the name of an attribute to read from each item, as its nth positional
# argument (``join(', ', 'name')``): that runs the sandbox's getattr on any object, so it stays there.
_ATTRIBUTE_ARGUMENT = {"join": 1, "sum": 0, "unique": 1, "max": 1, "min": 1}
NO_PREFIX: Any = object()


class Compiler:
    """Jinja2 expression nodes (already constant-folded) -> closures over the context dict."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.context = new_context(env, None, {})  # for map/select/reject: no variables in it
        self.consumed: set[int] = set()  # lazy filter nodes whose result a consuming filter iterates

    def expr(self, node: nodes.Node) -> Fn:
        method: Callable[[nodes.Node], Fn] | None = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise OutsideFastPathError(type(node).__name__)
        return method(node)

    def payload(self, node: nodes.Node) -> tuple[Fn, bool]:
        """Closures for a value that goes into a payload, and whether its containers come out as
        ``clean`` leaves them (no absent members, lists for tuples). Literals are built that way,
        which is cheaper than building them whole and cleaning them after; a literal's truth
        never decides anything here, since only the branches of ``if`` and the right side of
        ``or``/``and`` are built for the payload."""
        if isinstance(node, nodes.Const):
            return _constant(clean(self._Const(node).constant)), True  # type: ignore[attr-defined]
        if isinstance(node, nodes.List | nodes.Tuple):
            return _clean_list([self.payload(i) for i in node.items]), True
        if isinstance(node, nodes.Dict):
            keys = [self.expr(p.key) for p in node.items]
            if all(_is_constant(k) for k in keys) and _distinct(fixed := [k.constant for k in keys]):  # type: ignore[attr-defined]
                return _clean_skeleton(fixed, [self.payload(p.value) for p in node.items]), True
            return self.expr(node), False
        if isinstance(node, nodes.CondExpr):
            test = self.expr(node.test)
            then, then_built = self.payload(node.expr1)
            otherwise, otherwise_built = (
                self.payload(node.expr2) if node.expr2 is not None else (_constant(NO_ELSE), True)
            )
            return _choose(test, then, otherwise), then_built and otherwise_built
        if self.selected_literal(node):
            # ``[a if x, b if y] | select | list``: the items built for the payload, the true ones kept
            return _truthy_list([self.payload(i) for i in node.node.node.items]), True  # type: ignore[attr-defined]
        if isinstance(node, nodes.Or):
            left, (right, _) = self.expr(node.left), self.payload(node.right)
            return lambda ctx: left(ctx) or right(ctx), False
        if isinstance(node, nodes.And):
            left, (right, _) = self.expr(node.left), self.payload(node.right)
            return lambda ctx: left(ctx) and right(ctx), False
        return self.expr(node), False

    def selected_literal(self, node: nodes.Node) -> bool:
        """``[...] | select | list`` whose items are as true built for the payload as built whole."""
        if not (_plain_filter(node, "list") and _plain_filter(node.node, "select")):  # type: ignore[attr-defined]
            return False
        literal = node.node.node  # type: ignore[attr-defined]
        filters = self.env.filters
        return (
            isinstance(literal, nodes.List)
            and filters.get("list") is jinja_filters.do_list
            and filters.get("select") is jinja_filters.do_select
            and all(_same_truth(i) for i in literal.items)
        )

    def _prefix(self, function: Callable[..., Any]) -> Any:
        """What Jinja2 passes before the value to a filter or test that asks for it."""
        kind = _PassArg.from_obj(function)
        if kind is _PassArg.context:
            return self.context
        if kind is _PassArg.eval_context:
            return self.context.eval_ctx
        if kind is _PassArg.environment:
            return self.env
        return NO_PREFIX

    def _Const(self, node: nodes.Const) -> Fn:
        if not _finite(node.value):
            raise OutsideFastPathError("a constant Jinja2 cannot write as code")
        return _constant(node.value)

    def _Name(self, node: nodes.Name) -> Fn:
        return _path((node.name,), self.env.undefined(name=node.name))

    def _Getattr(self, node: nodes.Getattr) -> Fn:
        path = [node.attr]
        base = node.node
        while isinstance(base, nodes.Getattr):
            path.append(base.attr)
            base = base.node
        if not all(_member_name(a) for a in path):
            raise OutsideFastPathError(f"attribute {node.attr}")
        path.reverse()
        if isinstance(base, nodes.Name):
            return _path((base.name, *path), self.env.undefined(hint=f"{'.'.join((base.name, *path))!r} is undefined"))
        inner = self.expr(base)
        undefined = self.env.undefined(hint=f"member {path[-1]!r} is undefined")

        def getattr_chain(ctx: dict[str, Any]) -> Any:
            value = inner(ctx)
            for key in path:
                value = _attribute(value, key, undefined)
            return value

        return getattr_chain

    def _Getitem(self, node: nodes.Getitem) -> Fn:
        inner = self.expr(node.node)
        if isinstance(node.arg, nodes.Slice):
            # Jinja2 subscripts with a slice directly, not through the sandbox's getitem
            bounds = (node.arg.start, node.arg.stop, node.arg.step)
            start, stop, step = (self.expr(p) if p is not None else _constant(None) for p in bounds)

            return lambda ctx: sliced(inner(ctx), start(ctx), stop(ctx), step(ctx))
        key = self.expr(node.arg)
        undefined = self.item_undefined(node)
        return lambda ctx: subscript(inner(ctx), key(ctx), undefined)

    def item_undefined(self, node: nodes.Getitem) -> Any:
        """What ``a[key]`` gives for a missing item: an undefined that names a constant key."""
        if isinstance(node.arg, nodes.Const):
            return self.env.undefined(hint=f"item {node.arg.value!r} is undefined")
        return MISSING

    def _binary(self, node: nodes.BinExpr, function: Callable[[Any, Any], Any]) -> Fn:
        left, right = self.expr(node.left), self.expr(node.right)
        return lambda ctx: function(left(ctx), right(ctx))

    def _Add(self, node: nodes.Add) -> Fn:
        return self._binary(node, operator.add)

    def _Sub(self, node: nodes.Sub) -> Fn:
        return self._binary(node, operator.sub)

    def _Div(self, node: nodes.Div) -> Fn:
        return self._binary(node, operator.truediv)

    def _Mul(self, node: nodes.Mul) -> Fn:
        return self._binary(node, BOUNDED[nodes.Mul])

    def _FloorDiv(self, node: nodes.FloorDiv) -> Fn:
        return self._binary(node, BOUNDED[nodes.FloorDiv])

    def _Mod(self, node: nodes.Mod) -> Fn:
        return self._binary(node, BOUNDED[nodes.Mod])

    def _Pow(self, node: nodes.Pow) -> Fn:
        return self._binary(node, BOUNDED[nodes.Pow])

    def _Neg(self, node: nodes.Neg) -> Fn:
        inner = self.expr(node.node)
        return lambda ctx: -inner(ctx)

    def _Pos(self, node: nodes.Pos) -> Fn:
        inner = self.expr(node.node)
        return lambda ctx: +inner(ctx)

    def _CondExpr(self, node: nodes.CondExpr) -> Fn:
        test, then = self.expr(node.test), self.expr(node.expr1)
        otherwise = self.expr(node.expr2) if node.expr2 is not None else _constant(NO_ELSE)
        return _choose(test, then, otherwise)

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
        ops = [(_COMPARE[operand.op], self.expr(operand.expr)) for operand in node.ops]
        if len(ops) == 1:
            test, right = ops[0]
            if _is_constant(right):
                # one test against a constant (``error == 'x'``, ``error in ['a', 'b']``)
                value = right.constant  # type: ignore[attr-defined]
                if test is operator.eq:
                    return lambda ctx: first(ctx) == value
                if test is operator.ne:
                    return lambda ctx: first(ctx) != value
                return lambda ctx: test(first(ctx), value)
            if test is operator.eq:
                return lambda ctx: first(ctx) == right(ctx)
            if test is operator.ne:
                return lambda ctx: first(ctx) != right(ctx)
            return lambda ctx: test(first(ctx), right(ctx))

        def chain(ctx: dict[str, Any]) -> Any:
            # Python's ``a < b < c``: each operand evaluated once, stopping at the first false result
            left = first(ctx)
            result: Any = True
            for test, right_fn in ops:
                right = right_fn(ctx)
                result = test(left, right)
                if not result:
                    return result
                left = right
            return result

        return chain

    def _List(self, node: nodes.List) -> Fn:
        items = [self.expr(i) for i in node.items]
        return lambda ctx: [f(ctx) for f in items]

    def _Tuple(self, node: nodes.Tuple) -> Fn:
        items = [self.expr(i) for i in node.items]
        return lambda ctx: tuple([f(ctx) for f in items])

    def _Dict(self, node: nodes.Dict) -> Fn:
        pairs = [(self.expr(p.key), self.expr(p.value)) for p in node.items]
        if all(_is_constant(k) for k, _ in pairs):
            keys = [k.constant for k, _ in pairs]  # type: ignore[attr-defined]
            if _distinct(keys):
                return _skeleton(keys, [v for _, v in pairs])
        return lambda ctx: {key(ctx): value(ctx) for key, value in pairs}

    def _Concat(self, node: nodes.Concat) -> Fn:
        parts = [self.expr(n) for n in node.nodes]
        return lambda ctx: "".join([str(p(ctx)) for p in parts])

    def _Test(self, node: nodes.Test) -> Fn:
        function = cast(Callable[..., Any] | None, self.env.tests.get(node.name))
        if function is None or node.dyn_args or node.dyn_kwargs:
            raise OutsideFastPathError(f"test {node.name}")
        return self._call(function, node)

    def _Call(self, node: nodes.Call) -> Fn:
        # only mapping.get(key[, default]), the one method templates need
        target = node.node
        if not (isinstance(target, nodes.Getattr) and target.attr == "get") or node.kwargs or node.dyn_args:
            raise OutsideFastPathError("call")
        if node.dyn_kwargs or not 1 <= len(node.args) <= 2:
            raise OutsideFastPathError("get arity")
        mapping = self.expr(target.node)
        args = [self.expr(a) for a in node.args]
        if _is_constant(mapping) and type(mapping.constant) is dict:  # type: ignore[attr-defined]
            table = mapping.constant  # type: ignore[attr-defined]  # ``{'otp': ..., 'passkey': ...}.get(method)``
            if len(args) == 1:
                key = args[0]
                return lambda ctx: table.get(key(ctx))
            key, default = args
            return lambda ctx: table.get(key(ctx), default(ctx))

        def get(ctx: dict[str, Any]) -> Any:
            container = mapping(ctx)
            values = [a(ctx) for a in args]
            if type(container) is dict:
                return container.get(*values)
            if type(container) in PLAIN_TYPES or isinstance(container, Undefined):
                # the sandbox finds no ``get`` and calls the undefined it got instead
                raise UndefinedError(f"{type(container).__name__} object has no attribute 'get'")
            raise HandOverError

        return get

    def _Filter(self, node: nodes.Filter) -> Fn:
        name = node.name
        function = self.env.filters.get(name)
        if function is None or node.dyn_args or node.dyn_kwargs:
            raise OutsideFastPathError(f"filter {name}")
        if any(k.key == "attribute" for k in node.kwargs) or len(node.args) > _ATTRIBUTE_ARGUMENT.get(name, 99):
            raise OutsideFastPathError("attribute lookups in filters")  # the sandbox's getattr on any object
        if name in _LAZY and id(node) not in self.consumed:
            raise OutsideFastPathError(f"{name} whose result is not consumed")
        if name == "map":
            mapped = node.args[0] if node.args else None
            if not (isinstance(mapped, nodes.Const) and isinstance(mapped.value, str)) or (
                mapped.value not in self.env.filters or mapped.value in _LAZY
            ):
                raise OutsideFastPathError("map takes the name of a filter that gives a value")
        if name in _CONSUMERS and isinstance(node.node, nodes.Filter):
            self.consumed.add(id(node.node))
        constant = all(isinstance(a, nodes.Const) for a in node.args) and all(
            isinstance(k.value, nodes.Const) for k in node.kwargs
        )
        if constant and name == "map":
            return self._map(node)
        if constant and name in ("select", "reject") and (not node.args or _named(node.args[0], self.env.tests)):
            return self._select(node, name == "select")
        return self._call(_SYNC.get(function, function), node)

    def callee(self, node: nodes.Filter | nodes.Test) -> tuple[Callable[..., Any], Any] | None:
        """For a filter or test (already compiled by this compiler) that its closure calls as
        ``function([prefix,] value, *args, **kwargs)``: the function and the prefix (``NO_PREFIX``
        for none); None for ``map``, ``select``, ``reject`` and ``unique``, which give generators."""
        if isinstance(node, nodes.Test):
            function = cast(Callable[..., Any], self.env.tests[node.name])
        elif node.name in _LAZY:
            return None
        else:
            function = self.env.filters[node.name]
            function = _SYNC.get(function, function)
        return function, self._prefix(function)

    def _map(self, node: nodes.Filter) -> Fn:
        """``map('name', ...)`` with constant arguments: Jinja2's ``do_map`` without a lookup of the
        filter per item (the same generator, the same calls)."""
        inner = self.expr(_operand(node))
        function: Callable[..., Any] = self.env.filters[_const(node.args[0])]
        function = _SYNC.get(function, function)
        prefix = self._prefix(function)
        leading = () if prefix is NO_PREFIX else (prefix,)
        fixed, fixed_kwargs = self._constant_arguments(node)

        def mapped(value: Any) -> Any:
            if value:
                for item in value:
                    yield function(*leading, item, *fixed, **fixed_kwargs)

        return lambda ctx: mapped(inner(ctx))

    def _select(self, node: nodes.Filter, keep: bool) -> Fn:
        """``select``/``reject`` with no test or a known one: Jinja2's ``select_or_reject`` without a
        lookup of the test per item."""
        inner = self.expr(_operand(node))
        if not node.args and not node.kwargs:

            def truthy(value: Any) -> Any:
                if value:
                    for item in value:
                        if bool(item) is keep:
                            yield item

            return lambda ctx: truthy(inner(ctx))
        function = cast(Callable[..., Any], self.env.tests[_const(node.args[0])])
        prefix = self._prefix(function)
        leading = () if prefix is NO_PREFIX else (prefix,)
        fixed, fixed_kwargs = self._constant_arguments(node)

        def tested(value: Any) -> Any:
            if value:
                for item in value:
                    if bool(function(*leading, item, *fixed, **fixed_kwargs)) is keep:
                        yield item

        return lambda ctx: tested(inner(ctx))

    def _constant_arguments(self, node: nodes.Filter) -> tuple[list[Any], dict[str, Any]]:
        """The arguments after the first of a filter whose arguments are all constants."""
        fixed = [_value_of(self._Const(cast(nodes.Const, a))) for a in node.args[1:]]
        named = {str(k.key): _value_of(self._Const(cast(nodes.Const, k.value))) for k in node.kwargs}
        return fixed, named

    def _call(self, function: Callable[..., Any], node: nodes.Filter | nodes.Test) -> Fn:
        """``function([prefix,] value, *args, **kwargs)``: value first, then the arguments, as Jinja2 does."""
        prefix = self._prefix(function)
        inner = self.expr(_operand(node))
        args = [self.expr(a) for a in node.args]
        kwargs = [(str(k.key), self.expr(k.value)) for k in node.kwargs]
        if all(_is_constant(a) for a in args) and all(_is_constant(v) for _, v in kwargs):
            fixed = [_value_of(a) for a in args]
            fixed_kwargs = {k: _value_of(v) for k, v in kwargs}
            if prefix is NO_PREFIX:
                if not fixed and not fixed_kwargs:
                    return lambda ctx: function(inner(ctx))
                return lambda ctx: function(inner(ctx), *fixed, **fixed_kwargs)
            if not fixed and not fixed_kwargs:
                return lambda ctx: function(prefix, inner(ctx))
            return lambda ctx: function(prefix, inner(ctx), *fixed, **fixed_kwargs)
        leading = () if prefix is NO_PREFIX else (prefix,)
        return lambda ctx: function(*leading, inner(ctx), *[a(ctx) for a in args], **{k: v(ctx) for k, v in kwargs})


# The nodes whose code Jinja2 generates after constant-folding them (and everything under them);
# a list, tuple or dict literal, a name or a constant is written as it is, its members folded one
# by one. Folding a whole literal can give another answer (``{1: (false)[1:], 1: 'x'}`` folds to
# ``{1: 'x'}``, where running it raises), so the fast path folds exactly where Jinja2 does.
_FOLDED = (
    nodes.BinExpr,
    nodes.UnaryExpr,
    nodes.Concat,
    nodes.Compare,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Filter,
    nodes.Test,
    nodes.CondExpr,
    nodes.Call,
)


def _fold(node: nodes.Node, env: Environment) -> Any:
    """Jinja2's constant folding, applied where its code generator applies it; where folding itself
    fails (a constant dict with an unhashable key), the sandbox's compiler says so."""
    if isinstance(node, _FOLDED):
        try:
            return Optimizer(env).visit(node, nodes.EvalContext(env))
        except Exception as exc:
            raise OutsideFastPathError(f"constant folding fails: {exc}") from None
    for field, child in node.iter_fields():
        if isinstance(child, nodes.Node):
            setattr(node, field, _fold(child, env))
        elif isinstance(child, list):
            setattr(node, field, [_fold(c, env) if isinstance(c, nodes.Node) else c for c in child])
    return node


def parse_expression(env: Environment, source: str) -> nodes.Expr | None:
    """The parse tree of an expression as ``Environment.compile_expression`` parses it, or None
    when that fails (the sandbox's compiler then says why)."""
    try:
        parser = Parser(env, source, state="variable")
        node = parser.parse_expression()
        if not parser.stream.eos:
            return None
    except TemplateError:
        return None
    node.set_environment(env)
    return node


def path_of(node: nodes.Expr | None) -> tuple[str, ...] | None:
    """``("actor", "email")`` for ``actor.email``: a plain lookup, the commonest expression."""
    keys = []
    while isinstance(node, nodes.Getattr):
        keys.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name) or not all(_member_name(k) for k in keys):
        return None
    return (node.name, *reversed(keys))


def compile_expression(env: Environment, node: nodes.Expr) -> tuple[Fn, nodes.Expr] | None:
    """Closures for a parsed expression and the tree they were compiled from (constant-folded), or
    None when it needs the sandbox."""
    try:
        folded = _fold(node, env)
        return Compiler(env).expr(folded), folded
    except OutsideFastPathError:
        return None


def compile_payload(env: Environment, node: nodes.Expr) -> tuple[Fn, bool, nodes.Expr] | None:
    """``compile_expression`` for a value that goes into a payload: closures, whether their
    containers are already as ``clean`` leaves them (see ``Compiler.payload``), and the tree they
    were compiled from (constant-folded)."""
    try:
        folded = _fold(node, env)
        fast, built = Compiler(env).payload(folded)
    except OutsideFastPathError:
        return None
    return fast, built, folded


def compile_text(env: Environment, source: str) -> Fn | None:
    """Closures for text with ``{{ }}`` expressions in it (no ``{% %}`` blocks), or None."""
    try:
        tree = env.parse(source)
    except TemplateError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    compiler = Compiler(env)
    eval_ctx = nodes.EvalContext(env)
    parts: list[Fn] = []
    try:
        for node in tree.body[0].nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(_constant(node.data))
                continue
            try:
                # Jinja2 writes a part whose value it can work out when compiling into the text as
                # it is (a failure here means the part runs when rendered)
                text = str(node.as_const(eval_ctx))
            except Exception:
                parts.append(compiler.expr(_fold(node, env)))
            else:
                parts.append(_constant(text))
    except OutsideFastPathError:
        return None
    return lambda ctx: "".join([str(p(ctx)) for p in parts])


def absent(value: Any) -> bool:
    """Nothing to put in a payload: null or undefined."""
    return value is None or isinstance(value, Undefined)


_SCALARS = frozenset({str, int, float, bool})
_WHOLE = frozenset({str, int, bool})  # what a literal built for the payload takes as it is


def carried(value: Any) -> Any:
    """A value as a payload carries it: a container as ``clean`` leaves it, and no float in it NaN
    or infinite (JSON has neither): a rendered payload holds none, so encoding it need not look
    (``encoding.event_json``). Values built for the payload hold none already."""
    if type(value) is float:
        if math.isfinite(value):
            return value
    else:
        value = clean(value)
        if type(value) not in (dict, list) or finite(value):
            return value
    raise ValueError("a number JSON cannot carry (NaN or infinity)")


def _is_clean(value: Any) -> bool:
    """``clean`` would give back an equal value: no absent member anywhere, no tuple."""
    kind = type(value)
    if kind is dict:
        members: Any = value.values()
    elif kind is list:
        members = value
    else:
        return not isinstance(value, dict | list | tuple)
    for member in members:  # a loop, not all(): this runs for every container a payload gets
        if type(member) in _SCALARS:
            continue
        if member is None or isinstance(member, Undefined) or not _is_clean(member):
            return False
    return True


def clean(value: Any) -> Any:
    """A container as it may go into a payload: no null or undefined members; tuples become lists.

    A value with nothing to drop or convert is returned as it is (payload values are read-only),
    so the context's own containers and what the fast path built clean cost a walk, not a copy.
    """
    if _is_clean(value):
        return value
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if not absent(v)}
    return [clean(v) for v in value if not absent(v)]
