"""A delivery as a command a person can run again: ``curl`` with the request the sender would make
now (the target's headers, its scheme's signature made for this moment, ``Content-Type``), and not
one secret in its text.

A command gets pasted into terminals, chat messages and tickets. So wherever a target holds a
credential (the ``header`` scheme's value, basic auth, a header named like a credential, a token in
the URL) the command reads it from the shell as the ``${VARIABLE}`` the target took it from, or shows
``<redacted>`` where it was given literally; and every secret the target holds is hidden from the
whole text, whatever place it turns up in. A signature is not a secret: it covers this body alone,
for the minutes a consumer's tolerance allows. Faults are not replayed: the command is the clean
request.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from emulator.delivery.redact import REDACTED, SENSITIVE_NAME, Redactor
from emulator.delivery.redact import url as redact_url
from emulator.delivery.signing import Message, seal
from emulator.delivery.targets import HIDDEN, Target, target_secrets

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Value:
    """Text as the command shows it; ``read`` when its ``${VARIABLES}`` are for the shell to fill in."""

    text: str
    read: bool = False

    def word(self) -> str:
        """One shell word: literal text single-quoted, each ``${VARIABLE}`` double-quoted when read."""
        if not self.read:
            return shlex.quote(self.text)
        parts, at = [], 0
        for found in _REFERENCE.finditer(self.text):
            if found.start() > at:
                parts.append(shlex.quote(self.text[at : found.start()]))
            parts.append(f'"${{{found.group(1)}}}"')
            at = found.end()
        if at < len(self.text) or not parts:
            parts.append(shlex.quote(self.text[at:]))
        return "".join(parts)


def _as_given(stored: Any) -> Value:
    """A credential as the target was given it: its ``${VARIABLE}`` reference, or ``<redacted>``."""
    if isinstance(stored, list):
        stored = stored[0] if stored else None
    if isinstance(stored, str) and stored != HIDDEN and _REFERENCE.search(stored):
        return Value(stored, read=True)
    return Value(REDACTED)


@dataclass(frozen=True)
class Replay:
    """The request a delivery would make now, as shown (secrets as references or redacted)."""

    url: Value
    headers: list[tuple[str, Value]]
    user: Value | None  # basic auth, given to curl as -u user:password
    body: str
    insecure: bool

    @property
    def variables(self) -> list[str]:
        """The shell variables the command reads."""
        shown = [self.url, *(v for _, v in self.headers), *([self.user] if self.user else [])]
        return sorted({name for v in shown if v.read for name in _REFERENCE.findall(v.text)})

    @property
    def redacted(self) -> bool:
        """Whether a credential given literally was left out (the command needs it filled in)."""
        shown = [self.url, *(v for _, v in self.headers), *([self.user] if self.user else [])]
        return any(REDACTED in v.text for v in shown)

    def command(self) -> str:
        lines = [f"curl -sS -X POST {self.url.word()}"]
        if self.insecure:
            lines.append("--insecure")
        if self.user is not None:
            lines.append(f"-u {self.user.word()}")
        lines += [f"-H {Value(f'{name}: {value.text}', value.read).word()}" for name, value in self.headers]
        lines.append(f"--data-binary {shlex.quote(self.body)}")
        return " \\\n  ".join(lines)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def replay(target: Target, event_id: str, body: bytes, timestamp: int) -> Replay:
    """The delivery of ``body`` to ``target`` as a request signed for ``timestamp`` (Unix seconds)."""
    stored = target.stored
    signing, given = _mapping(stored.get("signing")), _mapping(stored.get("headers"))
    auth = stored.get("basic_auth") if isinstance(stored.get("basic_auth"), dict) else None

    def shown(name: str, value: str, signed: bool) -> Value:
        if signed and target.signing.scheme == "header" and name == target.signing.header:
            return _as_given(signing.get("value") or signing.get("secret"))
        if not signed and name in given and (SENSITIVE_NAME.search(name) or _REFERENCE.search(str(given[name]))):
            return _as_given(given[name])
        return Value(value)

    body, signature = seal(target.signing, Message(body, event_id, timestamp, "POST", target.url))
    headers = [
        (name, shown(name, value, False))
        for name, value in target.headers.items()
        if not (auth is not None and name == "Authorization")  # basic auth goes as -u
    ]
    headers += [(name, shown(name, value, True)) for name, value in signature.items()]
    user = None
    if auth is not None:
        name, password = str(auth.get("username", "")), _as_given(auth.get("password"))
        user = Value(f"{name}:{password.text}", read=password.read or bool(_REFERENCE.search(name)))
    url = stored.get("url")
    if isinstance(url, str) and url != HIDDEN and _REFERENCE.search(url):
        where = Value(url, read=True)
    else:
        where = Value(redact_url(target.url) if url == HIDDEN else target.url)
    # whatever place a secret the target holds turns up in (an echo in a header, the body), it is hidden
    known = Redactor(target_secrets(target)).known

    def safe(value: Value) -> Value:
        return Value(known(value.text), value.read)

    return Replay(
        safe(where),
        [(name, safe(value)) for name, value in headers],
        safe(user) if user is not None else None,
        known(body.decode("utf-8", "replace")),
        not target.tls.verify,
    )
