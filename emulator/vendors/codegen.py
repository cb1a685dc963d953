"""Templates as generated Python: one function per template part, with the plain renderer's answers.

The plain renderer (``Part.render``, see ``parts.py``) is a tree of closures: a mapping calls one
closure per member, a member its expression's closure, and so on; those calls are most of a
render's time. This module writes each part that renders as a whole (a template, a memoized part)
as the source of one Python function: mappings and lists are built in place, ``$if`` is an
``if``, and the commonest expression, a lookup such as ``actor.email``, is read inline for the
values it usually finds (a text, a number, a truth value, nothing). Every other expression, and
every case the inline code does not settle (a member of something that is not a mapping, a text
over the size limit, a container), calls the plain part's own renderer. So the generated code
either gives what the plain renderer gives or asks it; tests/vendors/test_codegen_equivalence.py
compares the two on generated templates and contexts.

Nothing from a template reaches the source as code: mapping keys and context names are written
as Python string literals (``repr``), and every other value and renderer is a name bound in the
functions' namespace.
"""

from __future__ import annotations

from typing import Any

from emulator.vendors.expressions import INT_BOUND, MAX_TEXT
from emulator.vendors.memo import memoized
from emulator.vendors.parts import OMIT, Conditional, Const, Leaf, Let, Mapping, Memo, Part, Renderer, Sequence, Split

# A lookup that met something other than a mapping on its way: the plain renderer decides.
_HAND_OVER: Any = object()
# ``$if`` mappings nested deeper than this in one function start a function of their own (Python
# allows 20 nested blocks in one).
_DEPTH = 8
# Generated parts memoize in caches of their own: the plain renderer's stay its own.
CACHE_PREFIX = "generated:"
_INLINE = (str, bool, int)  # constants written as literals; the rest are bound names


