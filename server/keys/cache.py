"""API keys as this process last read them, so a request's authentication need not query PostgreSQL.

Every process keeps the rows it read, by token hash, for at most `MAX_AGE_SECONDS`, and only while a
generation counter in Redis is unchanged. Revoking or rolling a key bumps the counter after its commit
and before its answer, so from then on every process reads the key again: refused at once everywhere.
Should that bump fail (Redis gone between the commit and the bump), no row is older than
`MAX_AGE_SECONDS` anyway, the bound the product promises for a revoked key.
"""

from __future__ import annotations

import time
from typing import Any

from server.infra import redis
from server.keys import queries

GENERATION = "api-keys:generation"
MAX_AGE_SECONDS = 1.0
MAX_ENTRIES = 10_000  # a process with more keys in use than this reads the rest from PostgreSQL

_rows: dict[str, tuple[float, object, dict[str, Any]]] = {}  # token hash -> (read at, generation, row)


async def key_row(token_hash: str) -> dict[str, Any] | None:
    """The key's row (None for no such key), from this process's copy while it is current."""
    generation = await redis().get(GENERATION)
    now = time.monotonic()
    held = _rows.get(token_hash)
    if held is not None and held[1] == generation and now - held[0] < MAX_AGE_SECONDS:
        return held[2]
    row = await queries.by_hash(token_hash)
    if row is None:
        _rows.pop(token_hash, None)
        return None
    if len(_rows) >= MAX_ENTRIES:
        _rows.clear()
    _rows[token_hash] = (now, generation, row)
    return row


async def keys_changed() -> None:
    """A key was revoked, rolled or changed (committed): every process reads keys again from now on."""
    _rows.clear()
    await redis().incr(GENERATION)
