"""``emulator.yaml``: targets and run settings, checked against the shipped JSON Schema.

The schema (``emulator.schema.json``) is the one definition of the file: editors use it to
complete and check, and this loader uses it to report every problem at its ``file:line:column``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import ValidationError

from emulator.delivery.tls import absolute_paths
from emulator.errors import Location, Problem, ScenarioError, suggest
from emulator.scenario.yamlpos import Positions, load_yaml

SCHEMA_PATH = Path(__file__).with_name("emulator.schema.json")
MAX_CONFIG_BYTES = 1_000_000


class ConfigError(ScenarioError):
    """A configuration file with problems; each says where and what."""


@dataclass
class Config:
    file: str = ""
    targets: list[dict[str, Any]] = field(default_factory=list)
    store: str | None = None
    time_scale: float | None = None
    templates: list[str] = field(default_factory=list)
    transaction: str | None = None
    max_actions: int | None = None
    # ${IDP_EMULATOR_*} variables a target made through the API may send as plain text, and where to
    plaintext_secrets: dict[str, list[str]] = field(default_factory=dict)
    # the live fake IdP: its clients, users and settings (see emulator/oidc/)
    clients: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    oidc: dict[str, Any] = field(default_factory=dict)
    positions: Positions | None = None

    def where(self, index: int) -> Any:
        """A function from a path inside target ``index`` to its place in the file."""
        positions = self.positions

        def at(path: tuple[str | int, ...]) -> Location | None:
            return positions.at(("targets", index, *path)) if positions is not None else None

        return at


@cache
def config_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text("utf-8"))
    return schema


def load_config(path: str | Path) -> Config:
    """Read and check a configuration file; raise ConfigError listing every problem."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(f"cannot read the configuration ({exc.strerror or exc})", Location(file))]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([Problem("configuration larger than 1 MB", Location(file))])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([Problem("not UTF-8 text", Location(file))]) from None
    try:
        data, positions = load_yaml(text, file)
    except Problem as exc:
        raise ConfigError([exc]) from None
    data = {} if data is None else data
    problems = check(data, positions)
    if problems:
        raise ConfigError(problems)
    names = [t["name"] for t in data.get("targets", [])]
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.append(Problem(f"duplicate target name {name!r}", positions.at(("targets", i, "name"))))
    for section, key in (("clients", "id"), ("users", "username")):
        given = [item[key] for item in data.get(section, [])]
        for i, value in enumerate(given):
            if given.index(value) != i:
                problems.append(Problem(f"duplicate {section[:-1]} {value!r}", positions.at((section, i, key))))
    if problems:
        raise ConfigError(problems)
    folder = Path(path).resolve().parent  # files a target names are found next to the config, wherever it runs
    targets = [{**t, "tls": absolute_paths(t["tls"], folder)} if "tls" in t else t for t in data.get("targets", [])]
    return Config(
        file=file,
        targets=targets,
        store=data.get("store"),
        time_scale=data.get("time_scale"),
        templates=list(data.get("templates", [])),
        transaction=data.get("transaction"),
        max_actions=data.get("max_actions"),
        plaintext_secrets={k: list(v) for k, v in (data.get("plaintext_secrets") or {}).items()},
        clients=list(data.get("clients", [])),
        users=list(data.get("users", [])),
        oidc=dict(data.get("oidc") or {}),
        positions=positions,
    )


def check(data: Any, positions: Positions) -> list[Problem]:
    """Every schema violation as a Problem at its position, most specific first."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(config_schema())
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            unknown = [k for k in error.instance if k not in error.schema.get("properties", {})]
            path = (*path, unknown[0], "<key>") if unknown else path  # point at the key itself
        problems.append(Problem(_message(error), positions.at(path)))
    return problems


def target_problems(spec: Any) -> list[tuple[str, str]]:
    """What is wrong with one target given as data (through the API): (field, message) pairs."""
    return part_problems("target", spec)


def part_problems(name: str, spec: Any) -> list[tuple[str, str]]:
    """What is wrong with one part of the file given as data through the API (a ``target``, a
    ``client``, a ``user``: a definition of the schema), in the words the file's checks use:
    (field, message) pairs."""
    import jsonschema

    schema = config_schema()
    validator = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})
    errors = sorted(validator.iter_errors(spec), key=lambda e: [str(p) for p in e.absolute_path])
    out = []
    for error in errors:
        path = _dotted(tuple(error.absolute_path))
        message = _message(error)
        if path == "configuration":  # the part itself
            path, message = "", name + message.removeprefix("configuration")
        out.append((path, message))
    return out


def _message(error: ValidationError) -> str:
    path = _dotted(tuple(error.absolute_path))
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        key = unknown[0] if unknown else "?"
        hint = suggest(key, allowed)
        tip = f"; did you mean {hint!r}?" if hint else f"; expected one of: {', '.join(allowed)}"
        return f"{path}: unknown key {key!r}{tip}"
    if error.validator == "oneOf" and error.context:
        # say what was expected instead of jsonschema's "is not valid under any of the given schemas"
        hint = schema.get("description") or "see emulator.schema.json"
        return f"{path}: {error.instance!r} is not valid here; {hint}"
    if error.validator == "dependentRequired" and isinstance(error.instance, dict):
        value = error.validator_value
        dependencies: dict[str, list[str]] = dict(value) if isinstance(value, dict) else {}
        needs = {k: [d for d in v if d not in error.instance] for k, v in dependencies.items()}
        key, missing = next((k, v) for k, v in needs.items() if k in error.instance and v)
        return f"{path}: {key} needs {' and '.join(missing)} too"
    if error.validator == "required":
        return f"{path}: {error.message.replace(' is a required property', '')} is required"
    return f"{path}: {error.message}"


def _dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "configuration"
