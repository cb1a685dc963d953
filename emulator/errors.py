"""The exception tree: every error a user can cause carries a message written for them.

The command line prints ``str(error)`` and exits non-zero; the API answers a problem document;
nothing below ``EmulatorError`` should ever reach the user as a traceback. Every exception the
package raises is in this tree, and each is named ``...Error`` but ``Problem``, the one that
says where (``file:line:column: message``)::

    EmulatorError
    ├── Problem                       one problem at one place
    │   ├── PlayError                 a scenario that cannot be played (a refresh with no session)
    │   ├── VendorError               a broken vendor catalog or template
    │   ├── UnknownNameError          a name not known, with the nearest valid one
    │   └── OverrideError             a --set/--unset written wrongly or matching nothing (overrides.py)
    ├── ScenarioError                 every problem of one file at once
    │   └── ConfigError               ... of emulator.yaml          (delivery/config.py)
    ├── RefusedError                  a request refused for what it asks; the API maps the kind:
    │   ├── NotFoundError             404
    │   ├── ConflictError             409
    │   ├── ForbiddenError            403
    │   └── InvalidError              422
    ├── ApiError                      a request refused as HTTP (malformed, too large) (server/problems.py)
    ├── SigningError                  a signing configuration that cannot sign (delivery/signing/)
    ├── TlsError, ProxyError          transport settings that cannot work       (delivery/tls.py, http.py)
    ├── TransportError                one attempt that got no usable answer; recorded, never raised to users
    ├── FaultError, PolicyError       a fault or a retry policy written wrongly (delivery/)
    ├── StoreError                    a store that cannot be opened or written  (store/schema.py)
    ├── ExpressionError               a template expression that fails          (vendors/templates.py)
    └── OutsideFastPathError, HandOverError   the expression engine's own signals, never seen outside it
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Location:
    """Where in a file a problem is (1-based line and column, as editors count)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


class EmulatorError(Exception):
    """Base of every error the emulator raises on purpose."""


class Problem(EmulatorError):
    """One problem at one place, printed as ``file:line:column: message``."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ScenarioError(EmulatorError):
    """A scenario file has one or more problems; all are reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class PlayError(Problem):
    """A scenario is well formed but cannot be played (a refresh with no session, ...)."""


class VendorError(Problem):
    """A vendor catalog or template is broken (bundled or from a user's folder)."""


class UnknownNameError(Problem):
    """A name (vendor, scenario, action, ...) that is not known, with the nearest valid one."""

    def __init__(self, kind: str, name: str, known: Iterable[str], location: Location | None = None) -> None:
        known = sorted(set(known))
        hint = suggest(name, known)
        message = f"unknown {kind} {name!r}"
        if hint:
            message += f"; did you mean {hint!r}?"
        elif known and len(known) <= 12:
            message += f"; expected one of: {', '.join(known)}"
        super().__init__(message, location)
        self.name = name


class OverrideError(Problem):
    """An override (``--set``, ``--unset``) written wrongly, or one whose path or type matches nothing."""


class RefusedError(EmulatorError):
    """A request the emulator refuses for what it asks, not for how it is written (an unknown target,
    a run still busy, a secret not at hand): a short title, the detail, and the field it is about.
    The HTTP layer gives each kind its status; the domain never speaks HTTP."""

    def __init__(self, title: str, detail: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.title, self.detail, self.field, self.extra = title, detail, field, extra


class NotFoundError(RefusedError):
    """What the request names does not exist."""


class ConflictError(RefusedError):
    """What the request names exists, but its state does not allow this now."""


class ForbiddenError(RefusedError):
    """What the request asks is refused to whoever asks it this way (without the server's token, say)."""


class InvalidError(RefusedError):
    """What the request gives cannot work (a target that cannot send, a vendor that is missing)."""


def suggest(name: str, known: Iterable[str]) -> str | None:
    """The closest known name, if any is close enough to be a likely typo."""
    matches = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None
