"""The one list convention: keyset pagination on id, newest first.

REST: `limit` (1–100, default 20), opaque `cursor`; answers carry `has_more`
and `next_cursor`. GraphQL connections take `first`/`after` with the same
rules and cursors.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from server.errors import InvalidRequest

T = TypeVar("T")
MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def parse_limit(raw: Any, param: str = "limit") -> int:
    message = f"{param} must be an integer between 1 and {MAX_LIMIT}"
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if isinstance(raw, bool):
        raise InvalidRequest(message, param=param)
    try:
        value = int(raw) if isinstance(raw, int) else int(str(raw).strip(), 10)
    except ValueError:
        raise InvalidRequest(message, param=param) from None
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidRequest(message, param=param)
    return value


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, param: str = "cursor") -> str | None:
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value = data["id"]
        if not isinstance(value, str) or len(value) > 64:
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("invalid pagination cursor", param=param) from None


def id_of(row: Any) -> str:
    """The id a row is paged by: a typed row's `id`, or a dict row's `"id"`."""
    return str(row["id"] if isinstance(row, Mapping) else row.id)


@dataclass
class Page(Generic[T]):
    items: list[T]
    has_more: bool
    next_cursor: str | None

    @classmethod
    def from_rows(cls, rows: list[T], limit: int, id_of: Callable[[T], str] = id_of) -> Page[T]:
        """`rows` was fetched with LIMIT limit + 1."""
        has_more = len(rows) > limit
        items = rows[:limit]
        return cls(items, has_more, encode_cursor(id_of(items[-1])) if has_more and items else None)
