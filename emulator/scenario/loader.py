"""Scenario files -> ``Scenario``: every problem found, each with file:line:column.

Validation is driven by ``vocabulary.yaml`` so the language, the JSON Schema and this loader
cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import math
import re
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Any

from emulator.delivery.faults import FaultError, parse_faults
from emulator.delivery.transactions import TYPES
from emulator.errors import Problem, ScenarioError, UnknownNameError
from emulator.scenario.durations import parse_duration
from emulator.scenario.model import ActionStep, ActorSpec, Repeat, Scenario, Step, Wait
from emulator.scenario.vocabulary import Param, locales, vocabulary
from emulator.scenario.yamlpos import Path, Positions, load_yaml

TOP_KEYS = {"name", "description", "defaults", "actors", "steps"}
MAX_REPEAT = 1_000_000  # the JSON Schema uses the same bound
_TYPE_WORDS = {
    str: "text",
    bool: "true/false",
    int: "a number",
    float: "a number",
    list: "a list",
    dict: "a mapping",
    type(None): "nothing",
}


def load_scenario_file(path: str | FsPath) -> Scenario:
    """Read and validate a scenario file."""
    path = FsPath(path)
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([Problem(f"{path}: not a UTF-8 text file")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(f"{path}: cannot read ({exc.strerror})")]) from None
    return load_scenario_text(text, str(path))


CACHED_TEXT = 64 * 1024  # scenarios up to this size are parsed once and kept (a server plays them again and again)


def load_scenario_text(text: str, file: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text; raise ScenarioError listing every problem.

    The scenario is immutable, so a text seen before gives back the same object.
    """
    if len(text) <= CACHED_TEXT:
        return _cached(text, file)
    return _load(text, file)


@lru_cache(maxsize=256)
def _cached(text: str, file: str) -> Scenario:
    return _load(text, file)


def _load(text: str, file: str) -> Scenario:
    try:
        data, positions = load_yaml(text, file)
    except Problem as problem:
        raise ScenarioError([problem]) from None
    checker = _Checker(positions)
    scenario = checker.scenario(data)
    if checker.problems:
        order = sorted(checker.problems, key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0))
        raise ScenarioError(order)
    assert scenario is not None
    return dataclasses.replace(scenario, text=text)


_ACTOR_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def _not_json(value: Any, depth: int = 0) -> str | None:
    """Why a value given in a scenario cannot go into a JSON payload, if it cannot."""
    if depth > 50:
        return "nested too deeply"
    if isinstance(value, dict):
        return next((p for p in (_not_json(v, depth + 1) for v in value.values()) if p), None)
    if isinstance(value, list):
        return next((p for p in (_not_json(v, depth + 1) for v in value) if p), None)
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} cannot be sent in JSON"
    if value is None or isinstance(value, str | int | float | bool):
        return None
    return f"{type(value).__name__} values (such as {str(value)[:30]!r}) cannot be sent in JSON; quote them"


def _kind(value: Any) -> str:
    return _TYPE_WORDS.get(type(value), type(value).__name__)


