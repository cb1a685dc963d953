"""A static header (Strivacity, Auth0's log streams): a name and a value of your choice, no signature."""

from __future__ import annotations

from collections.abc import Sequence

from emulator.delivery.signing.base import VALID, Message, Received, Scheme, Signing, SigningError, Verdict, same


def _sign(signing: Signing, m: Message) -> dict[str, str]:
    return {signing.header: signing.value}


def _verify(secrets: Sequence[str], r: Received) -> Verdict:
    name = r.header or "Authorization"
    value = r.get(name)
    if value is None:
        return Verdict(False, f"missing {name}")
    return VALID if any(same(value, s) for s in secrets) else Verdict(False, f"{name} has another value")


def _validate(signing: Signing) -> None:
    if not (signing.header and signing.value):
        raise SigningError("signing scheme 'header' needs a header name and a value")


SCHEME = Scheme(
    "header",
    "a static header: the name in 'header', the value in 'value' (or the secret)",
    _sign,
    _verify,
    needs_secret=False,
    validate=_validate,
    timed=lambda signing: False,
)
