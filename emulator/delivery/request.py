"""One attempt's request as it goes on the wire: the body, the signature and the Content-Type, with
the delivery's request faults applied.

The sender and the Locust users (``emulator.load``) both build their requests here, so a load test
puts exactly what a run would on the wire, faults included, and no second copy of the rules exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from emulator.delivery.faults import Fault, request_faults, signature_headers, spoil
from emulator.delivery.framing import frame
from emulator.delivery.signing import Message, scheme, sign
from emulator.delivery.targets import Target


@dataclass(slots=True)
class Outgoing:
    """What one attempt sends besides the target's fixed headers."""

    body: bytes
    headers: dict[str, str]  # the signature's headers, then Content-Type
    injected: list[str] = field(default_factory=list)  # the request faults applied, in words


def signed_request(
    target: Target, event_id: str, body: bytes, timestamp: int, faults: Sequence[Fault] = ()
) -> Outgoing:
    """``body`` signed for an attempt at ``timestamp`` (Unix seconds), changed by ``faults`` (the
    request faults of the delivery's plan); a ``SigningError`` when the target cannot sign."""
    signing = target.signing
    kind = scheme(signing.scheme)
    if target.framing != "object":
        body = frame(body, target.framing)
    if kind.wrap is not None:  # the body a scheme wraps the event in (a SET): what the faults change too
        body = kind.wrap(signing, Message(body, event_id, timestamp, "POST", target.url))
    if not faults:
        headers = sign(signing, Message(body, event_id, timestamp, "POST", target.url))
        headers["Content-Type"] = kind.content_type
        return Outgoing(body, headers)
    req = request_faults(list(faults), body, timestamp, signing.secrets)
    if req.secrets is not None and kind.signs:
        # a scheme that carries a signature per secret signs with both; otherwise with the previous alone
        signing = dataclasses.replace(signing, secrets=req.secrets if kind.every_secret else req.secrets[-1:])
    headers = sign(signing, Message(req.signed, event_id, req.timestamp, "POST", target.url))
    if req.signature == "wrong":
        headers = spoil(headers, signing.header)
    elif req.signature == "missing":
        for name in signature_headers(headers, signing.header):
            del headers[name]
    changed = any(f.kind == "content_type" for f in faults)
    headers["Content-Type"] = req.content_type if changed else kind.content_type
    return Outgoing(req.body, headers, req.injected)