class _Writer:
    """Writes the functions for one template into one namespace."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"OMIT": OMIT, "HAND_OVER": _HAND_OVER, "MAX_TEXT": MAX_TEXT}
        self.namespace["INT_BOUND"] = INT_BOUND
        self.sources: list[str] = []
        self.memos: list[tuple[str, str, Memo]] = []  # (wrapper name, function name, shape)
        self.count = 0

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def bind(self, value: Any, prefix: str) -> str:
        name = self.fresh(prefix)
        self.namespace[name] = value
        return name

    def literal(self, value: Any) -> str:
        if type(value) in _INLINE:
            return repr(value)
        return "OMIT" if value is OMIT else self.bind(value, "c")

    def function(self, part: Part) -> str:
        """The name of a generated function that renders ``part``."""
        name = self.fresh("part")
        lines: list[str] = []
        result = self.value(part, lines, "    ", 0)
        self.sources.append(f"def {name}(ctx):\n" + "".join(f"{line}\n" for line in lines) + f"    return {result}\n")
        return name

    def value(self, part: Part, out: list[str], pad: str, depth: int) -> str:
        """Statements that render ``part`` (appended to ``out``), and the expression for its value."""
        shape = part.shape
        if isinstance(shape, Const):
            return self.literal(shape.value)
        if isinstance(shape, Leaf):
            return self.leaf(part, shape, out, pad)
        if isinstance(shape, Memo):
            wrapper = self.fresh("memo")
            self.memos.append((wrapper, self.function(shape.inner), shape))
            return self.call(wrapper, out, pad)
        if isinstance(shape, Mapping):
            return self.mapping(shape.keys, shape.members, None, None, out, pad, depth)
        if isinstance(shape, Split):
            shared = self.value(shape.shared, out, pad, depth)
            return self.mapping(shape.keys, shape.members, shape.steady, shared, out, pad, depth)
        if isinstance(shape, Sequence):
            return self.sequence(shape, out, pad, depth)
        if isinstance(shape, Conditional):
            if depth >= _DEPTH:
                return self.call(self.function(part), out, pad)
            return self.conditional(shape, out, pad, depth)
        assert isinstance(shape, Let)
        names = self.value(shape.names, out, pad, depth)
        out.append(f"{pad}ctx['let'] = {{}} if {names} is OMIT else {names}")
        return self.value(shape.body, out, pad, depth)

    def call(self, function: str, out: list[str], pad: str) -> str:
        result = self.fresh("v")
        out.append(f"{pad}{result} = {function}(ctx)")
        return result

    def leaf(self, part: Part, shape: Leaf, out: list[str], pad: str) -> str:
        plain = self.bind(part.render, "leaf")
        if shape.path is None:
            return self.call(plain, out, pad)
        # a lookup, inline for the values it usually finds: the plain renderer for anything else
        value = self.fresh("v")
        first, *rest = shape.path
        out.append(f"{pad}{value} = ctx.get({first!r})")
        for key in rest:
            out.append(f"{pad}{value} = {value}.get({key!r}) if type({value}) is dict else HAND_OVER")
        out.append(f"{pad}if type({value}) is not str or len({value}) > MAX_TEXT:")
        out.append(f"{pad}    if {value} is None:")
        out.append(f"{pad}        {value} = OMIT")
        out.append(
            f"{pad}    elif type({value}) is not bool and not "
            f"(type({value}) is int and -INT_BOUND < {value} < INT_BOUND):"
        )
        out.append(f"{pad}        {value} = {plain}(ctx)")
        return value

    def mapping(
        self,
        keys: tuple[str, ...],
        members: tuple[Part, ...],
        steady: frozenset[str] | None,
        shared: str | None,
        out: list[str],
        pad: str,
        depth: int,
    ) -> str:
        """A mapping built in template key order; with ``steady``, those members come from ``shared``."""
        result = self.fresh("m")
        out.append(f"{pad}{result} = {{}}")
        for key, member in zip(keys, members, strict=True):
            if isinstance(member.shape, Const):
                if member.shape.value is not OMIT:
                    out.append(f"{pad}{result}[{key!r}] = {self.literal(member.shape.value)}")
                continue
            if steady is not None and key in steady:
                value = self.fresh("v")
                out.append(f"{pad}{value} = OMIT if {shared} is OMIT else {shared}.get({key!r}, OMIT)")
            else:
                value = self.value(member, out, pad, depth)
            out.append(f"{pad}if {value} is not OMIT:")
            out.append(f"{pad}    {result}[{key!r}] = {value}")
        if keys:
            out.append(f"{pad}if not {result}:")
            out.append(f"{pad}    {result} = OMIT")
        return result

    def sequence(self, shape: Sequence, out: list[str], pad: str, depth: int) -> str:
        result = self.fresh("s")
        out.append(f"{pad}{result} = []")
        for item in shape.items:
            if isinstance(item.shape, Const):
                if item.shape.value is not OMIT:
                    out.append(f"{pad}{result}.append({self.literal(item.shape.value)})")
                continue
            value = self.value(item, out, pad, depth)
            out.append(f"{pad}if {value} is not OMIT:")
            out.append(f"{pad}    {result}.append({value})")
        if shape.items:
            out.append(f"{pad}if not {result}:")
            out.append(f"{pad}    {result} = OMIT")
        return result

    def conditional(self, shape: Conditional, out: list[str], pad: str, depth: int) -> str:
        result = self.fresh("v")
        held = self.value(shape.test, out, pad, depth)
        out.append(f"{pad}if {held} is not OMIT and {held}:")
        inner = self.value(shape.inner, out, pad + "    ", depth + 1)
        out.append(f"{pad}    {result} = {inner}")
        out.append(f"{pad}else:")
        out.append(f"{pad}    {result} = OMIT")
        return result


def generate(part: Part) -> Renderer | None:
    """A generated function with ``part.render``'s answers, or None where the plain renderer is
    as good (a constant) or the source cannot be made (nested beyond Python's limits)."""
    if isinstance(part.shape, Const):
        return None
    writer = _Writer()
    try:
        root = writer.function(part)
        code = compile("\n".join(writer.sources), "<template>", "exec")
    except (RecursionError, MemoryError, SyntaxError):
        return None
    namespace = writer.namespace
    exec(code, namespace)  # our own source: template values are bound names, keys are literals
    for wrapper, function, shape in writer.memos:
        namespace[wrapper] = memoized(namespace[function], shape.names, CACHE_PREFIX + shape.signature)
    render: Renderer = namespace[root]
    return render
