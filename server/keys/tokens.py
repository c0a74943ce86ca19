"""API key strings: `sk_test_` + 32 random base62 characters + 6-character checksum.

The checksum lets a malformed key be told apart from an unknown one without
a database lookup; only a SHA-256 hash of the whole key is ever stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib

from server.errors import AuthenticationFailed, ErrorCode

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KIND_PREFIX = {"secret": "sk", "publishable": "pk", "restricted": "rk"}
PREFIX_KIND = {v: k for k, v in KIND_PREFIX.items()}
RANDOM_LEN = 32
CHECK_LEN = 6
PATTERN = re.compile(rf"^(sk|pk|rk)_(test|live)_([0-9A-Za-z]{{{RANDOM_LEN}}})([0-9A-Za-z]{{{CHECK_LEN}}})$")


def _base62(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, rem = divmod(value, 62)
        out.append(BASE62[rem])
    return "".join(reversed(out))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECK_LEN)


def generate(kind: str, livemode: bool) -> str:
    body = f"{KIND_PREFIX[kind]}_{'live' if livemode else 'test'}_" + "".join(
        secrets.choice(BASE62) for _ in range(RANDOM_LEN)
    )
    return body + _checksum(body)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display(token: str) -> str:
    """What the dashboard shows once the key is no longer visible: prefix and last four."""
    head = token[: token.index("_", 3) + 1]
    return f"{head}…{token[-4:]}"


def parse(token: str) -> tuple[str, bool]:
    """(kind, livemode) of a well-formed key; AuthenticationFailed otherwise."""
    match = PATTERN.match(token)
    if not match or _checksum(token[: -CHECK_LEN]) != match.group(4):
        raise AuthenticationFailed(
            "malformed API key: expected a key such as sk_test_… as issued in the dashboard",
            code=ErrorCode.API_KEY_MALFORMED,
        )
    return PREFIX_KIND[match.group(1)], match.group(2) == "live"
