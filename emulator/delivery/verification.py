"""A one-time verification of an endpoint before anything is delivered to it (Okta's event hooks).

Some IdPs prove that whoever registered a webhook URL controls it: before the first event they send
a request carrying a challenge, and the endpoint must echo it back in a JSON answer. What the request
is and what the answer must hold is vendor data (``delivery.verification`` in the catalog:
``{method, header, answer}``); this module only follows it. The sender verifies each target once,
before its first attempt; when the endpoint answers wrongly, no delivery is sent (as the IdP would
not activate the hook) and each fails with a reason that says what was sent and what was expected.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from emulator.errors import Problem

_METHODS = ("GET", "POST")


@dataclass(frozen=True, slots=True)
class Verification:
    """A challenge in ``header`` of a ``method`` request, to come back as the JSON member ``answer``."""

    header: str
    answer: str
    method: str = "GET"

    def challenge(self) -> str:
        """A fresh challenge value (a transport fact, like a signature's time: not from the seed)."""
        return secrets.token_urlsafe(24)

    def head(self, request_line_and_host: bytes, headers: dict[str, str], value: str) -> bytes:
        """The request's bytes: the target's request line turned to this method, its fixed headers,
        the challenge, and no body."""
        line = request_line_and_host.split(b" ", 1)[1]
        extra = "".join(f"{k}: {v}\r\n" for k, v in {**headers, self.header: value}.items())
        return self.method.encode() + b" " + line + extra.encode("latin-1") + b"Content-Length: 0\r\n\r\n"

    def problem(self, status: int, body: bytes, value: str) -> str | None:
        """Why an answer does not verify the endpoint (None when it does), in the consumer's terms."""
        expected = f'a 2xx answer with the JSON {{"{self.answer}": "{value}"}}'
        sent = f"the one-time verification ({self.method} with {self.header}: {value})"
        if not 200 <= status < 300:
            return f"{sent} was answered HTTP {status}; expected {expected}; nothing is delivered until it is"
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            shown = repr(body[:80].decode("utf-8", "replace")) if body else "an empty body"
            return f"{sent} was answered with {shown}, not JSON; expected {expected}"
        got = data.get(self.answer) if isinstance(data, dict) else None
        if got != value:
            return f"{sent} was answered with {json.dumps(data)[:120]}; expected {expected}"
        return None


def parse_verification(spec: Any, where: str) -> Verification | None:
    """``{method, header, answer}`` from a vendor's delivery data (or a target's), None for none/false."""
    if spec in (None, False):
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("header"), str) or not isinstance(spec.get("answer"), str):
        raise Problem(f"{where}: verification is {{method, header, answer}} (header and answer are texts)")
    method = str(spec.get("method", "GET")).upper()
    if method not in _METHODS:
        raise Problem(f"{where}: verification.method is one of {', '.join(_METHODS)}, not {method!r}")
    return Verification(spec["header"], spec["answer"], method)
