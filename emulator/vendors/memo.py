"""Template parts rendered once per distinct input: the "generate actors once" rule, applied to
what templates build from them.

A part of a template that reads only stable context (the actor, the client, the realm, ...; see
``templates.STABLE``) gives the same value for the same inputs, so it is rendered once per
distinct combination and the value reused (rendered values are read-only). Inputs are told apart
by which objects they are (an entry holds them, so no id is reused while it lives) and numbers and
texts by value with their type (1, 1.0 and True differ; a time computed anew is the same time).
``codegen.py`` writes the same rule inline for the parts it generates, in caches of their own.
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

from emulator.vendors.parts import Renderer

MEMO_SIZE = 256  # entries per part; a full cache starts again (a run's actors are few)
# A name the context does not have: a key of its own, told apart from one that holds None (the two
# render differently: an undefined name as nothing, None as "None"). Not ``expressions.MISSING``,
# the undefined an expression's lookup gives.
ABSENT: Any = object()
SCALARS = frozenset({str, int, float, bool})  # keyed by value and type; anything else by identity
# One cache per distinct template part and path, shared by every template that contains it (the
# FusionAuth user object appears in most of its templates through $extends).
_CACHES: dict[str, dict[Any, tuple[Any, Any]]] = {}
# stable names that always hold a mapping (or nothing): a part reading only one of them is keyed by
# that object alone
OBJECTS = frozenset(
    {"actor", "before", "client", "realm", "tenant", "account", "registration", "params", "features", "device"}
    | {"session", "let"}
)


def cache(signature: str) -> dict[Any, tuple[Any, Any]]:
    """The cache of the parts written as ``signature``: key -> (the values keyed, the rendered value)."""
    return _CACHES.setdefault(signature, {})


def keyed_by_object(names: tuple[str, ...]) -> bool:
    """A part that reads one name that always holds a mapping is keyed by that object alone."""
    return len(names) == 1 and names[0] in OBJECTS


def memoized(render: Renderer, names: tuple[str, ...], signature: str) -> Renderer:
    """``render``, called once per distinct value of the context's ``names``."""
    cache_ = cache(signature)
    if keyed_by_object(names):
        return _memoized_on(render, names[0], cache_)

    def run(ctx: dict[str, Any]) -> Any:
        values = tuple(map(ctx.get, names, repeat(ABSENT)))
        # objects by identity (an entry holds them, so no id is reused while it lives); numbers and
        # texts by value, with their type (1, 1.0 and True differ): a time computed anew is the same
        key = tuple([(type(v), v) if type(v) in SCALARS else id(v) for v in values])
        hit = cache_.get(key)
        if hit is not None:
            return hit[1]
        if len(cache_) >= MEMO_SIZE:
            cache_.clear()
        value = render(ctx)
        cache_[key] = (values, value)
        return value

    return run


def _memoized_on(render: Renderer, name: str, cache: dict[Any, tuple[Any, Any]]) -> Renderer:
    def run(ctx: dict[str, Any]) -> Any:
        value = ctx.get(name, ABSENT)
        hit = cache.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        if len(cache) >= MEMO_SIZE:
            cache.clear()
        result = render(ctx)
        cache[id(value)] = (value, result)  # holding the object keeps its id from being reused
        return result

    return run
