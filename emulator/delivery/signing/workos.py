"""WorkOS: ``WorkOS-Signature: t=<ms>, v1=<hex>``, a hex HMAC-SHA256 of ``<ms>.<body>``.

The timestamp is in milliseconds; WorkOS's SDKs split the header on ``", "`` and refuse a
timestamp more than 180 s away from now (workos-python ``webhooks/_verification.py``,
workos-node ``webhooks.constructEvent``). The verifier here checks the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

from emulator.delivery.signing.base import VALID, Message, Received, Scheme, Signing, Verdict, same

HEADER = "WorkOS-Signature"


def _digest(secret: str, stamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _sign(signing: Signing, m: Message) -> dict[str, str]:
    stamp = str(m.timestamp * 1000)
    return {HEADER: f"t={stamp}, v1={_digest(signing.secrets[0], stamp, m.body)}"}


def _verify(secrets: Sequence[str], r: Received) -> Verdict:
    header = r.get(HEADER)
    if not header:
        return Verdict(False, f"missing {HEADER}")
    parts = dict(part.split("=", 1) for part in header.split(", ") if "=" in part)
    stamp, offered = parts.get("t", ""), parts.get("v1", "")
    if not (stamp.isdigit() and offered):
        return Verdict(False, f"{HEADER} is not 't=<ms>, v1=<hex>'")
    if r.tolerance is not None and abs((r.now or time.time()) - int(stamp) / 1000) > r.tolerance:
        return Verdict(False, f"{HEADER} t={stamp} is more than {r.tolerance:g} s away from now")
    if any(same(_digest(secret, stamp, r.body), offered) for secret in secrets):
        return VALID
    return Verdict(False, f"{HEADER} v1 does not match the body")


SCHEME = Scheme("workos", f"{HEADER}: t=<ms>, v1=<hex HMAC-SHA256 of '<ms>.<body>'>", _sign, _verify)
