"""Fixed-window rate limits in Redis, shared by every app process."""

from __future__ import annotations

import time

from server.errors import RateLimited
from server.infra import redis


async def hit(bucket: str, limit: int, window_seconds: int) -> int | None:
    """Count one hit; return seconds to wait if over the limit, else None."""
    now = time.time()
    window = int(now // window_seconds)
    key = f"rl:{bucket}:{window}"
    pipe = redis().pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, window_seconds + 1)
    count, _ = await pipe.execute()
    if count > limit:
        return max(1, int((window + 1) * window_seconds - now + 0.999))
    return None


async def blocked(bucket: str, limit: int, window_seconds: int) -> int | None:
    """Seconds to wait if `bucket` already reached its limit in this window, without counting."""
    now = time.time()
    window = int(now // window_seconds)
    count = int(await redis().get(f"rl:{bucket}:{window}") or 0)
    if count >= limit:
        return max(1, int((window + 1) * window_seconds - now + 0.999))
    return None


async def enforce(bucket: str, limit: int, window_seconds: int, message: str) -> None:
    wait = await hit(bucket, limit, window_seconds)
    if wait is not None:
        raise RateLimited(message, retry_after=wait)
