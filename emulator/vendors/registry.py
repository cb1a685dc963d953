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
from emulator.vendors.versions import Release, Versions, split_spec

if TYPE_CHECKING:  # the template engine (Jinja2) and catalogs (YAML) are read when a vendor is first used
    from emulator.vendors.catalog import Catalog
    from emulator.vendors.parts import Renderer

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

    def vendor(self, spec: str) -> Vendor:
        """A vendor by name, or one release of it (``keycloak@26.1``): the newest release by default."""
        found = self._vendors.get(spec)
        if found is None:
            name, version = split_spec(spec)
            if name not in self.names:
                raise UnknownNameError("vendor", name, self.names)
            base = self._vendors.get(name)
            if base is None:
                base = self._vendors[name] = Vendor(name, self)
            found = self._vendors[spec] = base if version is None else base.at(version)
        return found

    def find(self, vendor: str, relative: str) -> Path | None:
        for root in self.roots:
            candidate = root / vendor / relative
            if candidate.is_file():
                return candidate
        return None


class Vendor:
    """One vendor dialect at one release: its catalog, the release's features, its compiled templates.

    Every release of a vendor shares the catalog and the compiled templates; what differs is
    ``features`` (read by templates and catalog rows) and ``delivery``. ``key`` names the dialect
    where events and targets record it: the bare name for the newest release, else ``name@version``.
    """

    def __init__(self, name: str, registry: Registry, base: Vendor | None = None, version: str | None = None) -> None:
        self.name = name
        self.registry = registry
        if base is None:
            from emulator.vendors.catalog import load_catalog

            path = registry.find(name, "catalog.yaml")
            assert path is not None
            self.catalog: Catalog = load_catalog(path)
            self._compiled: dict[str, Renderer] = {}
        else:
            self.catalog = base.catalog
            self._compiled = base._compiled
        self.versions: Versions = self._versions()
        self.release: Release | None = self.versions.resolve(version, name)
        self.key = name if version is None else f"{name}@{version}"
        self.version: str | None = version or self.versions.latest
        self.features: dict[str, bool] = self.versions.features(self.release)
        # a vendor whose releases are another's (versions: {like: keycloak}) borrows that vendor's
        # delivery at the same release through delivery.like; its own settings stay as written
        own = self.catalog.versions_like is None
        self.delivery: dict[str, Any] = (
            self.versions.delivery(self.catalog.delivery, self.release) if own else dict(self.catalog.delivery)
        )

    def at(self, version: str) -> Vendor:
        """This vendor at another release (sharing the catalog and the compiled templates)."""
        return Vendor(self.name, self.registry, self, version)

    def _versions(self) -> Versions:
        like = self.catalog.versions_like
        if like is None:
            return self.catalog.versions
        if like == self.name:
            raise VendorError(f"{self.name}: versions 'like' names itself", Location(str(self.catalog.path)))
        return self.registry.vendor(like).catalog.versions

    def event_types(self) -> list[str]:
        """The event types this release can emit, error variants included, in catalog order."""
        return self.catalog.all_types(self.features)

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
