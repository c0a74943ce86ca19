"""Prefixed identifiers that sort by creation time.

`cus_01jd3x…`: a prefix, then 10 characters of millisecond timestamp and 16
random characters in Crockford's base32 (lower case), so the text order of
ids is their creation order and cursor pagination is keyset pagination on id.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str, at_ms: int | None = None) -> str:
    ms = at_ms if at_ms is not None else time.time_ns() // 1_000_000
    return f"{prefix}_{_encode(ms, 10)}{_encode(secrets.randbits(80), 16)}"


def id_time(value: str) -> datetime | None:
    """When an id was made (its millisecond timestamp); None for text that is not one of our ids."""
    _, sep, body = value.rpartition("_")
    if not sep or len(body) != 26 or any(c not in ALPHABET for c in body[:10]):
        return None
    ms = 0
    for char in body[:10]:
        ms = ms * 32 + ALPHABET.index(char)
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def id_floor(prefix: str, at_ms: int) -> str:
    """The smallest id that could have been created at `at_ms`."""
    return f"{prefix}_{_encode(at_ms, 10)}{'0' * 16}"
