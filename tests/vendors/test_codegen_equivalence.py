"""Generated templates give the plain renderer's answers.

A template renders through generated Python (``emulator/vendors/codegen.py``): one function per
part, with lookups read inline. The plain renderer, made of closures (each part's ``render``),
is the reference. These tests draw templates shaped like the vendors' (mappings, lists, ``$if``,
``$let`` (computed or constant), ``"$null"``, ``"$keep"`` lists, constants, lookups of stable and changing context, texts and expressions) and
contexts shaped like the player's and stranger (members that are not mappings, a datetime only the
sandbox may look into, numbers beyond 64 bits, a text over the size limit), render each template
in several contexts with both, and compare: the same value, types and key order included, or the
same error with the same message. Contexts share objects and differ in a few values, so memoized
parts are hit and missed as in a run.

Hypothesis picks the seeds (derandomized, so every run compares the same templates); each example
draws a batch from its seed with ``random.Random``.
"""

from __future__ import annotations

import functools
import random
import re
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from jinja2 import Undefined

from emulator.vendors import templates
from emulator.vendors.codegen import generate, generate_condition
from emulator.vendors.encoding import finite
from emulator.vendors.expressions import MAX_TEXT
from emulator.vendors.parts import OMIT
from emulator.vendors.registry import Registry
from emulator.vendors.templates import ENV, ExpressionError, compile_condition, compile_template

EXAMPLES = 30  # hypothesis examples, each one batch
TEMPLATES = 10  # templates per batch
CONTEXTS = 6  # contexts each template renders in

# stable names (memoized parts read only these), one that changes at every login, and the rest
STABLE_NAMES = ["actor", "client", "realm", "params", "features", "device", "error", "ip", "before"]
NAMES = [*STABLE_NAMES, "last_login_ms", "event", "tokens", "session", "n", "let"]
MEMBERS = ["id", "email", "name", "x", "items", "created_ms", "flag", "year"]  # a datetime has a year
EXPRESSIONS = [  # what templates write; the risky ones (errors for some values) less often
    "{name}.{member} if {name}.{member2}",
    "{name}.{member} or {name}.{member2}",
    "{name}.{member} and 'yes'",
    "not {name}.{member}",
    "{name}.{member} == 'a'",
    "{name}.{member} in ['a', 'b', 1]",
    "{name}.{member} ~ '-x'",
    "{{'k': {name}.{member}, 'z': none}}",
    "[{name}.{member}, none, 2]",
    "{name}.{member}.{member2}",
    "{name}",
    "'t' if {name} else none",
    "{name}.{member} if {name}.{member2} in ['a', 1] else ({name} and 2)",
    "{name}.{member} != {name}.{member2}",
    "not ({name}.{member} or {name}.{member2}.{member})",
    "{name}.{member}.{member2} if not {name}.{member2} else {name}",
    "{name}.{member} or '$null'",
    "'$null' if {name}.{member} else {name}.{member2}",
]
RISKY = [
    "{name}.{member} + 1",
    "{name}.{member} | upper",
    "{name}.{member}[:2]",
    "{name}.get('{member}')",
    "({name}.{member} or 0) * 2",
    "{name}.{member} < 3",
    "{name}.{member} in 'abc'",
]
# filters, tests, items, slices, texts joined with ~ and arithmetic: written inline as calls of the
# closures' own functions
CALLS = [
    "'p_' ~ ({name}.{member} ~ {name}.{member2})[1:3] ~ 7",
    "{name}.{member} | default('d') ~ ({name}.{member2} | string | upper)",
    "({name}.{member} | list)[0] if {name}.{member} | length > 1 else -{name}.{member2}",
    "{name}.{member} is defined and {name}.{member2} is not none",
    "({name}.{member} or 5) - 1 + ({name}.{member2} or 1) // 2",
    "'%s-%s' | format({name}.{member}, {name}.{member2})",
    "'%s/%s/%s' | format({name}.{member} is string, 'two', 3)",
    "{name}.{member} | int(base=16)",
    "{name}.{member}[{name}.{member2}]",
    "'id_' ~ ({name}.{member} | ksuid({name}.{member2} or 0))[:8]",
    "[{name}.{member}, {name}.{member2} if {name}.{member}] | select | list",
    "{name}.{member} | map('upper') | join(',')",
]


