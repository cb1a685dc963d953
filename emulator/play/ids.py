"""Identifiers from the run's seeded generator, so the same seed gives the same ids."""

from __future__ import annotations

import random
import uuid
from functools import lru_cache

NAMESPACE = uuid.UUID("6f1d2c9e-8b1a-4e0c-9c1e-2b7f0a1d3e44")


_VERSION_MASK = ~((0xF << 76) | (0x3 << 62))
_V4 = (0x4 << 76) | (0x2 << 62)
_V7 = (0x7 << 76) | (0x2 << 62)


def _format(value: int) -> str:
    h = value.to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid4(rng: random.Random) -> str:
    """A random (version 4, RFC 9562) UUID from the run's generator."""
    return _format((rng.getrandbits(128) & _VERSION_MASK) | _V4)


def uuid7(rng: random.Random, ms: int) -> str:
    """A time-ordered UUIDv7 (RFC 9562) for the given epoch milliseconds."""
    value = (ms & ((1 << 48) - 1)) << 80 | rng.getrandbits(80)
    return _format((value & _VERSION_MASK) | _V7)


@lru_cache(maxsize=4096)
def stable_uuid(*names: str) -> str:
    """A UUID that depends only on the names (a realm, a client, a provider)."""
    return str(uuid.uuid5(NAMESPACE, "/".join(names)))
