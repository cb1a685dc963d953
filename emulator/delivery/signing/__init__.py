"""Signing schemes: the headers that let a consumer prove a webhook came from its IdP.

Each scheme is a function of the exact body bytes and the delivery's identity (event id, attempt
time, method, URL) to headers, and never changes the body; its ``verify`` is how the scheme's
consumers check it. One module per scheme in this package, each defining a ``Scheme``: adding a
scheme is adding a module, and every list of names is read from ``SCHEMES``. The tests check
each scheme against the library or recipe its consumers use (standardwebhooks, PyJWT, the
http-message-signatures package, a plain hex HMAC as in the Keycloak extension).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping, Sequence

from emulator.delivery.signing.base import REGISTRY, Message, Received, Scheme, Signing, SigningError, Verdict
from emulator.delivery.signing.keys import key_id_for, public_jwk

_SHARED = {"base", "jws", "keys"}
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in _SHARED:
        importlib.import_module(f"{__name__}.{_module}")

# every scheme's name, in a stable order ('none' last: the one that signs nothing)
SCHEMES: tuple[str, ...] = tuple(sorted(REGISTRY, key=lambda name: (name == "none", name)))


def scheme(name: str) -> Scheme:
    """The scheme of this name (a ``SigningError`` naming the known ones otherwise)."""
    found = REGISTRY.get(name)
    if found is None:
        raise SigningError(f"unknown signing scheme {name!r}; expected one of: {', '.join(SCHEMES)}")
    return found


def sign(signing: Signing, message: Message) -> dict[str, str]:
    """The headers to add to this attempt."""
    return REGISTRY[signing.scheme].sign(signing, message)


def verify(
    scheme_name: str,
    secrets: Sequence[str],
    body: bytes,
    headers: Mapping[str, str],
    method: str = "POST",
    url: str = "",
    algorithm: str = "",
    header: str = "",
    tolerance: float | None = None,
    now: float | None = None,
) -> Verdict:
    """Whether ``body`` and ``headers`` carry a valid signature by one of ``secrets``, as a consumer checks."""
    found = REGISTRY.get(scheme_name)
    if found is None:
        return Verdict(False, f"unknown scheme {scheme_name!r}")
    if found.verify is None:
        return Verdict(None, f"unsigned (scheme {scheme_name})")
    if not secrets:
        return Verdict(None, "signature not checked (no secret)")
    received = Received(body, headers, method, url, algorithm, header, tolerance, now)
    try:
        return found.verify(secrets, received)
    except (ValueError, TypeError, KeyError, SigningError) as exc:
        return Verdict(False, f"unreadable signature ({exc})")


def seal(signing: Signing, message: Message) -> tuple[bytes, dict[str, str]]:
    """The body as it goes on the wire (the event's JSON, or what the scheme wraps it in) and the
    headers that go with it: the signature's, then ``Content-Type``."""
    found = REGISTRY[signing.scheme]
    body = message.body
    if found.wrap is not None:
        body = found.wrap(signing, message)
        message = Message(body, message.event_id, message.timestamp, message.method, message.url)
    headers = found.sign(signing, message)
    headers["Content-Type"] = found.content_type
    return body, headers


def public_keys(signing: Signing) -> list[dict[str, object]]:
    """The JWKs a target's signing publishes (asymmetric keys only; HMAC secrets stay secret)."""
    hook = REGISTRY[signing.scheme].public_keys
    return hook(signing) if hook is not None else []


__all__ = [
    "SCHEMES",
    "Message",
    "Received",
    "Scheme",
    "Signing",
    "SigningError",
    "Verdict",
    "key_id_for",
    "public_jwk",
    "public_keys",
    "scheme",
    "seal",
    "sign",
    "verify",
]
