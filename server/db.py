"""Database access: the engine, transactions with after-commit hooks, raw SQL.

Writes open a transaction in a service method with `transaction()`. Work that
must happen only if the write commits (Redis publish, cache invalidation) is
registered with `after_commit()`; it runs after COMMIT and is dropped on
rollback.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from piccolo.engine.finder import engine_finder

from server.db_engine import PaydeckEngine

log = logging.getLogger(__name__)

_pending: contextvars.ContextVar[list[Callable[[], Awaitable[None]]] | None] = contextvars.ContextVar(
    "paydeck_after_commit", default=None
)


def engine() -> PaydeckEngine:
    db = engine_finder()
    assert isinstance(db, PaydeckEngine), "piccolo_conf.DB must be a PaydeckEngine"
    return db


def configure(url: str) -> None:
    engine().config = {"dsn": url}


async def open_pool(min_size: int = 2, max_size: int = 20) -> None:
    db = engine()
    if db.pool is None:
        await db.start_connection_pool(min_size=min_size, max_size=max_size)


async def close_pool() -> None:
    db = engine()
    if db.pool is not None:
        await db.close_connection_pool()


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[Any]:
    """A transaction whose after-commit hooks run once it has committed.

    Nested calls join the outer transaction and its hooks.
    """
    db = engine()
    if db.current_transaction.get() is not None:
        yield db.current_transaction.get()
        return
    hooks: list[Callable[[], Awaitable[None]]] = []
    token = _pending.set(hooks)
    try:
        async with db.transaction() as txn:
            yield txn
    finally:
        _pending.reset(token)
    for hook in hooks:
        try:
            await hook()
        except Exception:  # a failed side effect must not undo a committed write
            log.exception("after-commit hook failed")


def after_commit(hook: Callable[[], Awaitable[None]]) -> None:
    hooks = _pending.get()
    if hooks is None:
        raise RuntimeError("after_commit() called outside transaction()")
    hooks.append(hook)


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run raw SQL ($1, $2 placeholders) on the current transaction or the pool."""
    db = engine()
    txn = db.current_transaction.get()
    if txn is not None:
        rows = await txn.connection.fetch(sql, *args)
    elif db.pool is not None:
        async with db.pool.acquire() as conn:
            rows = await conn.fetch(sql, *args)
    else:
        conn = await db.get_new_connection()
        try:
            rows = await conn.fetch(sql, *args)
        finally:
            await conn.close()
    return [dict(r) for r in rows]


async def fetchrow(sql: str, *args: Any) -> dict[str, Any] | None:
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


async def execute(sql: str, *args: Any) -> None:
    await fetch(sql, *args)
