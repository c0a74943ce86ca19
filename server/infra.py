"""Process-wide connections to Redis (PostgreSQL's pool lives in server.db)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

_redis: Redis | None = None


async def open_redis(url: str) -> Redis:
    global _redis
    if _redis is None:
        # A blocking pool: a burst beyond its size waits for a connection instead of failing.
        pool = BlockingConnectionPool.from_url(url, decode_responses=True, health_check_interval=30,
                                               max_connections=200, timeout=10)
        _redis = Redis(connection_pool=pool)
        await _redis.ping()
    return _redis


def redis() -> Redis:
    if _redis is None:
        raise RuntimeError("Redis is not connected yet")
    return _redis


async def close_redis() -> None:
    global _redis
    if _redis is not None:
        await _redis.aclose()
        _redis = None
