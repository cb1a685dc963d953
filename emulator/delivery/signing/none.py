"""No signature at all: for consumers that do not check, and for the ``bad_signature`` tests' baseline."""

from __future__ import annotations

from emulator.delivery.signing.base import Message, Scheme, Signing


def _sign(signing: Signing, m: Message) -> dict[str, str]:
    return {}


SCHEME = Scheme("none", "unsigned", _sign, None, needs_secret=False, signs=False, timed=lambda signing: False)
