"""Process-wide connections to Redis (PostgreSQL's pool lives in server.db)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

_redis: Redis | None = None


async def open_redis(url: str) -> Redis:
    global _redis
    if _redis is None:
        # A blocking pool: a burst beyond its size waits for a connection instead of failing.
        # A pooled connection broken by a Redis restart is retried once on a new one, so the first request
        # after the restart does not fail in every process (only the process that restarted Redis knows).
        pool = BlockingConnectionPool.from_url(url, decode_responses=True, health_check_interval=30,
                                               max_connections=200, timeout=10, retry=Retry(NoBackoff(), 1),
                                               retry_on_error=[RedisConnectionError, ConnectionError])
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
