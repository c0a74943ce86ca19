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

from server import ratelimit
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
    return await _read(token_hash, generation, now)


async def _read(token_hash: str, generation: object, now: float) -> dict[str, Any] | None:
    """The key's row from PostgreSQL, kept by this process under the generation read before it."""
    row = await queries.by_hash(token_hash)
    if row is None:
        _rows.pop(token_hash, None)
        return None
    if len(_rows) >= MAX_ENTRIES:
        _rows.clear()
    _rows[token_hash] = (now, generation, row)
    return row


async def key_row_counted(token_hash: str, limit: int, window_seconds: int) -> tuple[dict[str, Any] | None, int | None]:
    """`key_row`, and the request counted against the key's rate limit (bucket `key:<id>`): the seconds to wait
    when over it, else None. With the key held, the generation check and the count are one Redis round trip;
    a key this process must read again is counted after it is found (an unknown key is never counted)."""
    held = _rows.get(token_hash)
    held_id = held[2]["id"] if held is not None else None
    pipe = redis().pipeline(transaction=False)
    pipe.get(GENERATION)
    counted = ratelimit.queue_hit(pipe, rate_bucket(held_id), window_seconds) if held_id is not None else None
    answers = await pipe.execute()
    now = time.monotonic()
    if held is not None and counted is not None and held[1] == answers[0] and now - held[0] < MAX_AGE_SECONDS:
        return held[2], counted.wait(answers[1], limit)
    row = await _read(token_hash, answers[0], now)
    if row is None:
        return None, None
    if counted is not None and row["id"] == held_id:  # the same key, read again: already counted
        return row, counted.wait(answers[1], limit)
    return row, await ratelimit.hit(rate_bucket(row["id"]), limit, window_seconds)


def rate_bucket(key_id: str) -> str:
    return f"key:{key_id}"


async def keys_changed() -> None:
    """A key was revoked, rolled or changed (committed): every process reads keys again from now on."""
    _rows.clear()
    await redis().incr(GENERATION)
