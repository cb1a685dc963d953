"""Vendor versions: which releases of a product a vendor folder knows, and what each one changed.

A vendor's payloads change across releases (FusionAuth added ``linkedObjectId`` in 1.53, Keycloak
prefixed access-token ids in 26.2). That knowledge is data: the catalog's ``versions`` lists the
releases, oldest first, each with what it changed (``doc``), the named features it brought
(``adds``) and the delivery settings it changed (``delivery``). Templates and catalog rows read
the features as ``features.<name>`` (true from the release that added it on), so one set of
templates renders every release and no vendor has code of its own.

A run names a version as ``keycloak@26.1`` (or ``{name: keycloak, version: "26.1"}``); none means
the newest release listed. A version between two listed releases behaves like the older one; a
prefix (``keycloak@26``) means the newest release it covers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import VendorError

_VERSION = re.compile(r"^\d{1,6}(?:\.\d{1,6}){0,3}$")


def version_key(text: str) -> tuple[int, ...]:
    """``"26.1.2"`` -> ``(26, 1, 2)``; trailing zeros do not count (``26`` and ``26.0`` are apart
    only as prefixes, see ``Versions.resolve``)."""
    return tuple(int(part) for part in text.split("."))


@dataclass(frozen=True)
class Release:
    """One release whose payloads or delivery differ from the one before."""

    version: str
    doc: str
    adds: tuple[str, ...] = ()
    delivery: Mapping[str, Any] = field(default_factory=dict)
    confidence: str = "confirmed"  # of the release this change first appeared in

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.version)


@dataclass(frozen=True)
class Versions:
    """A vendor's releases, oldest first (empty: the vendor has one shape)."""

    releases: tuple[Release, ...] = ()

    @property
    def latest(self) -> str | None:
        return self.releases[-1].version if self.releases else None

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(name for release in self.releases for name in release.adds)

    def resolve(self, given: str | None, vendor: str) -> Release | None:
        """The release a version behaves like; None for a vendor without versions (and no version given)."""
        if given is None:
            return self.releases[-1] if self.releases else None
        if not self.releases:
            raise VendorError(f"{vendor} has no versions: its events have one shape (drop '@{given}')")
        if not _VERSION.match(given):
            raise VendorError(f"{vendor}@{given}: a version is numbers with dots, such as {self.releases[-1].version}")
        key = version_key(given)
        covered = [r for r in self.releases if r.key[: len(key)] == key]
        if covered:
            return covered[-1]
        known = f"{vendor} knows the releases {self.listing()}"
        if key > self.releases[-1].key:
            raise VendorError(f"{vendor}@{given} is newer than any release it knows; {known}")
        older = [r for r in self.releases if r.key <= key]
        if not older:
            raise VendorError(f"{vendor}@{given} is older than any release it knows; {known}")
        return older[-1]

    def features(self, release: Release | None) -> dict[str, bool]:
        """Every feature name, true when ``release`` has it (it or an earlier release added it)."""
        have: set[str] = set()
        for candidate in self.releases:
            if release is not None and candidate.key <= release.key:
                have.update(candidate.adds)
        return {name: name in have for name in self.feature_names}

    def delivery(self, base: Mapping[str, Any], release: Release | None) -> dict[str, Any]:
        """``base`` with the delivery changes of every release up to ``release``, in order."""
        merged: dict[str, Any] = dict(base)
        for candidate in self.releases:
            if release is None or candidate.key > release.key:
                break
            merged = _merge(merged, candidate.delivery)
        return merged

    def listing(self) -> str:
        return ", ".join(r.version for r in self.releases)

    def describe(self) -> dict[str, Any]:
        """The versions as the catalog shows them."""
        return {
            "default": self.latest,
            "known": [
                {
                    "version": r.version,
                    "changes": r.doc,
                    **({"features": list(r.adds)} if r.adds else {}),
                    **({"delivery": dict(r.delivery)} if r.delivery else {}),
                    "confidence": r.confidence,
                }
                for r in self.releases
            ],
        }


CONFIDENCE = ("confirmed", "inferred", "unverified")


def parse_versions(raw: Any, fail: Any) -> Versions:
    """The catalog's ``versions`` list (``fail(message, *path)`` makes the error at its place)."""
    if raw is None:
        return Versions()
    if not isinstance(raw, list) or not raw:
        raise fail("versions: a list of releases, oldest first, each {version, doc, adds, delivery}", "versions")
    releases: list[Release] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "version" not in item:
            raise fail("each release is {version, doc, adds, delivery, confidence}", "versions", i)
        unknown = sorted(set(item) - {"version", "doc", "adds", "delivery", "confidence"})
        if unknown:
            raise fail(f"unknown release key {unknown[0]!r}", "versions", i, unknown[0])
        version = item["version"]
        if not isinstance(version, str):
            raise fail(f"version {version!r}: quote it (YAML reads 1.30 as the number 1.3)", "versions", i, "version")
        if not _VERSION.match(version):
            raise fail(f"version {version!r}: numbers with dots, such as 1.53 or 26.2", "versions", i, "version")
        adds = item.get("adds") or []
        if not isinstance(adds, list) or not all(isinstance(a, str) and a.isidentifier() for a in adds):
            raise fail("adds: a list of feature names (letters, digits and _)", "versions", i, "adds")
        if seen & set(adds):
            raise fail(f"feature {sorted(seen & set(adds))[0]!r} is added twice", "versions", i, "adds")
        seen.update(adds)
        delivery = item.get("delivery") or {}
        if not isinstance(delivery, dict):
            raise fail("delivery: the delivery settings this release changed", "versions", i, "delivery")
        confidence = str(item.get("confidence", "confirmed"))
        if confidence not in CONFIDENCE:
            raise fail(f"confidence: one of {', '.join(CONFIDENCE)}", "versions", i, "confidence")
        release = Release(version, str(item.get("doc", "")), tuple(adds), delivery, confidence)
        if releases and release.key <= releases[-1].key:
            previous = releases[-1].version
            raise fail(f"version {version} is not newer than {previous}: oldest first", "versions", i, "version")
        releases.append(release)
    return Versions(tuple(releases))


def vendor_spec(value: Any) -> str | None:
    """A vendor as written (``"keycloak"``, ``"keycloak@26.1"`` or ``{name, version}``) as one string."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        version = value.get("version")
        if version is None:
            return str(value["name"])
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        if not isinstance(version, str):
            raise VendorError(
                f'vendor {value["name"]!r}: give the version as a string such as "1.30" (YAML reads 1.30 as 1.3)'
            )
        return f"{value['name']}@{version}"
    raise VendorError("vendor: a name such as 'keycloak', 'keycloak@26.1', or {name, version}")


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"keycloak@26.1"`` -> ``("keycloak", "26.1")``; ``"keycloak"`` -> ``("keycloak", None)``."""
    name, at, version = spec.partition("@")
    return name, (version if at else None)


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result
