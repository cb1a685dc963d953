"""A compiled template as a tree of parts: how each part renders, what it reads, and its shape.

A template compiles into parts (``templates.py``): constants, expressions, mappings, lists, ``$if``
mappings, parts rendered once per distinct input (``memo.py``) and the ``$let`` names. Each part
carries two things: ``render``, the plain renderer made of closures (the reference), and
``shape``, what the part is made of, from which ``codegen.py`` writes one Python function per
part that gives the same answers with fewer calls. Keeping both on one tree means both paths are
built from the same decisions (what is memoized, what is split), so they can only differ in how
they compute, which the property test in tests/vendors/test_codegen_equivalence.py compares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Renderer = Callable[[dict[str, Any]], Any]


class _Omit:
    """The value of a part that comes out as nothing: its key or item is left out of the payload."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()
NULL = "$null"  # a JSON null the vendor does send (Clerk's "external_id": null), as a constant or a result
KEEP = "$keep"  # first in a list: the list stays, empty, when every item is omitted (Clerk's "passkeys": [])


@dataclass(frozen=True, slots=True)
class Const:
    """No expression in it: its value (OMIT for a null) is known when compiled."""

    value: Any


@dataclass(frozen=True, slots=True)
class Leaf:
    """One template string with expressions; ``path`` when it is exactly ``{{ a.b.c }}``. ``tree``
    (constant-folded) when it is one expression the plain renderer runs as closures, with
    ``built`` (its containers come out as ``clean`` leaves them) and ``finish`` (what the plain
    renderer does to any other container it gives)."""

    source: str
    path: tuple[str, ...] | None
    tree: Any = None
    built: bool = False
    finish: Callable[[Any], Any] | None = None


@dataclass(frozen=True, slots=True)
class Mapping:
    """A mapping in template key order; members that come out as nothing are left out."""

    keys: tuple[str, ...]
    members: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Sequence:
    """A list; items that come out as nothing are left out."""

    items: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Conditional:
    """``{"$if": test, ...}``: the mapping when the test holds, else nothing."""

    test: Part
    inner: Part


@dataclass(frozen=True, slots=True)
class Memo:
    """``inner`` rendered once per distinct value of ``names`` (see ``memo.py``); ``signature``
    names its cache, shared by every template holding the same part."""

    inner: Part
    names: tuple[str, ...]
    signature: str


@dataclass(frozen=True, slots=True)
class Split:
    """A mapping whose ``steady`` members come from one memoized part (``shared``), the rest rendered
    each time: a user object whose last login changes at every login."""

    keys: tuple[str, ...]
    members: tuple[Part, ...]
    steady: frozenset[str]
    shared: Part


@dataclass(frozen=True, slots=True)
class Let:
    """A template with ``$let``: ``names`` rendered first, read by ``body`` as ``let``."""

    names: Part
    body: Part


@dataclass(frozen=True, slots=True)
class Kept:
    """A list written ``["$keep", ...]``: ``inner`` (its items), sent empty rather than left out."""

    inner: Part


Shape = Const | Leaf | Mapping | Sequence | Conditional | Memo | Split | Let | Kept


@dataclass(frozen=True, slots=True, eq=False)
class Part:
    """A compiled part: its plain renderer, the context names it reads (None when unknown), how many
    computed leaves it holds, and its shape."""

    render: Renderer
    names: frozenset[str] | None
    weight: int
    shape: Shape
