"""What every signing scheme shares: how a target signs, what a signature covers, and a verdict.

A scheme is one object holding both halves of its contract, ``sign`` (what the sender adds to a
request) and ``verify`` (what a consumer checks), so the two cannot drift apart. Each scheme lives
in its own module of this package and registers itself by being defined; every list of scheme
names (the emulator.yaml schema, the CLI's choices, the OpenAPI document, messages) is read from
the registry. HMAC comes from the standard library and JWTs from PyJWT: nothing here implements
cryptography itself.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import EmulatorError


class SigningError(EmulatorError):
    """A signing configuration that cannot sign (missing secret, bad key, unknown scheme)."""


@dataclass(frozen=True)
class Signing:
    """How one target signs. Secrets live here only in memory; they are never logged or stored.

    ``secrets`` lists the current secret first; more than one signs with each (key rotation).
    """

    scheme: str = "none"
    secrets: tuple[str, ...] = ()
    algorithm: str = ""  # HmacSHA256 / HmacSHA1, HS256 / RS256 / ES256, hmac-sha256
    key_id: str = ""  # JWT kid, RFC 9421 keyid
    header: str = ""  # for the static `header` scheme
    value: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        scheme = REGISTRY.get(self.scheme)
        if scheme is None:
            raise SigningError(f"unknown signing scheme {self.scheme!r}; expected one of: {', '.join(REGISTRY)}")
        scheme.check(self)

    def __repr__(self) -> str:  # never show a secret
        return f"Signing(scheme={self.scheme!r}, secrets=<{len(self.secrets)} hidden>, key_id={self.key_id!r})"


@dataclass(frozen=True)
class Message:
    """What a signature covers: the exact bytes and the request they travel in."""

    body: bytes
    event_id: str
    timestamp: int  # Unix seconds of this attempt
    method: str = "POST"
    url: str = ""


@dataclass(frozen=True, slots=True)
class Received:
    """A request as a consumer sees it, and how it checks it."""

    body: bytes
    headers: Mapping[str, str]
    method: str = "POST"
    url: str = ""
    algorithm: str = ""
    header: str = ""
    tolerance: float | None = None  # seconds a signed timestamp may be away from now; None: not checked
    now: float | None = None

    def get(self, name: str) -> str | None:
        """A header by name, whatever its case."""
        lower = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lower:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool | None  # None: nothing to check (no secret, or an unsigned scheme)
    reason: str

    def __str__(self) -> str:
        return {True: "signature valid", False: f"signature INVALID: {self.reason}", None: self.reason}[self.ok]


VALID = Verdict(True, "")


@dataclass(frozen=True)
class Scheme:
    """One signing scheme: its name, both halves of its contract, and what configures it."""

    name: str
    summary: str  # one line for people: the headers it writes and how
    sign: Callable[[Signing, Message], dict[str, str]]
    verify: Callable[[Sequence[str], Received], Verdict] | None = None  # None: nothing to check
    needs_secret: bool = True
    signs: bool = True  # False only for the scheme that adds nothing
    every_secret: bool = False  # one request carries a signature per secret (rotation without a fault)
    algorithms: tuple[str, ...] = ()  # what ``algorithm`` may name; the first is the default
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # its own settings, as JSON Schema
    stop_header: tuple[str, str] | None = None  # a response header and value that ask the sender to stop
    key_defaults: Callable[[tuple[str, ...]], dict[str, str]] | None = None  # algorithm/key_id a key implies
    public_keys: Callable[[Signing], list[dict[str, Any]]] | None = None  # what a JWKS publishes
    validate: Callable[[Signing], None] | None = None  # more checks of a configuration
    advice: Callable[[Signing], str] | None = None  # what a user should know of a configuration that works
    # whether a signature carries the attempt's time, so every attempt needs its own (the safe default);
    # one that does not is made once per delivery: its retries send the same signature
    timed: Callable[[Signing], bool] = lambda signing: True
    # a scheme whose signature is the body itself (a Security Event Token: the event's claims as a
    # signed JWT): the bytes sent instead of the event's JSON, and their Content-Type
    wrap: Callable[[Signing, Message], bytes] | None = None
    content_type: str = "application/json"

    def __post_init__(self) -> None:
        if self.name in REGISTRY:
            raise ValueError(f"signing scheme {self.name!r} is defined twice")
        REGISTRY[self.name] = self

    def check(self, signing: Signing) -> None:
        """Refuse a configuration this scheme cannot sign with, saying what is missing."""
        if self.needs_secret and not signing.secrets:
            raise SigningError(f"signing scheme {self.name!r} needs a secret or key")
        if self.algorithms and signing.algorithm and signing.algorithm not in self.algorithms:
            raise SigningError(f"{self.name} supports {', '.join(self.algorithms)}, not {signing.algorithm!r}")
        if self.validate is not None:
            self.validate(signing)


REGISTRY: dict[str, Scheme] = {}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def mac(key: bytes, data: bytes, digest: str = "sha256") -> bytes:
    return hmac.new(key, data, digest).digest()


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time equality, as consumers compare signatures."""
    a = a.encode() if isinstance(a, str) else a
    b = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a, b)


def hex_hmac_verdict(name: str, secrets: Sequence[str], received: Received, digest: str) -> Verdict:
    """A lowercase-hex HMAC of the body in one header (Keycloak's extension, IDaaS's legacy product)."""
    signature = received.get(name)
    if not signature:
        return Verdict(False, f"missing {name}")
    for secret in secrets:
        if same(hmac.new(secret.encode(), received.body, digest).hexdigest(), signature):
            return VALID
    return Verdict(False, f"{name} does not match the body")
