"""What a vendor's templates read of an occurrence's context, as paths (``("actor", "email")``).

The player makes a context for every occurrence, with ids a vendor may never show (token ids,
the auth session id): formatting each one as text costs more than drawing it. A vendor whose
templates and catalog rows never reach a value gets it drawn but not formatted (``Player``'s
``reads``), which changes none of its events: the draws are the same, so every id that follows is
too. tests/vendors/test_reads.py renders every vendor both ways and compares.

A path is a name and the members read of it, one by one (``session.tokens.access``); a name read
any other way (passed to a filter, indexed, looped over, written whole) is read whole, which
reaches everything under it. A lookup that only decides (``x if session else y``, ``not a.b``,
``session is defined``) reads whether the value is there and true, which what is under it does
not change: it is kept with a ``TRUTH`` mark. Anything that cannot be read so (a string that
does not parse, a template that is missing) makes the answer "everything".
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from jinja2 import Environment, TemplateError, nodes

from emulator.errors import EmulatorError
from emulator.vendors.expressions import parse_expression, path_of

Path = tuple[str, ...]
Paths = frozenset[Path]


class UnknownReadsError(EmulatorError):
    """A template or expression whose reads cannot be told (the answer is then "everything")."""


TRUTH = "?"  # last in a path read only for its truth (no member is ever named so)
# tests that tell only whether a value is there or is nothing
_TRUTH_TESTS = frozenset({"defined", "undefined", "none"})


def _paths_in(tree: nodes.Node, truth: bool = False) -> Iterator[Path]:
    """The longest member-by-member lookups in ``tree``; a name read any other way, whole; those
    whose value only decides (``truth``), marked."""
    if isinstance(tree, nodes.Name | nodes.Getattr):
        path = path_of(tree)
        if path is not None:
            yield (*path, TRUTH) if truth else path
            return
    if isinstance(tree, nodes.CondExpr):
        yield from _paths_in(tree.test, True)
        yield from _paths_in(tree.expr1, truth)
        if tree.expr2 is not None:
            yield from _paths_in(tree.expr2, truth)
    elif isinstance(tree, nodes.Not):
        yield from _paths_in(tree.node, True)
    elif isinstance(tree, nodes.And):  # ``a and b`` gives ``a`` only when it is false: empty, nothing
        yield from _paths_in(tree.left, True)
        yield from _paths_in(tree.right, truth)
    elif isinstance(tree, nodes.Or) and truth:  # only whether ``a or b`` is true is read: so of each
        yield from _paths_in(tree.left, True)
        yield from _paths_in(tree.right, True)
    elif isinstance(tree, nodes.Test) and tree.name in _TRUTH_TESTS and not tree.args and not tree.kwargs:
        yield from _paths_in(tree.node, True)
    elif isinstance(tree, nodes.If):
        yield from _paths_in(tree.test, True)
        for child in (*tree.body, *tree.elif_, *tree.else_):
            yield from _paths_in(child)
    else:
        for child in tree.iter_child_nodes():
            yield from _paths_in(child)


@functools.lru_cache(maxsize=4096)
def _template_paths(env: Environment, source: str) -> Paths:
    try:
        return frozenset(_paths_in(env.parse(source)))
    except (TemplateError, RecursionError):
        raise UnknownReadsError from None


@functools.lru_cache(maxsize=1024)
def expression_paths(env: Environment, source: str) -> Paths:
    """The paths an expression (a ``when:`` condition) reads."""
    tree = parse_expression(env, source)
    if tree is None:
        raise UnknownReadsError
    return frozenset(_paths_in(tree))


def _strings(node: Any) -> Iterator[str]:
    """Every template string in a JSON-shaped template (keys are written as they are)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str) and ("{{" in node or "{%" in node):
        yield node


def template_paths(env: Environment, node: Any) -> Paths:
    """The paths a JSON-shaped template reads (raises ``UnknownReadsError`` when a string does not parse)."""
    return frozenset().union(*(_template_paths(env, s) for s in _strings(node)))


def reaches(paths: Paths | None, path: Path) -> bool:
    """Whether reading ``paths`` may show what is at ``path``: a path read at it, under it (a
    member of it) or above it (a name read whole shows its members); one read for its truth, only
    at it or under it."""
    if paths is None:
        return True
    for read in paths:
        if read[-1] == TRUTH:
            if read[: len(path)] == path:
                return True
        elif read[: len(path)] == path[: len(read)]:
            return True
    return False
