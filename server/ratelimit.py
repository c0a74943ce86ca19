"""Fixed-window rate limits in Redis, shared by every app process."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from server.infra import redis


@dataclass(frozen=True)
class Hit:
    """One hit queued on a Redis pipeline (INCR and EXPIRE of its window's counter), to be read from its results."""

    at: float
    window: int
    window_seconds: int

    def wait(self, count: int, limit: int) -> int | None:
        """Seconds to wait if `count` (the INCR's answer) is over the limit, else None."""
        if count > limit:
            return max(1, int((self.window + 1) * self.window_seconds - self.at + 0.999))
        return None


def queue_hit(pipe: Any, bucket: str, window_seconds: int) -> Hit:
    """Add one hit of `bucket` to `pipe` (two commands: INCR, then EXPIRE), so a caller can count it in the same
    round trip as its own commands; `Hit.wait` reads the INCR's answer."""
    now = time.time()
    window = int(now // window_seconds)
    key = f"rl:{bucket}:{window}"
    pipe.incr(key)
    pipe.expire(key, window_seconds + 1)
    return Hit(now, window, window_seconds)


async def hit(bucket: str, limit: int, window_seconds: int) -> int | None:
    """Count one hit; return seconds to wait if over the limit, else None."""
    pipe = redis().pipeline(transaction=False)
    counted = queue_hit(pipe, bucket, window_seconds)
    count, _ = await pipe.execute()
    return counted.wait(count, limit)


async def blocked(bucket: str, limit: int, window_seconds: int) -> int | None:
    """Seconds to wait if `bucket` already reached its limit in this window, without counting."""
    now = time.time()
    window = int(now // window_seconds)
    count = int(await redis().get(f"rl:{bucket}:{window}") or 0)
    if count >= limit:
        return max(1, int((window + 1) * window_seconds - now + 0.999))
    return None
