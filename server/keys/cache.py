"""API keys as this process last read them, so a request's authentication need not query PostgreSQL or Redis.

Every process keeps the rows it read, by token hash, for at most `MAX_AGE_SECONDS`. Revoking, rolling or
changing a key forgets them here after its commit and publishes `CHANGED` before its answer; every other
process forgets its copies when the message reaches its one Redis subscription (the events hub), which is
milliseconds later, and again whenever that subscription is made anew (messages may have been missed).
Should the message be lost, no row is older than `MAX_AGE_SECONDS` anyway, the bound the product promises
for a revoked key.

Each request also counts against its key's rate limit, a share of the limit at a time (`ratelimit.Leases`),
so a request whose key is held and whose share is not spent makes no round trip at all.
"""

from __future__ import annotations

import time
from typing import Any

from server import ratelimit
from server.events import hub
from server.infra import redis
from server.keys import queries

CHANGED = "api-keys:changed"
MAX_AGE_SECONDS = 1.0
MAX_ENTRIES = 10_000  # a process with more keys in use than this reads the rest from PostgreSQL

_rows: dict[str, tuple[float, dict[str, Any]]] = {}  # token hash -> (read at, row)


async def key_row(token_hash: str) -> dict[str, Any] | None:
    """The key's row (None for no such key), from this process's copy while it is current."""
    held = _rows.get(token_hash)
    now = time.monotonic()
    if held is not None and now - held[0] < MAX_AGE_SECONDS:
        return held[1]
    row = await queries.by_hash(token_hash)
    if row is None:
        _rows.pop(token_hash, None)
        return None
    if len(_rows) >= MAX_ENTRIES:
        _rows.clear()
    _rows[token_hash] = (now, row)
    return row


async def key_row_counted(token_hash: str, limit: int, window_seconds: int) -> tuple[dict[str, Any] | None, int | None]:
    """`key_row`, and the request counted against the key's rate limit (bucket `key:<id>`): the seconds to wait
    when over it, else None. An unknown key is never counted."""
    row = await key_row(token_hash)
    if row is None:
        return None, None
    return row, await ratelimit.leases.hit(rate_bucket(row["id"]), limit, window_seconds)


def rate_bucket(key_id: str) -> str:
    return f"key:{key_id}"


def forget() -> None:
    _rows.clear()


async def keys_changed() -> None:
    """A key was revoked, rolled or changed (committed): every process reads keys again from now on."""
    forget()
    await redis().publish(CHANGED, "1")


class _Changes:
    """The hub's listener for `CHANGED`: another process changed a key."""

    pattern = CHANGED

    def deliver(self, channel: str, data: Any) -> None:
        forget()

    def resubscribed(self) -> None:
        forget()

    def close_all(self) -> None:
        pass


hub.LISTENERS.append(_Changes())
