"""Templates as generated Python: one function per template part, with the plain renderer's answers.

The plain renderer (``Part.render``, see ``parts.py``) is a tree of closures: a mapping calls one
closure per member, a member its expression's closure, and so on; those calls are most of a
render's time. This module writes each part that renders as a whole (a template, a memoized part)
as the source of one Python function: mappings and lists are built in place (a mapping with
several constants from a copy of its skeleton, as the plain renderer builds every one), ``$if`` is an
``if``, a memoized part's cache is read in place (``memo.py``'s rule, in caches of its own), and
the commonest expressions are Python expressions: lookups such as ``actor.email``, constants,
``if``/``else``, ``and``, ``or``, ``not``, a comparison, ``~``, ``+``, ``-`` and ``/``, over the
values they usually meet (a mapping's members; a text, a number, a truth value or nothing as the
result). Filters, tests, items, slices and the operators the sandbox checks are calls, inline,
of the very functions the closures call, with the arguments in the closures' order (``map``,
``select``, ``reject`` and ``unique`` stay closures: they give generators). Every other
expression, and every case the inline code does not settle (a member of something that is not a
mapping, any error, a text over the size limit, a container), calls the plain part's own
renderer. So the generated code either gives what the plain renderer gives or asks it. A
catalog's ``when:`` conditions are generated the same way. tests/vendors/test_codegen_equivalence.py
compares generated and plain on drawn templates, conditions and contexts.

Nothing from a template reaches the source as code: mapping keys and context names are written
as Python string literals (``repr``), and every other value and renderer is a name bound in the
functions' namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import Undefined, nodes

from emulator.errors import EmulatorError
from emulator.vendors.expressions import (
    BOUNDED,
    INT_BOUND,
    MAX_TEXT,
    NO_ELSE,
    NO_PREFIX,
    PLAIN_TYPES,
    Compiler,
    OutsideFastPathError,
    clean,
    path_of,
    sliced,
    subscript,
)
from emulator.vendors.memo import ABSENT, MEMO_SIZE, SCALARS, cache, keyed_by_object
from emulator.vendors.parts import (
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

Condition = Callable[[dict[str, Any]], bool]
# A lookup that met something other than a mapping on its way: the plain renderer decides.
_HAND_OVER: Any = object()
# ``$if`` mappings nested deeper than this in one function start a function of their own (Python
# allows 20 nested blocks in one).
_DEPTH = 8
# Generated parts memoize in caches of their own: the plain renderer's stay its own.
CACHE_PREFIX = "generated:"
_INLINE = (str, bool, int)  # constants written as literals; the rest are bound names
# Jinja2's comparison operators, as Python writes them (the closures call the same operators).
_COMPARE = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "lteq": "<=", "gteq": ">=", "in": "in", "notin": "not in"}


class _NotInlineError(EmulatorError):
    """An expression the inline writer leaves to the plain renderer."""


class _SlowError(EmulatorError):
    """Inline code met a value its closures would look into differently: the plain renderer decides."""


def _slow() -> Any:
    raise _SlowError


_SMALL_INT = "(type({value}) is int and -INT_BOUND < {value} < INT_BOUND)"


_STEADY: Any = object()  # in a run's layout: the member comes from the shared mapping


class Runs:
    """The runs of a split mapping's steady and constant members, as mappings in key order, made once
    per shared value (the memoized part gives the same object until its context changes); up to
    ``MEMO_SIZE`` of them are kept, all let go at once when full, as the memo does. A steady member
    the shared value lacks, and a constant that is left out, are not in its run."""

    __slots__ = ("layouts", "made")

    def __init__(self, layouts: tuple[tuple[tuple[str, Any], ...], ...]) -> None:
        self.layouts = layouts
        self.made: dict[int, tuple[Any, tuple[dict[str, Any], ...]]] = {}

    def __call__(self, shared: Any) -> tuple[dict[str, Any], ...]:
        hit = self.made.get(id(shared))
        if hit is not None and hit[0] is shared:
            return hit[1]
        runs = tuple(self._run(layout, shared) for layout in self.layouts)
        if len(self.made) >= MEMO_SIZE:
            self.made.clear()
        self.made[id(shared)] = (shared, runs)  # the shared value held: its id cannot be reused meanwhile
        return runs

    @staticmethod
    def _run(layout: tuple[tuple[str, Any], ...], shared: Any) -> dict[str, Any]:
        run: dict[str, Any] = {}
        for key, value in layout:
            if value is _STEADY:
                value = OMIT if shared is OMIT else shared.get(key, OMIT)
            if value is not OMIT:
                run[key] = value
        return run


class _Writer:
    """Writes the functions for one template into one namespace."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"OMIT": OMIT, "NULL": NULL, "HAND_OVER": _HAND_OVER, "MAX_TEXT": MAX_TEXT}
        self.namespace["ABSENT"] = ABSENT
        self.namespace["INT_BOUND"] = INT_BOUND
        self.namespace["SLOW"] = _slow
        self.namespace["MEMO_SIZE"] = MEMO_SIZE
        self.namespace["SCALARS"] = SCALARS
        self.namespace["PLAIN_TYPES"] = PLAIN_TYPES
        self.sources: list[str] = []
        self.count = 0
        self.present: set[str] = set()  # names of values that are never OMIT (a mapping with a constant)
        # per function being written, innermost last: the context names it reads, each once, into a
        # local of its own at its start (``let`` excepted: a template's ``$let`` sets it on the way)
        self.reads: list[dict[str, str]] = []

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
        self.reads.append({})
        result = self.value(part, lines, "    ", 0)
        reads = [f"    {local} = ctx.get({key!r}, ABSENT)\n" for key, local in self.reads.pop().items()]
        body = "".join(reads) + "".join(f"{line}\n" for line in lines)
        self.sources.append(f"def {name}(ctx):\n{body}    return {result}\n")
        return name

    def read(self, key: str) -> str | None:
        """The local holding the context's ``key`` (ABSENT when it has none), read once at the start
        of the function being written; None outside one, or for ``let``."""
        if not self.reads or key == "let":
            return None
        return self.reads[-1].setdefault(key, self.fresh("n"))

    def value(self, part: Part, out: list[str], pad: str, depth: int) -> str:
        """Statements that render ``part`` (appended to ``out``), and the expression for its value."""
        shape = part.shape
        if isinstance(shape, Const):
            return self.literal(shape.value)
        if isinstance(shape, Leaf):
            return self.leaf(part, shape, out, pad)
        if isinstance(shape, Memo):
            return self.memo(shape, out, pad)
        if isinstance(shape, Mapping):
            return self.mapping(shape.keys, shape.members, out, pad, depth)
        if isinstance(shape, Split):
            shared = self.value(shape.shared, out, pad, depth)
            return self.split(shape, shared, out, pad, depth)
        if isinstance(shape, Sequence):
            return self.sequence(shape, out, pad, depth)
        if isinstance(shape, Conditional):
            if depth >= _DEPTH:
                return self.call(self.function(part), out, pad)
            return self.conditional(shape, out, pad, depth)
        if isinstance(shape, Kept):
            kept = self.fresh("v")  # a name of its own: the inner value may be a bound constant
            out.append(f"{pad}{kept} = {self.value(shape.inner, out, pad, depth)}")
            out.append(f"{pad}if {kept} is OMIT:")
            out.append(f"{pad}    {kept} = []")
            self.present.add(kept)
            return kept
        assert isinstance(shape, Let)
        names = self.value(shape.names, out, pad, depth)
        out.append(f"{pad}ctx['let'] = {{}} if {names} is OMIT else {names}")
        return self.value(shape.body, out, pad, depth)

    def memo(self, shape: Memo, out: list[str], pad: str) -> str:
        """The rule of ``memo.memoized``, inline, in a cache of its own: the inner part is a function
        called on a miss."""
        entries = self.bind(cache(CACHE_PREFIX + shape.signature), "cache")
        inner = self.function(shape.inner)
        values = [self.fresh("k") for _ in shape.names]
        for value, name in zip(values, shape.names, strict=True):
            local = self.read(name)  # ABSENT for a name the context lacks: a key of its own
            out.append(f"{pad}{value} = {local if local else f'ctx.get({name!r}, ABSENT)'}")
        result, hit = self.fresh("v"), self.fresh("hit")
        if keyed_by_object(shape.names):
            (value,) = values
            out.append(f"{pad}{hit} = {entries}.get(id({value}))")
            out.append(f"{pad}if {hit} is not None and {hit}[0] is {value}:")
            key, held = f"id({value})", value
        else:
            key = self.fresh("key")
            parts = "".join(f"(type({v}), {v}) if type({v}) in SCALARS else id({v}), " for v in values)
            out.append(f"{pad}{key} = ({parts})")
            held = "(" + "".join(f"{v}, " for v in values) + ")"
            out.append(f"{pad}{hit} = {entries}.get({key})")
            out.append(f"{pad}if {hit} is not None:")
        out.append(f"{pad}    {result} = {hit}[1]")
        out.append(f"{pad}else:")
        out.append(f"{pad}    if len({entries}) >= MEMO_SIZE:")
        out.append(f"{pad}        {entries}.clear()")
        out.append(f"{pad}    {result} = {inner}(ctx)")
        out.append(f"{pad}    {entries}[{key}] = ({held}, {result})")
        return result

    def call(self, function: str, out: list[str], pad: str) -> str:
        result = self.fresh("v")
        out.append(f"{pad}{result} = {function}(ctx)")
        return result

    def leaf(self, part: Part, shape: Leaf, out: list[str], pad: str) -> str:
        plain = self.bind(part.render, "leaf")
        value = self.fresh("v")
        if shape.path is not None:
            # a lookup, inline for the values it usually finds: the plain renderer for anything else
            first, *rest = shape.path
            local = self.read(first)
            # a name the context lacks: ABSENT, handed to the plain renderer (as anything but a text)
            out.append(f"{pad}{value} = {local if local else f'ctx.get({first!r}, ABSENT)'}")
            for key in rest:
                # past a value of a plain type other than a mapping the member is missing: None, so
                # OMIT at the end, as the plain lookup answers (``vars.idp.id`` with no idp)
                out.append(
                    f"{pad}{value} = {value}.get({key!r}) if type({value}) is dict"
                    f" else (None if type({value}) in PLAIN_TYPES else HAND_OVER)"
                )
            # a text is sent as it is found (a "$null" in the context too: only a template writes null)
            out.append(f"{pad}if type({value}) is not str or len({value}) > MAX_TEXT:")
            out.append(f"{pad}    if {value} is None:")
            out.append(f"{pad}        {value} = OMIT")
            out.append(f"{pad}    elif type({value}) is not bool and not {_SMALL_INT.format(value=value)}:")
            out.append(f"{pad}        {value} = {plain}(ctx)")
            return value
        try:
            if shape.tree is None or shape.tree.environment is None:
                raise _NotInlineError
            inline = self.expression(shape.tree, True)
        except _NotInlineError:
            return self.call(plain, out, pad)
        # one expression the closures run, inline: any error, or a value other than a text, a
        # truth value, a number that fits, a container or nothing, and the plain renderer decides
        undefined = self.bind(frozenset({shape.tree.environment.undefined, Undefined}), "undefined")
        out.append(f"{pad}try:")
        out.append(f"{pad}    {value} = {inline}")
        out.append(f"{pad}except Exception:")
        out.append(f"{pad}    {value} = {plain}(ctx)")
        out.append(f"{pad}else:")
        out.append(f"{pad}    if type({value}) is not str or len({value}) > MAX_TEXT or {value} == NULL:")
        out.append(f"{pad}        if {value} is None or type({value}) in {undefined}:")
        out.append(f"{pad}            {value} = OMIT")
        out.append(f"{pad}        elif type({value}) is str and {value} == NULL:")
        out.append(f"{pad}            {value} = None  # the vendor's null")
        out.append(f"{pad}        elif type({value}) is dict or type({value}) is list:")
        if shape.built:
            out.append(f"{pad}            pass")
        else:
            out.append(f"{pad}            {value} = {self.bind(shape.finish, 'finish')}({value})")
        out.append(f"{pad}        elif type({value}) is not bool and not {_SMALL_INT.format(value=value)}:")
        out.append(f"{pad}            {value} = {plain}(ctx)")
        return value

    def expression(self, node: nodes.Node, payload: bool) -> str:
        """A Python expression with the value the closures compute for ``node`` (a constant-folded
        Jinja2 tree): lookups, constants, ``if``/``else``, ``and``, ``or``, ``not``, one comparison,
        ``~`` and arithmetic are written out, filters, tests and items are calls of the closures' own
        functions, anything else is the closure the plain renderer builds for it. ``payload``:
        the plain renderer builds this node for the payload (``Compiler.payload``), not as a value."""
        if isinstance(node, nodes.Const):
            if type(node.value) in _INLINE or node.value is None:
                return repr(node.value)
            return self.bind(clean(node.value) if payload else node.value, "c")  # the closures' very object
        if isinstance(node, nodes.Name | nodes.Getattr) and path_of(node) is not None:
            return self.lookup(node)
        if isinstance(node, nodes.CondExpr):
            test = self.expression(node.test, False)
            then = self.expression(node.expr1, payload)
            otherwise = self.expression(node.expr2, payload) if node.expr2 is not None else self.bind(NO_ELSE, "c")
            return f"({then} if {test} else {otherwise})"
        if isinstance(node, nodes.And | nodes.Or):
            word = "and" if isinstance(node, nodes.And) else "or"
            return f"({self.expression(node.left, False)} {word} {self.expression(node.right, payload)})"
        if isinstance(node, nodes.Not):
            return f"(not {self.expression(node.node, False)})"
        if isinstance(node, nodes.Compare) and len(node.ops) == 1:
            operand = node.ops[0]
            left, right = self.expression(node.expr, False), self.expression(operand.expr, False)
            return f"({left} {_COMPARE[operand.op]} {right})"
        if isinstance(node, nodes.Concat):
            texts = (self.text(n) for n in node.nodes)
            return f'"".join(({"".join(f"{t}, " for t in texts)}))'
        if isinstance(node, nodes.Add | nodes.Sub | nodes.Div):
            left, right = self.expression(node.left, False), self.expression(node.right, False)
            return f"({left} {node.operator} {right})"
        if isinstance(node, nodes.Neg | nodes.Pos):
            return f"({node.operator}{self.expression(node.node, False)})"
        if isinstance(node, nodes.Mul | nodes.FloorDiv | nodes.Mod | nodes.Pow):
            left, right = self.expression(node.left, False), self.expression(node.right, False)
            return f"{self.bind(BOUNDED[type(node)], 'op')}({left}, {right})"
        if isinstance(node, nodes.Getitem):
            return self.subscript(node)
        if isinstance(node, nodes.Filter | nodes.Test):
            return self.filter(node, payload)
        return self.closure(node, payload)

    def text(self, node: nodes.Node) -> str:
        """``str()`` of a part of ``a ~ b`` (a constant text as it is)."""
        if isinstance(node, nodes.Const) and type(node.value) is str:
            return repr(node.value)
        return f"str({self.expression(node, False)})"

    def compiled(self, node: nodes.Node, payload: bool) -> Compiler:
        """The compiler that made ``node``'s closures: it refused what they refuse (what is written
        inline is only what the closures accept)."""
        if node.environment is None:
            raise _NotInlineError
        compiler = Compiler(node.environment)
        try:
            compiler.payload(node) if payload else compiler.expr(node)
        except OutsideFastPathError:
            raise _NotInlineError from None
        return compiler

    def subscript(self, node: nodes.Getitem) -> str:
        """``a[key]`` and ``a[start:stop:step]`` as the closures compute them, with the same helpers."""
        compiler = self.compiled(node, False)
        value = self.expression(node.node, False)
        if isinstance(node.arg, nodes.Slice):
            bounds = (node.arg.start, node.arg.stop, node.arg.step)
            start, stop, step = ("None" if b is None else self.expression(b, False) for b in bounds)
            return f"{self.bind(sliced, 'sliced')}({value}, {start}, {stop}, {step})"
        key = self.expression(node.arg, False)
        undefined = self.bind(compiler.item_undefined(node), "undefined")
        return f"{self.bind(subscript, 'item')}({value}, {key}, {undefined})"

    def filter(self, node: nodes.Filter | nodes.Test, payload: bool) -> str:
        """A filter or test as the call its closure makes: the value first, then the arguments, in
        the closure's order; one that gives a generator, or a literal the payload builds its own
        way, is its closure."""
        compiler = self.compiled(node, payload)
        callee = compiler.callee(node)
        if callee is None or (payload and compiler.selected_literal(node)):
            return self.closure(node, payload)
        function, prefix = callee
        if node.node is None:  # a filter block (refused by the compiler already)
            raise _NotInlineError
        values = [] if prefix is NO_PREFIX else [self.bind(prefix, "prefix")]
        values.append(self.expression(node.node, False))
        values.extend(self.expression(a, False) for a in node.args)
        if node.kwargs:
            named = "".join(f"{k.key!r}: {self.expression(k.value, False)}, " for k in node.kwargs)
            values.append(f"**{{{named}}}")
        return f"{self.bind(function, 'filter')}({', '.join(values)})"

    def closure(self, node: nodes.Node, payload: bool) -> str:
        """A call of the closure the plain renderer builds for ``node`` (the same compiler, the same
        node: the same closure)."""
        if node.environment is None:
            raise _NotInlineError
        compiler = Compiler(node.environment)
        try:
            function = compiler.payload(node)[0] if payload else compiler.expr(node)
        except OutsideFastPathError:
            raise _NotInlineError from None
        return f"{self.bind(function, 'closure')}(ctx)"

    def lookup(self, node: nodes.Name | nodes.Getattr) -> str:
        """``a`` or ``a.b.c`` as the closures read them: a mapping's member or Jinja2's undefined;
        a member of anything but a mapping is left to the plain renderer."""
        keys = path_of(node)
        if keys is None or node.environment is None:
            raise _NotInlineError
        make = node.environment.undefined
        if isinstance(node, nodes.Name):
            undefined = self.bind(make(name=node.name), "undefined")
        else:
            undefined = self.bind(make(hint=f"{'.'.join(keys)!r} is undefined"), "undefined")
        first, *rest = keys
        local = self.read(first)
        code = f"({undefined} if {local} is ABSENT else {local})" if local else f"ctx.get({first!r}, {undefined})"
        for key in rest:
            held = self.fresh("t")
            code = f"({held}.get({key!r}, {undefined}) if type({held} := {code}) is dict else SLOW())"
        return code

    def mapping(self, keys: tuple[str, ...], members: tuple[Part, ...], out: list[str], pad: str, depth: int) -> str:
        """A mapping built in template key order. One with constants in it is never empty, and one with
        several starts as a copy of its skeleton (the constants in place, the other keys holding
        theirs until filled or removed)."""
        result = self.fresh("m")
        fixed = {k: m.shape.value for k, m in zip(keys, members, strict=True) if isinstance(m.shape, Const)}
        present = [k for k, v in fixed.items() if v is not OMIT]
        skeleton = len(present) >= 2
        if skeleton:
            layout = {k: fixed.get(k) for k in keys if fixed.get(k) is not OMIT}
            out.append(f"{pad}{result} = {self.bind(layout, 'skeleton')}.copy()")
        else:
            out.append(f"{pad}{result} = {{}}")
        for key, member in zip(keys, members, strict=True):
            if isinstance(member.shape, Const):
                if member.shape.value is not OMIT and not skeleton:
                    out.append(f"{pad}{result}[{key!r}] = {self.literal(member.shape.value)}")
                continue
            value = self.value(member, out, pad, depth)
            if value in self.present:
                out.append(f"{pad}{result}[{key!r}] = {value}")
                continue
            out.append(f"{pad}if {value} is not OMIT:")
            out.append(f"{pad}    {result}[{key!r}] = {value}")
            if skeleton:
                out.append(f"{pad}else:")
                out.append(f"{pad}    del {result}[{key!r}]")
        if present or not keys:
            self.present.add(result)
        else:
            out.append(f"{pad}if not {result}:")
            out.append(f"{pad}    {result} = OMIT")
        return result

    def split(self, shape: Split, shared: str, out: list[str], pad: str, depth: int) -> str:
        """A mapping most of whose members come from the memoized ``shared``: each run of those and of
        constants between two changing members is added whole, from mappings made once per shared
        value (``Runs``), and the changing members are rendered in their places, so the keys keep the
        template's order. Copying each member on its own cost a FusionAuth login event 3.6% more
        instructions to render (callgrind: 272,900 against 263,000)."""
        segments: list[int | tuple[str, Part]] = []  # a run's index, or a changing member (key, part)
        layouts: list[tuple[tuple[str, Any], ...]] = []
        run: list[tuple[str, Any]] = []
        for key, member in zip(shape.keys, shape.members, strict=True):
            if isinstance(member.shape, Const) or key in shape.steady:
                run.append((key, member.shape.value if isinstance(member.shape, Const) else _STEADY))
                continue
            if run:
                segments.append(len(layouts))
                layouts.append(tuple(run))
                run = []
            segments.append((key, member))
        if run:
            segments.append(len(layouts))
            layouts.append(tuple(run))
        result, runs = self.fresh("m"), self.fresh("r")
        out.append(f"{pad}{runs} = {self.bind(Runs(tuple(layouts)), 'runs')}({shared})")
        made = False  # whether ``result`` exists yet
        for segment in segments:
            if isinstance(segment, int):
                start = f"{result} = {runs}[{segment}].copy()"
                out.append(f"{pad}{result}.update({runs}[{segment}])" if made else f"{pad}{start}")
                made = True
                continue
            if not made:
                out.append(f"{pad}{result} = {{}}")
                made = True
            key, member = segment
            value = self.value(member, out, pad, depth)
            if value in self.present:
                out.append(f"{pad}{result}[{key!r}] = {value}")
                continue
            out.append(f"{pad}if {value} is not OMIT:")
            out.append(f"{pad}    {result}[{key!r}] = {value}")
        if not made:
            out.append(f"{pad}{result} = {{}}")
        fixed = [m.shape.value for m in shape.members if isinstance(m.shape, Const)]
        if any(v is not OMIT for v in fixed) or not shape.keys:
            self.present.add(result)
        else:
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
            if value in self.present:
                out.append(f"{pad}{result}.append({value})")
                continue
            out.append(f"{pad}if {value} is not OMIT:")
            out.append(f"{pad}    {result}.append({value})")
        if not shape.items or any(isinstance(i.shape, Const) and i.shape.value is not OMIT for i in shape.items):
            self.present.add(result)  # never empty (or an empty list as written)
        else:
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
    render: Renderer = namespace[root]
    return render


def generate_condition(plain: Condition, tree: nodes.Expr | None) -> Condition | None:
    """A ``when:`` condition as generated Python with ``plain``'s answers (``tree``: what its
    closures were compiled from), or None when it is not one the inline writer takes."""
    if tree is None:
        return None
    writer = _Writer()
    try:
        inline = writer.expression(tree, False)
    except _NotInlineError:
        return None
    test = writer.bind(plain, "plain")
    lines = ["def condition(ctx):", "    try:", f"        return bool({inline})", "    except Exception:"]
    source = "\n".join([*lines, f"        return {test}(ctx)", ""])
    try:
        code = compile(source, "<condition>", "exec")
    except (RecursionError, MemoryError, SyntaxError):
        return None
    exec(code, writer.namespace)  # our own source, as for templates
    condition: Condition = writer.namespace["condition"]
    return condition
