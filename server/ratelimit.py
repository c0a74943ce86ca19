"""Fixed-window rate limits in Redis, shared by every app process.

`hit` counts each hit in Redis (login throttling: a few hits a minute). `Leases.hit` serves the per-key API
limit, which every request passes: a process takes its hits from Redis a share at a time (`lease_size`) and
admits them without a round trip until the share is spent, so a request costs Redis a round trip only once
per share. Across processes no more than the limit is ever admitted in a window, since every share is
counted in Redis before it is used; a share a process leaves unspent when the window ends is lost, so a key
may be refused up to (processes × (share − 1)) hits before its limit. Limits under `EXACT_BELOW` take shares
of one: every hit is counted in Redis, as `hit` does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from server.infra import redis

EXACT_BELOW = 40  # limits under this count every hit in Redis
SHARE_OF_LIMIT = 20  # above it, a process takes a twentieth of the limit at a time
MAX_LEASES = 10_000  # buckets a process keeps shares of before it forgets those of past windows


def _window(window_seconds: int) -> tuple[float, int]:
    now = time.time()
    return now, int(now // window_seconds)


def _wait(now: float, window: int, window_seconds: int) -> int:
    """Whole seconds until `window` ends (at least 1): a Retry-After."""
    return max(1, int((window + 1) * window_seconds - now + 0.999))


async def _count(bucket: str, window: int, window_seconds: int, hits: int) -> int:
    """Add `hits` to the bucket's counter for `window`; the counter after it."""
    key = f"rl:{bucket}:{window}"
    pipe = redis().pipeline(transaction=False)
    pipe.incrby(key, hits)
    pipe.expire(key, window_seconds + 1)
    count, _ = await pipe.execute()
    return int(count)


async def hit(bucket: str, limit: int, window_seconds: int) -> int | None:
    """Count one hit; return seconds to wait if over the limit, else None."""
    now, window = _window(window_seconds)
    if await _count(bucket, window, window_seconds, 1) > limit:
        return _wait(now, window, window_seconds)
    return None


async def blocked(bucket: str, limit: int, window_seconds: int) -> int | None:
    """Seconds to wait if `bucket` already reached its limit in this window, without counting."""
    now, window = _window(window_seconds)
    count = int(await redis().get(f"rl:{bucket}:{window}") or 0)
    if count >= limit:
        return _wait(now, window, window_seconds)
    return None


def lease_size(limit: int) -> int:
    """Hits a process takes from Redis at once for a bucket with this limit."""
    return 1 if limit < EXACT_BELOW else limit // SHARE_OF_LIMIT


@dataclass
class _Share:
    window: int
    left: int  # hits this process may still admit in the window without asking Redis
    full: bool  # Redis said the window is full: refuse without asking again until it ends


class Leases:
    """This process's shares of rate-limit windows (one instance per process; tests make more to play several)."""

    def __init__(self) -> None:
        self._shares: dict[str, _Share] = {}

    async def hit(self, bucket: str, limit: int, window_seconds: int) -> int | None:
        """Admit one hit of `bucket`: None, or the seconds to wait when the window is full."""
        now, window = _window(window_seconds)
        share = self._shares.get(bucket)
        if share is None or share.window != window:
            share = self._start(bucket, window)
        if share.left == 0 and not share.full:
            size = lease_size(limit)
            count = await _count(bucket, window, window_seconds, size)
            granted = max(0, min(size, limit - (count - size)))  # what of the share still fits under the limit
            share.left += granted  # requests of this process that asked at the same time each add their own
            share.full = granted < size
        if share.left > 0:
            share.left -= 1
            return None
        return _wait(now, window, window_seconds)

    def _start(self, bucket: str, window: int) -> _Share:
        if len(self._shares) >= MAX_LEASES:
            self._shares = {b: s for b, s in self._shares.items() if s.window >= window}
            if len(self._shares) >= MAX_LEASES:
                self._shares.clear()
        share = self._shares[bucket] = _Share(window, 0, False)
        return share


leases = Leases()
