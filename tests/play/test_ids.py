"""Ids from the run's generator, checked against the formats' own definitions."""

from __future__ import annotations

import random
import uuid

from emulator.play.ids import KSUID_EPOCH, _ksuid, ksuid, uuid4, uuid7

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(value: int, width: int) -> str:
    """Base62 the slow way, one digit at a time (a KSUID is 27 such digits, zero-padded)."""
    digits = ""
    for _ in range(width):
        value, digit = divmod(value, 62)
        digits = BASE62[digit] + digits
    assert value == 0
    return digits


def test_a_ksuid_is_its_time_and_payload_in_base62() -> None:
    for seconds, payload in [(KSUID_EPOCH, 0), (KSUID_EPOCH + 2**32 - 1, 2**128 - 1), (KSUID_EPOCH + 1, 1)]:
        assert _ksuid(seconds, payload) == base62((seconds - KSUID_EPOCH) << 128 | payload, 27)
    for seed in range(2000):
        seconds = random.Random(-seed).randrange(KSUID_EPOCH, KSUID_EPOCH + 2**32)
        payload = random.Random(seed).getrandbits(128)  # what ksuid draws from the run's generator
        expected = base62((seconds - KSUID_EPOCH) << 128 | payload, 27)
        assert ksuid(random.Random(seed), seconds * 1000 + seed % 1000) == expected


def test_uuids_have_their_version_and_variant() -> None:
    r = random.Random(14)
    for _ in range(200):
        four, seven = uuid.UUID(uuid4(r)), uuid.UUID(uuid7(r, 1_767_225_600_123))
        assert (four.version, seven.version) == (4, 7) and four.variant == seven.variant == uuid.RFC_4122
        assert seven.int >> 80 == 1_767_225_600_123
