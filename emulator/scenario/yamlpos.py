"""YAML with positions: plain Python values plus a map from value path to line and column.

PyYAML's composed node tree knows where everything is; we keep that so every problem in a
scenario can be reported as ``file:line:column``.
"""

from __future__ import annotations

from typing import Any

import yaml

from emulator.errors import Location, Problem

Path = tuple[str | int, ...]
MAX_NODES = 200_000  # an alias bomb expands past any sensible scenario long before this


class Positions(dict[Path, tuple[int, int]]):
    """Path -> (line, column), 1-based; ``at`` falls back to the nearest enclosing path."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def at(self, path: Path) -> Location:
        while path not in self and path:
            path = path[:-1]
        line, column = self.get(path, (0, 0))
        return Location(self.file, line, column)


def load_yaml(text: str, file: str) -> tuple[Any, Positions]:
    """Parse one YAML document; raise Problem with the position of a syntax error."""
    positions = Positions(file)
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        raise Problem(f"YAML syntax error: {exc.problem or exc.context}", where) from None
    except yaml.YAMLError as exc:
        raise Problem(f"YAML error: {exc}", Location(file)) from None
    except RecursionError:
        raise Problem("the document is nested too deeply", Location(file, 1, 1)) from None
    if node is None:
        return None, positions
    builder = _Builder(positions)
    try:
        return builder.build(node, ()), positions
    except RecursionError:
        raise Problem("the document is nested too deeply", Location(file, 1, 1)) from None


_FAST = getattr(yaml, "CSafeLoader", None)  # libyaml, when PyYAML was built with it


def _compose(text: str) -> yaml.Node | None:
    """The node tree, parsed by libyaml where present (several times faster). A document libyaml
    refuses is parsed again by PyYAML's own parser, so a problem is worded the same on every
    machine."""
    if _FAST is not None:
        try:
            return yaml.compose(text, Loader=_FAST)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


class _Builder:
    def __init__(self, positions: Positions) -> None:
        self.positions = positions
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise Problem("document too large (aliases expanding too far?)", self.positions.at(path))
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise Problem("keys must be plain names", self._loc(key_node))
                raw_key = self._scalar(key_node)
                if not isinstance(raw_key, str):
                    raise Problem(f"keys must be names, got {raw_key!r}; quote it", self._loc(key_node))
                key = raw_key
                if key == "<<":
                    raise Problem("merge keys ('<<') are not supported", self._loc(key_node))
                if key in result:
                    raise Problem(f"duplicate key {key!r}", self._loc(key_node))
                result[key] = self.build(value_node, (*path, key))
                self.positions[(*path, key, "<key>")] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise Problem(f"bad value: {getattr(exc, 'problem', exc)}", self._loc(node)) from None
        except (ValueError, OverflowError) as exc:
            raise Problem(f"bad value: {exc}", self._loc(node)) from None

    def _loc(self, node: yaml.Node) -> Location:
        return Location(self.positions.file, node.start_mark.line + 1, node.start_mark.column + 1)