def call(r: random.Random) -> str:
    return r.choice(CALLS).format(name=r.choice(NAMES), member=r.choice(MEMBERS), member2=r.choice(MEMBERS))


def _path(r: random.Random) -> str:
    depth = r.choices([1, 2, 3], weights=[3, 6, 1])[0]
    return ".".join([r.choice(NAMES), *(r.choice(MEMBERS) for _ in range(depth - 1))])


def expression(r: random.Random) -> str:
    return r.choice(RISKY if r.random() < 0.1 else EXPRESSIONS).format(
        name=r.choice(NAMES), member=r.choice(MEMBERS), member2=r.choice(MEMBERS)
    )


def leaf(r: random.Random) -> str:
    pick = r.random()
    if pick < 0.5:
        return f"{{{{ {_path(r)} }}}}"
    expression_ = expression(r)
    if pick < 0.85:
        return f"{{{{ {expression_} }}}}"
    return f"id-{{{{ {_path(r)} }}}}:{{{{ {expression_} }}}}"


def constant(r: random.Random) -> Any:
    return r.choice([None, None, "text", 0, 1, True, False, 2.5, "", {}, [], {"a": None}, [None, 1], "$null"])


def node(r: random.Random, depth: int) -> Any:
    pick = r.random()
    if depth <= 0 or pick < 0.45:
        return leaf(r) if r.random() < 0.75 else constant(r)
    if pick < 0.6:
        items = [node(r, depth - 1) for _ in range(r.randint(0, 3))]
        return ["$keep", *items] if r.random() < 0.25 else items  # sent empty rather than left out
    members = {f"k{i}": node(r, depth - 1) for i in range(r.randint(0, 5))}
    if pick < 0.75:
        members["$if"] = f"{{{{ {_path(r)} }}}}" if r.random() < 0.7 else leaf(r).replace("id-", "")
        if not re.fullmatch(r"\{\{.*\}\}", members["$if"]):
            members["$if"] = f"{{{{ {_path(r)} }}}}"
    return members


def template(r: random.Random) -> Any:
    body = {f"t{i}": node(r, 3) for i in range(r.randint(1, 5))}
    pick = r.random()
    if pick < 0.3:
        # a mapping $let made is finished already: its "$null" stays the vendor's null when read back
        x = leaf(r) if r.random() < 0.7 else f"{{{{ {{'k': '$null', 'v': {_path(r)}}} }}}}"
        body["$let"] = {"x": x, "y": node(r, 1)}
        body["from_let"] = "{{ let.x }}"
    elif pick < 0.45:  # constant names: what reads them may be memoized with the stable context
        body["$let"] = {"x": constant(r), "y": r.choice(["a", "$null", 1])}
        body["from_let"] = "{{ let.y ~ '-' ~ actor.id }}"
    return body


def scalar(r: random.Random) -> Any:
    if r.random() < 0.02:  # rare: a payload refuses a container holding one (JSON cannot carry it)
        return r.choice([float("nan"), float("-inf")])
    return r.choice([None, "a", "b", "", "é", 1, 0, -3, True, False, 1.5, 2**63, 2**64, 2**70, "x" * 3, "$null"])


def value(r: random.Random, depth: int = 2) -> Any:
    pick = r.random()
    if depth <= 0 or pick < 0.4:
        return scalar(r)
    if pick < 0.85:
        return {m: value(r, depth - 1) for m in MEMBERS if r.random() < 0.6}
    if pick < 0.92:
        return [value(r, depth - 1) for _ in range(r.randint(0, 2))]
    if pick < 0.96:
        return (1, "t")
    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # only the sandbox looks into it


LONG = "y" * (MAX_TEXT + 1)  # a text over the limit: an error on both paths


def context_value(r: random.Random, name: str) -> Any:
    """A value for ``name``; ``let`` holds only what a payload can carry (a ``$let`` renders it so)."""
    drawn = value(r)
    while name == "let" and not finite(drawn):
        drawn = value(r)
    return drawn


