"""Redaction by meaning: what a secret is, wherever it shows up, is never written down or shown.

A credential can come back in many shapes: a receiver that echoes the Authorization header, its
base64, or the password alone; a lowercased API key; a token in a redirect's query string; a
message that quotes the URL it could not reach. So a ``Redactor`` knows a target's secrets and the
forms derived from them, matches them whatever their case, and also hides what is a credential by
its place (URL query values, the token after an auth scheme, headers named like credentials) even
when nobody configured it. Attempt records, errors, API answers and problem details pass through it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping

REDACTED = "<redacted>"
# names of headers, query parameters and fields whose values are credentials
SENSITIVE_NAME = re.compile(r"auth|key|token|secret|signature|cookie|password|credential|session", re.I)
# the credential after an auth scheme word, in any text (a header value, an echoed body, a message)
_AFTER_SCHEME = re.compile(
    r"\b(Bearer|Basic|Token|Digest|Negotiate|Api-?Key|Key|Secret)(\s+|=)([A-Za-z0-9._~+/\-]{4,}=*)", re.I
)
# a query value in a URL written in any text (the URL of a redirect, a message that quotes one)
_QUERY_VALUE = re.compile(r"([?&][^=&#\s\"'<>]+=)([^&#\s\"'<>]+)")
_USERINFO = re.compile(r"(://[^/@\s:]*:)([^/@\s]+)(@)")
MIN_SECRET = 4  # shorter values are too common to hide everywhere they appear
KEPT_TEXT, KEPT_TEXTS = 256, 1024  # texts up to this length whose redaction is kept, and how many


def url(text: str) -> str:
    """A URL as it may be shown: no query values, no password."""
    return _by_place(text)


def _forms(secret: str) -> set[str]:
    """A secret and what it becomes on the wire: a basic-auth pair's base64 and password, a
    bearer token without its scheme word."""
    out = {secret}
    scheme, _, rest = secret.partition(" ")
    if rest:
        out.add(rest.strip())
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                pair = ""
            if ":" in pair:
                out |= {pair, pair.split(":", 1)[1]}
    return {f for f in out if len(f) >= MIN_SECRET}


class Redactor:
    """Hides the given secrets (and their derived forms, case-blind) and whatever is a credential by
    its place, in text, bytes and headers."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= _forms(secret)
        ordered = sorted(forms, key=len, reverse=True)  # the longest first: a password inside its pair
        self._text = re.compile("|".join(re.escape(f) for f in ordered), re.I) if ordered else None
        self._bytes = re.compile(b"|".join(re.escape(f.encode()) for f in ordered), re.I) if ordered else None
        # short texts already redacted: a receiver answers every attempt with the same few header values
        self._done: dict[str, str] = {}
        # the last headers redacted (in their order), and what they became: most answers repeat the one before
        self._last: tuple[list[tuple[str, str]], dict[str, str]] = ([], {})

    def text(self, text: str) -> str:
        done = self._done.get(text)
        if done is not None:
            return done
        redacted = _by_place(self._text.sub(REDACTED, text) if self._text is not None else text)
        if len(text) <= KEPT_TEXT:
            if len(self._done) >= KEPT_TEXTS:
                self._done.clear()
            self._done[text] = redacted
        return redacted

    def known(self, text: str) -> str:
        """Only the given secrets hidden: for text whose every other byte must stay as it is (a body
        a signature covers, a command that refers to ``${VARIABLES}``)."""
        return self._text.sub(REDACTED, text) if self._text is not None else text

    def bytes(self, data: bytes) -> bytes:
        if not data:
            return data
        if self._bytes is not None:
            data = self._bytes.sub(REDACTED.encode(), data)
        text = data.decode("latin-1")  # byte for byte, whatever the encoding
        redacted = _by_place(text)
        return data if redacted == text else redacted.encode("latin-1")

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Credentials by their name (Set-Cookie, Authorization, X-Api-Key), the rest by content."""
        items = list(headers.items())
        given, done = self._last
        if items == given:  # a copy: the caller owns what it gets
            return done.copy()
        done = {k: REDACTED if SENSITIVE_NAME.search(k) else self.text(v) for k, v in items}
        self._last = (items, done)
        return done.copy()


def _by_place(text: str) -> str:
    """What is a credential by its place: after an auth scheme, a URL's query values and password."""
    return _USERINFO.sub(
        rf"\1{REDACTED}\3", _QUERY_VALUE.sub(rf"\1{REDACTED}", _AFTER_SCHEME.sub(rf"\1\2{REDACTED}", text))
    )


NOTHING = Redactor()
