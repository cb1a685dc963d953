"""Where vendors come from: the folders under ``emulator/vendors/`` plus any user folders.

A user folder (``--templates DIR``) has the same shape: ``DIR/<vendor>/catalog.yaml`` and
``DIR/<vendor>/templates/*.json``. A file there replaces the bundled file of the same name;
a new folder with a catalog adds a vendor. Nothing in the package needs to change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.errors import Location, UnknownNameError, VendorError

if TYPE_CHECKING:  # the template engine (Jinja2) and catalogs (YAML) are read when a vendor is first used
    from emulator.vendors.catalog import Catalog
    from emulator.vendors.templates import Renderer

PACKAGE_ROOT = Path(__file__).parent
EXTENDS = "$extends"
_TEMPLATE_NAME = re.compile(r"^(?:[A-Za-z0-9][\w-]*:)?[A-Za-z0-9_][\w.-]*$")


class Registry:
    """All vendors visible to a run; user folders take precedence over the bundled ones."""

    def __init__(self, template_dirs: Iterable[str | Path] = ()) -> None:
        dirs = [str(d) for d in template_dirs]
        if any(not d.strip() for d in dirs):
            raise VendorError("--templates needs a folder name")
        self.roots = [Path(d) for d in dirs] + [PACKAGE_ROOT]
        self.template_dirs = [Path(d).resolve() for d in dirs]  # what a run records, to replay alike
        for root in self.roots[:-1]:
            if not root.is_dir():
                raise VendorError(f"templates folder {root} does not exist")
        self._vendors: dict[str, Vendor] = {}

    @cached_property
    def names(self) -> list[str]:
        found = set()
        for root in self.roots:
            for catalog in root.glob("*/catalog.yaml"):
                found.add(catalog.parent.name)
        return sorted(found)

    def vendor(self, name: str) -> Vendor:
        if name not in self._vendors:
            if name not in self.names:
                raise UnknownNameError("vendor", name, self.names)
            self._vendors[name] = Vendor(name, self)
        return self._vendors[name]

    def find(self, vendor: str, relative: str) -> Path | None:
        for root in self.roots:
            candidate = root / vendor / relative
            if candidate.is_file():
                return candidate
        return None


class Vendor:
    """One vendor dialect: its catalog and its compiled templates."""

    def __init__(self, name: str, registry: Registry) -> None:
        from emulator.vendors.catalog import load_catalog

        self.name = name
        self.registry = registry
        path = registry.find(name, "catalog.yaml")
        assert path is not None
        self.catalog: Catalog = load_catalog(path)
        self._compiled: dict[str, Renderer] = {}

    def renderer(self, template: str) -> Renderer:
        """The compiled template (resolved ``$extends`` chain), cached."""
        if template not in self._compiled:
            from emulator.vendors.templates import ExpressionError, compile_template

            tree = self.resolve(template, self.name, ())
            try:
                self._compiled[template] = compile_template(tree)
            except (ExpressionError, RecursionError) as exc:
                reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise VendorError(f"template {template!r}: {reason}", self._where(template)) from None
        return self._compiled[template]

    def resolve(self, ref: str, owner: str, seen: tuple[str, ...]) -> dict[str, Any]:
        """Load a template and merge it over what it extends.

        An unqualified name is looked up in the vendor being rendered first, then in the
        vendor that owns the referring template; so ``flip`` can reuse ``keycloak:LOGIN``
        while keeping its own ``_event`` envelope.
        """
        if not isinstance(ref, str) or not _TEMPLATE_NAME.match(ref):
            raise VendorError(f"bad template name {ref!r}: use letters, digits, '.', '_', '-' and one 'vendor:' prefix")
        vendor, _, stem = ref.rpartition(":")
        candidates = [vendor] if vendor else list(dict.fromkeys([self.name, owner]))
        path = None
        for candidate in candidates:
            path = self.registry.find(candidate, f"templates/{stem}.json")
            if path is not None:
                owner = candidate
                break
        if path is None:
            raise VendorError(f"no template {ref!r} for vendor {self.name!r} (looked in {', '.join(candidates)})")
        key = f"{owner}:{stem}"
        if key in seen:
            raise VendorError(
                f"templates extend each other in a loop: {' -> '.join([*seen, key])}", Location(str(path))
            )
        try:
            tree = json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise VendorError(f"not valid JSON: {exc.msg}", Location(str(path), exc.lineno, exc.colno)) from None
        except (UnicodeDecodeError, RecursionError, OSError) as exc:
            reason = {UnicodeDecodeError: "not a UTF-8 text file", RecursionError: "nested too deeply"}.get(type(exc))
            raise VendorError(reason or f"cannot read ({exc})", Location(str(path))) from None
        if not isinstance(tree, dict):
            raise VendorError("a template is a JSON object", Location(str(path)))
        parent = tree.pop(EXTENDS, None)
        if parent is None:
            return tree
        from emulator.vendors.templates import deep_merge

        return deep_merge(self.resolve(str(parent), owner, (*seen, key)), tree)

    def _where(self, template: str) -> Location | None:
        path = self.registry.find(self.name, f"templates/{template}.json")
        return Location(str(path)) if path else None