def contexts(r: random.Random) -> list[dict[str, Any]]:
    """Contexts as a run makes them: most values shared with the one before, a few new."""
    out = []
    ctx = {name: context_value(r, name) for name in NAMES if r.random() < 0.85}
    for _ in range(CONTEXTS):
        ctx = dict(ctx)
        for name in r.sample(NAMES, r.randint(1, 3)):
            ctx[name] = context_value(r, name)
        if r.random() < 0.05:
            ctx["n"] = LONG
        out.append(ctx)
    return out


_ADDRESS = re.compile(r" at 0x[0-9a-f]+", re.IGNORECASE)


def canon(v: Any) -> Any:
    """A value with its types spelled out (1, 1.0 and True differ; nan equals itself)."""
    if v is OMIT:
        return ("OMIT",)
    kind = type(v)
    if kind is dict:
        return ("dict", tuple((canon(k), canon(x)) for k, x in v.items()))
    if kind in (list, tuple):
        return (kind.__name__, tuple(canon(x) for x in v))
    if isinstance(v, Undefined):
        return ("undefined",)
    return (kind.__name__, _ADDRESS.sub(" at 0x", repr(v)))  # a method's text names a new object's address


def outcome(render: Any, ctx: dict[str, Any]) -> Any:
    try:
        return canon(render(dict(ctx)))
    except Exception as exc:  # the same error, with the same message
        return ("error", type(exc).__name__, str(exc))


def generated(render: Any) -> bool:
    return getattr(getattr(render, "__code__", None), "co_filename", "") == "<template>"


class Tally:
    def __init__(self) -> None:
        self.conditions = 0
        self.templates = 0
        self.generated = 0
        self.renders = 0
        self.errors = 0


def compare(tree: Any, ctxs: list[dict[str, Any]], tally: Tally) -> None:
    try:
        part = templates.compile_part(tree)  # compiled once: both paths are built from it
    except ExpressionError:
        return
    plain, fast = part.render, generate(part)
    tally.templates += 1
    if fast is None:
        return
    tally.generated += 1
    for ctx in ctxs:
        expected = outcome(plain, ctx)
        tally.renders += 1
        tally.errors += expected[0] == "error"
        assert outcome(fast, ctx) == expected, f"{tree!r}\nwith {ctx!r}"
        if expected[0] != "error":  # a payload holds no NaN or infinity: its encoding need not look
            assert finite(fast(dict(ctx))), f"{tree!r}\nwith {ctx!r}"


def compare_condition(source: str, ctxs: list[dict[str, Any]], tally: Tally) -> None:
    """A ``when:`` condition, generated and plain."""
    plain, tree = templates.plain_condition(source)
    fast = generate_condition(plain, tree)
    if fast is None:
        return
    tally.conditions += 1
    for ctx in ctxs:
        assert outcome(fast, ctx) == outcome(plain, ctx), f"when: {source}\nwith {ctx!r}"


def test_generated_templates_give_the_plain_renderers_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Jinja2 compiles an expression in about a millisecond, most of this test's time: templates
    # drawn from the same few shapes share it
    monkeypatch.setattr(ENV, "compile_expression", functools.lru_cache(maxsize=256)(ENV.compile_expression))
    tally = Tally()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
    )
    @given(st.integers(min_value=0, max_value=2**32 - 1))
    def batch(seed: int) -> None:
        r = random.Random(seed)
        for _ in range(TEMPLATES):
            ctxs = contexts(r)
            compare(template(r), ctxs, tally)
            compare_condition(expression(r), ctxs, tally)

    batch()
    print(
        f"\n{tally.templates:,} templates ({tally.generated:,} generated), {tally.renders:,} renders "
        f"({tally.errors:,} errors) and {tally.conditions:,} generated conditions compared"
    )
    assert tally.conditions >= 0.5 * EXAMPLES * TEMPLATES
    assert tally.generated >= 0.9 * tally.templates
    assert tally.errors < 0.5 * tally.renders, "most renders should give a value"


