"""Identifiers from the run's seeded generator, so the same seed gives the same ids."""

from __future__ import annotations

import random
import uuid

NAMESPACE = uuid.UUID("6f1d2c9e-8b1a-4e0c-9c1e-2b7f0a1d3e44")


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def uuid7(rng: random.Random, ms: int) -> str:
    """A time-ordered UUIDv7 (RFC 9562) for the given epoch milliseconds."""
    value = (ms & ((1 << 48) - 1)) << 80 | rng.getrandbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def stable_uuid(*names: str) -> str:
    """A UUID that depends only on the names (a realm, a client, a provider)."""
    return str(uuid.uuid5(NAMESPACE, "/".join(names)))