class _Checker:
    def __init__(self, positions: Positions) -> None:
        self.pos = positions
        self.problems: list[Problem] = []
        self.vocab = vocabulary()
        self.actor_names: set[str] = set()

    def fail(self, message: str, path: Path) -> None:
        self.problems.append(Problem(message, self.pos.at(path)))

    def unknown(self, kind: str, name: str, known: Any, path: Path) -> None:
        self.problems.append(UnknownNameError(kind, name, known, self.pos.at(path)))

    # -- top level -------------------------------------------------------------------------
    def scenario(self, data: Any) -> Scenario | None:
        if not isinstance(data, dict):
            self.fail(f"a scenario is a mapping with name, actors and steps, got {_kind(data)}", ())
            return None
        for key in data:
            if key not in TOP_KEYS:
                self.unknown("top-level key", key, TOP_KEYS, (key, "<key>"))
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            self.fail("'name' is required and must be text", ("name",) if "name" in data else ())
            name = ""
        description = data.get("description", "")
        if not isinstance(description, str):
            self.fail(f"'description' must be text, got {_kind(description)}", ("description",))
            description = ""
        defaults = self.fields(data.get("defaults") or {}, self.vocab.defaults, ("defaults",), "default")
        actors = self.actors(data.get("actors") or {})
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            where = ("steps",) if "steps" in data else ()
            self.fail("'steps' is required: a list of at least one step", where)
            raw_steps = []
        steps = self.steps(raw_steps, ("steps",))
        return Scenario(name, description, defaults, actors, steps, source=self.pos.file)

    def actors(self, raw: Any) -> dict[str, ActorSpec]:
        if not isinstance(raw, dict):
            self.fail(f"'actors' must be a mapping of name -> fields, got {_kind(raw)}", ("actors",))
            return {}
        actors = {}
        for name, fields in raw.items():
            path = ("actors", name)
            if not _ACTOR_NAME.match(name):
                self.fail(f"actor names are letters, digits, '_', '-' and '.', got {name!r}", (*path, "<key>"))
                continue
            fields = {} if fields is None else fields
            checked = self.fields(fields, self.vocab.actor_fields, path, "actor field")
            actors[name] = ActorSpec(name, checked, self.pos.at(path))
        self.actor_names = set(actors)
        return actors

    # -- steps -----------------------------------------------------------------------------
    def steps(self, raw: list[Any], path: Path) -> list[Step]:
        steps: list[Step] = []
        for i, item in enumerate(raw):
            step = self.step(item, (*path, i))
            if step is not None:
                steps.append(step)
        return steps

    def step(self, item: Any, path: Path) -> Step | None:
        if isinstance(item, str):
            item = {item: None}
        if not isinstance(item, dict) or not item:
            self.fail(f"a step is a mapping such as 'login: {{actor: alice}}', got {_kind(item)}", path)
            return None
        keys = list(item)
        if keys == ["wait"]:
            duration = self.duration(item["wait"], (*path, "wait"))
            return Wait(duration, self.pos.at(path)) if duration is not None else None
        if keys == ["repeat"]:
            return self.repeat_block(item["repeat"], (*path, "repeat"))
        actions = [k for k in keys if k not in ("repeat", "faults", "transaction")]
        if len(actions) != 1:
            self.fail(f"a step has exactly one action, found: {', '.join(map(str, actions))}", path)
            return None
        name = actions[0]
        if name not in self.vocab.actions:
            known = [*self.vocab.actions, "wait", "repeat"]
            self.unknown("action", name, known, (*path, name, "<key>"))
            return None
        step = self.action(name, item[name], (*path, name))
        if step is not None and "faults" in item:
            faults = item["faults"]
            if not isinstance(faults, list) or not faults:
                self.fail("'faults' takes a list, such as [{duplicate: {copies: 2}}, drop]", (*path, "faults"))
                return None
            try:
                parse_faults(faults)  # the delivery stage's own check: every way in (CLI, API) refuses alike
            except FaultError as exc:
                self.fail(str(exc), (*path, "faults"))
                return None
            step = dataclasses.replace(step, faults=tuple(faults))
        if step is not None and "transaction" in item:
            kind = item["transaction"]
            if kind not in TYPES:
                self.unknown("transaction type", str(kind), TYPES, (*path, "transaction"))
                return None
            step = dataclasses.replace(step, transaction=kind)
        if step is None or "repeat" not in item:
            return step
        spec = self.repeat_spec(item["repeat"], (*path, "repeat"), allow_steps=False)
        if spec is None:
            return None
        count, every = spec
        return Repeat(count, every, [step], self.pos.at(path))

    def action(self, name: str, raw: Any, path: Path) -> ActionStep | None:
        if isinstance(raw, str):
            raw = {"actor": raw}
        elif raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.fail(f"'{name}' takes a mapping of parameters (or an actor name), got {_kind(raw)}", path)
            return None
        spec = self.vocab.actions[name].params
        params = self.fields(raw, spec, path, f"parameter of '{name}'")
        return ActionStep(name, params, self.pos.at(path))

    def repeat_block(self, raw: Any, path: Path) -> Repeat | None:
        spec = self.repeat_spec(raw, path, allow_steps=True)
        if spec is None:
            return None
        inner = raw.get("steps")
        if not isinstance(inner, list) or not inner:
            self.fail("a repeat block needs 'steps': a list of at least one step", path)
            return None
        return Repeat(spec[0], spec[1], self.steps(inner, (*path, "steps")), self.pos.at(path))

    def repeat_spec(self, raw: Any, path: Path, allow_steps: bool) -> tuple[int, Any] | None:
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = {"count": raw}
        if not isinstance(raw, dict):
            self.fail(f"'repeat' takes {{count: N, every: DURATION}}, got {_kind(raw)}", path)
            return None
        allowed = {"count", "every", "steps"} if allow_steps else {"count", "every"}
        for key in raw:
            if key not in allowed:
                self.unknown("repeat key", key, allowed, (*path, key, "<key>"))
        count = raw.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_REPEAT:
            self.fail(f"'count' must be a whole number from 1 to {MAX_REPEAT:,}, got {count!r}", (*path, "count"))
            return None
        every = self.duration(raw["every"], (*path, "every")) if "every" in raw else None
        return count, every

    # -- values ----------------------------------------------------------------------------
    def fields(self, raw: Any, spec: dict[str, Param], path: Path, what: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.fail(f"expected a mapping, got {_kind(raw)}", path)
            return {}
        result: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in spec:
                self.unknown(what, key, spec, (*path, key, "<key>"))
                continue
            checked = self.value(spec[key], value, (*path, key))
            if checked is not None:
                result[key] = checked
        for name, param in spec.items():
            if name in raw:
                continue
            if param.required:
                self.fail(f"missing required {what} '{name}'", path)
            elif param.default is not None:
                result[name] = param.default
        return result

    def value(self, param: Param, value: Any, path: Path) -> Any:
        t = param.type
        if t == "bool":
            if isinstance(value, bool):
                return value
            return self._wrong("true or false", value, path)
        if t == "int":
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
            return self._wrong("a whole number", value, path)
        if t == "duration":
            return self.duration(value, path)
        if t == "list":
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
            return self._wrong("a list of names", value, path)
        if t == "map":
            if not isinstance(value, dict):
                return self._wrong("a mapping", value, path)
            problem = _not_json(value)
            if problem:
                self.fail(problem, path)
                return None
            return value
        if t == "lockout":
            return self.lockout(value, path)
        if not isinstance(value, str):
            return self._wrong("text", value, path)
        if t == "enum" and value not in param.values:
            self.unknown(f"value for '{param.name}'", value, param.values, path)
            return None
        if t == "error" and value not in self.vocab.errors:
            self.unknown("error code", value, self.vocab.errors, path)
            return None
        if t == "locale" and value not in locales():
            self.unknown("locale", value, locales(), path)
            return None
        if t == "actor" and value not in self.actor_names:
            self.unknown("actor", value, self.actor_names, path)
            return None
        return value

    def lockout(self, value: Any, path: Path) -> Any:
        if not isinstance(value, dict):
            return self._wrong("{failures: N, duration: 15m}", value, path)
        for key in value:
            if key not in ("failures", "duration"):
                self.unknown("lockout key", key, ["failures", "duration"], (*path, key, "<key>"))
        failures = value.get("failures")
        if isinstance(failures, bool) or not isinstance(failures, int) or not 1 <= failures <= 1000:
            self.fail(f"'failures' must be a whole number from 1 to 1000, got {failures!r}", (*path, "failures"))
            return None
        duration = self.duration(value.get("duration", "15m"), (*path, "duration"))
        return None if duration is None else {"failures": failures, "duration": duration}

    def duration(self, value: Any, path: Path) -> Any:
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), path)
            return None

    def _wrong(self, expected: str, value: Any, path: Path) -> None:
        if isinstance(value, dict | list) or value is None:
            self.fail(f"expected {expected}, got {_kind(value)}", path)
            return
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        self.fail(f"expected {expected}, got {_kind(value)} {shown}", path)