def test_generated_calls_give_the_plain_renderers_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ENV, "compile_expression", functools.lru_cache(maxsize=256)(ENV.compile_expression))
    tally = Tally()

    @settings(max_examples=EXAMPLES // 3, derandomize=True, database=None, deadline=None, phases=[Phase.generate])
    @given(st.integers(min_value=0, max_value=2**32 - 1))
    def batch(seed: int) -> None:
        r = random.Random(seed)
        for _ in range(TEMPLATES // 2):
            ctxs = contexts(r)
            compare({f"k{i}": f"{{{{ {call(r)} }}}}" for i in range(8)}, ctxs, tally)
            compare_condition(call(r), ctxs, tally)

    batch()
    assert tally.generated == tally.templates > 0
    assert tally.conditions >= 0.5 * EXAMPLES // 3 * TEMPLATES // 2


def test_vendors_render_through_generated_code() -> None:
    # the goldens (tests/test_golden.py) hold every vendor's generated renders to the bytes the
    # plain renderer wrote; this checks they are generated renders
    registry = Registry()
    for name in registry.names:
        vendor = registry.vendor(name)
        first = next(iter(vendor.catalog.events.values()))
        assert generated(vendor.renderer(first.template)), name


def test_templates_nested_beyond_pythons_block_limit_still_render() -> None:
    tree: Any = {"v": "{{ n }}"}
    for i in range(40):
        tree = {"$if": "{{ n }}", f"k{i}": tree, "w": "{{ event.id }}"}
    ctx = {"n": 1, "event": {"id": "e"}}
    part = templates.compile_part(tree)
    assert compile_template(tree)(dict(ctx)) == part.render(dict(ctx))


ATOMS = ["error", "params.first", "true", "false", "none", "error == 'x'", "params.x + 1", "session"]


def condition(r: random.Random, depth: int = 3) -> str:
    pick = r.random()
    if depth <= 0 or pick < 0.35:
        return r.choice(ATOMS)
    if pick < 0.5:
        return f"not {condition(r, depth - 1)}"
    return f"({condition(r, depth - 1)} {r.choice(['and', 'or'])} {condition(r, depth - 1)})"


def test_a_condition_decided_by_the_error_alone_gives_that_answer() -> None:
    # the player makes no occurrence a vendor has no event for (Dialect.emits): a row's condition
    # is taken as decided only where it is, whatever the rest of the context holds
    r = random.Random(14)
    decided = 0
    for _ in range(400):
        source = condition(r)
        for ctx in contexts(r)[:3]:
            ctx["error"] = r.choice([None, "", "invalid_code", 0, "x"])
            answer = templates.decided_by(source, "error", bool(ctx["error"]))
            if answer is not None:
                decided += 1
                assert compile_condition(source)(dict(ctx)) is answer, f"when: {source}\nwith {ctx!r}"
    assert decided > 300


@pytest.mark.parametrize("text", ["id-{{ features }}", "id-{{ features }}:{{ realm }}"])
def test_a_memoized_part_tells_a_name_the_context_lacks_from_one_holding_none(text: str) -> None:
    # undefined renders as nothing, None as "None": a memo keyed on the name's value must not take
    # one for the other, whichever came first (a part reading one object name, or several names)
    lacking, holding = {"realm": "r"}, {"features": None, "realm": "r"}
    for order, (first, then) in enumerate(((holding, lacking), (lacking, holding))):
        part = templates.compile_part({"k": f"{text}:{order}"})  # caches are per text: each order's are new
        fast = generate(part)
        assert fast is not None
        for render in (part.render, fast):
            rendered = [render(dict(first))["k"], render(dict(then))["k"]]
            assert [value.startswith("id-None") for value in rendered] == [first is holding, then is holding]


def test_a_lookup_past_a_plain_value_is_answered_inline() -> None:
    """``vars.idp.id`` with no idp (FusionAuth's login has none): the member is missing, so the
    value is left out, in the generated code itself, not by asking the plain renderer (two calls
    into it for every FusionAuth login event, 1.8% of a render's instructions)."""
    part = templates.compile_part({"id": "{{ vars.idp.id }}", "first": "{{ actor.name.first }}", "k": "x"})
    fast = generate(part)
    assert fast is not None
    asked: list[str] = []

    def watch(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename == templates.__file__:
            asked.append(frame.f_code.co_name)

    for ctx in ({"vars": {}, "actor": {"name": "Ann"}}, {"vars": {"idp": None}, "actor": {"name": 3}}):
        expected = part.render(dict(ctx))
        sys.setprofile(watch)
        try:
            got = fast(dict(ctx))
        finally:
            sys.setprofile(None)
        assert got == expected == {"k": "x"}
    assert asked == []
