"""The Piccolo engine class, importable without a reachable database, and its bounded pool."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from server.errors import ServiceUnavailable

# Waiting longer than this for a pooled connection gives up with a 503 (PAYDECK_DB_POOL_TIMEOUT_SECONDS).
DEFAULT_ACQUIRE_TIMEOUT = 5.0
# Set by server.db.patience(): work that must not give up as soon as a new request would.
acquire_timeout_override: ContextVar[float | None] = ContextVar("paydeck_acquire_timeout", default=None)


class PoolExhausted(ServiceUnavailable):
    """Every pooled connection stayed busy for the whole acquire timeout."""

    def __init__(self, waited: float) -> None:
        super().__init__(f"the service is busy: no database connection became free within {waited:g}s; "
                         "retry shortly (an Idempotency-Key makes the retry safe)", retry_after=1)


class _BoundedAcquire:
    """`pool.acquire()` as asyncpg has it (awaitable and `async with`), turning its timeout into PoolExhausted."""

    def __init__(self, pool: Any, timeout: float) -> None:
        self._timeout = timeout
        self._context = pool.acquire(timeout=timeout)

    async def _get(self) -> Any:
        try:
            return await self._context
        except TimeoutError:
            raise PoolExhausted(self._timeout) from None

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._get().__await__()

    async def __aenter__(self) -> Any:
        try:
            return await self._context.__aenter__()
        except TimeoutError:
            raise PoolExhausted(self._timeout) from None

    async def __aexit__(self, *exc: Any) -> None:
        await self._context.__aexit__(*exc)


class BoundedPool:
    """An asyncpg pool whose every acquire waits at most `acquire_timeout` seconds.

    A request never waits on the pool for ever: when all connections stay
    busy it fails fast with 503 `service_unavailable` and `Retry-After`.
    Everything else is the asyncpg pool's own.
    """

    def __init__(self, pool: Any, acquire_timeout: float) -> None:
        self._pool = pool
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> _BoundedAcquire:
        return _BoundedAcquire(self._pool, timeout or acquire_timeout_override.get() or self.acquire_timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


class PaydeckEngine(PostgresEngine):
    """A PostgresEngine that does not connect while being constructed, with a bounded pool.

    Piccolo's engine checks the server version at import time; our URL may
    only be known after the embedded server has started, so that check is
    left out. Extensions are created by migrations.
    """

    acquire_timeout: float = DEFAULT_ACQUIRE_TIMEOUT

    async def check_version(self) -> None:  # type: ignore[override]
        return None

    async def prep_database(self) -> None:
        return None

    async def start_connection_pool(self, **kwargs: Any) -> None:
        if self.pool is None:
            await super().start_connection_pool(**kwargs)
            self.pool = BoundedPool(self.pool, self.acquire_timeout)  # type: ignore[assignment]
