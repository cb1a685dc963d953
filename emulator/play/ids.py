"""Identifiers from the run's seeded generator, so the same seed gives the same ids."""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from collections.abc import Callable
from functools import lru_cache

NAMESPACE = uuid.UUID("6f1d2c9e-8b1a-4e0c-9c1e-2b7f0a1d3e44")


_VERSION_MASK = ~((0xF << 76) | (0x3 << 62))
_V4 = (0x4 << 76) | (0x2 << 62)
_V7 = (0x7 << 76) | (0x2 << 62)


def _format(value: int) -> str:
    # hex in groups of four, regrouped 8-4-4-4-12: the quickest way found in Python (the player makes
    # ids for every action, the dialect for every event; formatting was a quarter of playing)
    h = value.to_bytes(16, "big").hex("-", 2)
    return h[:4] + h[5:29] + h[30:34] + h[35:]


def uuid4(rng: random.Random) -> str:
    """A random (version 4, RFC 9562) UUID from the run's generator."""
    return _format((rng.getrandbits(128) & _VERSION_MASK) | _V4)


def uuid4_unformatted(rng: random.Random) -> int:
    """What ``uuid4`` draws, not made into text: an id no template shows costs its draw only, and
    every id drawn after it stays as it was."""
    return rng.getrandbits(128)


def uuid7(rng: random.Random, ms: int) -> str:
    """A time-ordered UUIDv7 (RFC 9562) for the given epoch milliseconds."""
    value = (ms & ((1 << 48) - 1)) << 80 | rng.getrandbits(80)
    return _format((value & _VERSION_MASK) | _V7)


@lru_cache(maxsize=4096)
def stable_uuid(*names: str) -> str:
    """A UUID that depends only on the names (a realm, a client, a provider)."""
    return str(uuid.uuid5(NAMESPACE, "/".join(names)))


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KSUID_EPOCH = 1_400_000_000  # KSUID time counts seconds from 2014-05-13T16:53:20Z


def _ksuid(seconds: int, payload: int) -> str:
    value = ((seconds - KSUID_EPOCH) & 0xFFFFFFFF) << 128 | payload
    # three 9-digit chunks (62**9 < 2**64), each split into 4 digits and 5 (62**5 < 2**30: what is
    # left is arithmetic on one-word integers), written as pairs from a table and one digit
    high, low = divmod(value, _CHUNK)
    top, middle = divmod(high, _CHUNK)
    t, tl = divmod(top, _FIVE)
    m, ml = divmod(middle, _FIVE)
    lo, ll = divmod(low, _FIVE)
    p, d = _PAIRS, _BASE62
    return (
        f"{p[t // 3844]}{p[t % 3844]}{d[tl // 14776336]}{p[tl // 3844 % 3844]}{p[tl % 3844]}"
        f"{p[m // 3844]}{p[m % 3844]}{d[ml // 14776336]}{p[ml // 3844 % 3844]}{p[ml % 3844]}"
        f"{p[lo // 3844]}{p[lo % 3844]}{d[ll // 14776336]}{p[ll // 3844 % 3844]}{p[ll % 3844]}"
    )


_CHUNK = 62**9
_FIVE = 62**5  # 14776336 is 62**4, 3844 is 62**2
_PAIRS = [a + b for a in _BASE62 for b in _BASE62]


def ksuid(rng: random.Random, ms: int) -> str:
    """A KSUID (27 base62 characters: a time in seconds, then 128 random bits), as Svix and Clerk
    make their ids (``msg_...``, ``user_...``), from the run's generator."""
    return _ksuid(ms // 1000, rng.getrandbits(128))


@lru_cache(maxsize=4096)
def ksuid_of(seed: str, ms: int) -> str:
    """A KSUID for the given time whose random part depends only on ``seed`` (the same user, the same id)."""
    return _ksuid(ms // 1000, int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16], "big"))


def digits(rng: random.Random, count: int) -> str:
    """``count`` decimal digits from the run's generator (Auth0's numeric log ids)."""
    return str(rng.randrange(10**count)).rjust(count, "0")


ID_KINDS = ("uuid4", "uuid7", "ksuid", "digits")
_ID_SPEC = re.compile(r"([A-Za-z0-9_.:-]*)\{(uuid4|uuid7|ksuid|digits:(\d{1,3}))\}([A-Za-z0-9_.:-]*)")


def id_maker(spec: str) -> Callable[[random.Random, int], str] | None:
    """How a vendor's event ids are made: ``uuid4``, ``uuid7``, or a pattern with one generator in
    braces (``msg_{ksuid}``, ``900{digits:53}``); None when ``spec`` is none of these."""
    if spec in ("uuid4", "uuid7", "ksuid"):
        spec = "{" + spec + "}"
    match = _ID_SPEC.fullmatch(spec)
    if match is None:
        return None
    before, kind, count, after = match.groups()
    if kind == "uuid4":
        return lambda rng, ms: f"{before}{uuid4(rng)}{after}"
    if kind == "uuid7":
        return lambda rng, ms: f"{before}{uuid7(rng, ms)}{after}"
    if kind == "ksuid":
        return lambda rng, ms: f"{before}{ksuid(rng, ms)}{after}"
    width = int(count)
    return lambda rng, ms: f"{before}{digits(rng, width)}{after}"
