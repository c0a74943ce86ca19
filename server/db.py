"""Database access: the engine, its bounded pool, transactions with after-commit hooks, raw SQL.

This module owns every transaction helper. Writes open a transaction in a
service method with `transaction()`; no code escapes a caller's transaction
by hand. Work that must happen only if the write commits (Redis publish,
cache invalidation) is registered with `after_commit()`; it runs after
COMMIT and is dropped on rollback. A request holds at most one connection at
a time: nothing (the idempotency middleware included) keeps a transaction
open around a handler, and a call to the card processor must happen outside
any transaction (`forbid_transaction()`), never while a row lock is held.
Waiting for a pooled connection is bounded (`PAYDECK_DB_POOL_TIMEOUT_SECONDS`,
then 503 `service_unavailable`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

import asyncpg
import msgspec
from piccolo.engine.finder import engine_finder

from server import faults
from server.db_engine import PaydeckEngine, acquire_timeout_override
from server.settings import get_settings

log = logging.getLogger(__name__)
Row = TypeVar("Row")

_pending: contextvars.ContextVar[list[Callable[[], Awaitable[None]]] | None] = contextvars.ContextVar(
    "paydeck_after_commit", default=None
)


_txn_locks: dict[int, tuple[Any, asyncio.Lock]] = {}

# Read replicas (server.replicas.router installs these): a SELECT outside any transaction, in a block
# marked `replica_reads()`, may run on the pool `_read_route()` returns; `_wrote()` runs after each commit.
_reading: contextvars.ContextVar[bool] = contextvars.ContextVar("paydeck_replica_reads", default=False)
_read_route: Callable[[], Awaitable[Any | None]] | None = None
_wrote: Callable[[], Awaitable[None]] | None = None
_replica_failed: Callable[[Any, BaseException], None] | None = None
REPLICA_FAILURES = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                    asyncpg.exceptions.ReadOnlySQLTransactionError, asyncpg.exceptions.CannotConnectNowError)


@functools.cache
def engine() -> PaydeckEngine:
    """piccolo_conf.DB, found once: Piccolo's finder imports the conf module again on every call, and every
    query asks for the engine. `configure` changes the engine's settings, never the object."""
    db = engine_finder()
    assert isinstance(db, PaydeckEngine), "piccolo_conf.DB must be a PaydeckEngine"
    return db


def configure(url: str) -> None:
    engine().config = {"dsn": url}


# No transaction of the app may stay open longer than this. Work that scans
# recent rows by creation time (webhook fan-out) relies on it: an event
# cannot commit later than this after it was written.
TRANSACTION_TIMEOUT = "5min"


async def _session_settings(db: PaydeckEngine) -> dict[str, str]:
    """Connection-level defaults (they survive the pool's RESET ALL between uses)."""
    probe = await asyncpg.connect(**db.config)
    try:
        major = probe.get_server_version().major
    finally:
        await probe.close()
    settings = {"idle_in_transaction_session_timeout": TRANSACTION_TIMEOUT}
    if major >= 17:  # transaction_timeout exists from PostgreSQL 17
        settings["transaction_timeout"] = TRANSACTION_TIMEOUT
    return settings


async def open_pool(min_size: int = 2, max_size: int = 20, acquire_timeout: float | None = None) -> None:
    """Open the pool; every acquire waits at most `acquire_timeout` (default: the setting) before a 503."""
    db = engine()
    if db.pool is None:
        db.acquire_timeout = acquire_timeout or get_settings().db_pool_timeout_seconds
        await db.start_connection_pool(min_size=min_size, max_size=max_size,
                                       server_settings=await _session_settings(db))


POOL_CLOSE_SECONDS = 10.0


async def close_pool(grace: float = POOL_CLOSE_SECONDS) -> None:
    """Close gracefully, but never hang a shutdown: asyncpg's close waits, without a limit, for every
    connection to be released, and one held by a task that never finishes would stop `paydeck run`
    from exiting on Ctrl-C. After `grace` seconds the remaining connections are terminated."""
    db = engine()
    pool = db.pool
    if pool is None:
        return
    try:
        await asyncio.wait_for(asyncio.shield(pool.close()), grace)
    except TimeoutError:
        log.warning("database connections still in use after %.0fs of shutdown; terminating them", grace)
        pool.terminate()
    finally:
        if db.pool is pool:
            db.pool = None


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[Any]:
    """A transaction whose after-commit hooks run once it has committed.

    Nested calls join the outer transaction and its hooks inside a savepoint:
    an error in the nested block undoes only what that block wrote, so the
    caller's larger write can still record the failure and commit.
    """
    db = engine()
    outer = db.current_transaction.get()
    if outer is not None:
        hooks_before = len(_pending.get() or [])
        savepoint = await outer.savepoint()
        try:
            yield outer
        except BaseException:
            await savepoint.rollback_to()
            pending = _pending.get()
            if pending is not None:
                del pending[hooks_before:]
            raise
        await savepoint.release()
        return
    hooks: list[Callable[[], Awaitable[None]]] = []
    token = _pending.set(hooks)
    txn = None
    try:
        async with db.transaction() as txn:
            yield txn
            faults.before_commit()
            try:
                await txn.commit()
            except BaseException:
                # A failed COMMIT (a deferred ledger check) ends the transaction on the server;
                # mark it so Piccolo releases the connection instead of trying to roll back.
                txn._rolled_back = True
                raise
    finally:
        _pending.reset(token)
        _txn_locks.pop(id(txn), None)
    await _committed(hooks)


async def _committed(hooks: list[Callable[[], Awaitable[None]]]) -> None:
    """What follows every commit: read routing learns of the write, the hooks run, a test fault may strike."""
    if _wrote is not None:
        hooks.insert(0, _wrote)  # this principal's next reads must see what just committed
    for hook in hooks:
        try:
            await hook()
        except Exception:  # a failed side effect must not undo a committed write
            log.exception("after-commit hook failed")
    faults.after_commit()


def route_reads(route: Callable[[], Awaitable[Any | None]] | None, wrote: Callable[[], Awaitable[None]] | None,
                failed: Callable[[Any, BaseException], None] | None) -> None:
    global _read_route, _wrote, _replica_failed
    _read_route, _wrote, _replica_failed = route, wrote, failed


@contextlib.contextmanager
def replica_reads(allowed: bool = True) -> Iterator[None]:
    """In this block a plain SELECT may read a replica (`allowed`), or must read the primary (not `allowed`)."""
    token = _reading.set(allowed)
    try:
        yield
    finally:
        _reading.reset(token)


def routes_reads() -> bool:
    """Read replicas are configured: it is worth telling which requests only read."""
    return _read_route is not None


def _replica_candidate(sql: str) -> bool:
    return _read_route is not None and _reading.get() and sql.lstrip()[:6].upper() == "SELECT"


@contextlib.contextmanager
def patience(seconds: float) -> Iterator[None]:
    """Wait up to `seconds` for pooled connections in this block: for finishing work already done
    (storing a response whose effects committed), which should not give up as soon as new work does."""
    token = acquire_timeout_override.set(seconds)
    try:
        yield
    finally:
        acquire_timeout_override.reset(token)


def in_transaction() -> bool:
    return engine().current_transaction.get() is not None


def forbid_transaction(what: str) -> None:
    """Refuse to go on inside a transaction: `what` (a processor call) must not hold a connection or a lock."""
    if in_transaction():
        raise RuntimeError(f"{what} must not run inside a database transaction: commit first (two phases)")


DEADLOCK_ATTEMPTS = 3


async def deadlock_retried(work: Callable[[], Awaitable[Row]]) -> Row:
    """`work()`, a whole transaction, run again when PostgreSQL ended it to break a deadlock (nothing of it
    was committed, and its after-commit hooks were dropped with it). For work that must lock many tables in
    one order while other writers lock some of them in another: deleting an account's test data table by
    table while the analytics writer upserts its facts and rollups. Inside a caller's transaction there is
    nothing to run again: the deadlock is the caller's."""
    if not in_transaction():
        for attempt in range(1, DEADLOCK_ATTEMPTS):
            try:
                return await work()
            except asyncpg.DeadlockDetectedError:
                log.info("a deadlock ended the transaction (attempt %d of %d); running it again", attempt,
                         DEADLOCK_ATTEMPTS)
    return await work()


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
        # Tasks started inside a transaction share its connection: their queries take turns.
        lock = _txn_locks.get(id(txn))
        if lock is None or lock[0] is not txn:
            lock = _txn_locks[id(txn)] = (txn, asyncio.Lock())
        async with lock[1]:
            rows = await txn.connection.fetch(sql, *args)
    elif _replica_candidate(sql) and (replica := await _read_route()) is not None:  # type: ignore[misc]
        try:
            async with replica.acquire(timeout=db.acquire_timeout) as conn:
                rows = await conn.fetch(sql, *args)
        except REPLICA_FAILURES as exc:
            if _replica_failed is not None:
                _replica_failed(replica, exc)
            return await _on_primary(sql, args)
    elif db.pool is not None:
        async with db.pool.acquire() as conn:
            rows = await conn.fetch(sql, *args)
    else:
        own = await db.get_new_connection()
        try:
            rows = await own.fetch(sql, *args)
        finally:
            await own.close()
    return [dict(r) for r in rows]


async def _on_primary(sql: str, args: tuple) -> list[dict[str, Any]]:
    with replica_reads(False):
        return await fetch(sql, *args)


async def fetchrow(sql: str, *args: Any) -> dict[str, Any] | None:
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


async def fetch_as(row_type: type[Row], sql: str, *args: Any) -> list[Row]:
    """Raw SQL whose rows come back as `row_type` (a msgspec Struct of the selected columns)."""
    return [msgspec.convert(row, row_type) for row in await fetch(sql, *args)]


async def fetchrow_as(row_type: type[Row], sql: str, *args: Any) -> Row | None:
    rows = await fetch_as(row_type, sql, *args)
    return rows[0] if rows else None


async def execute(sql: str, *args: Any) -> None:
    await fetch(sql, *args)


async def fetch_committing(sql: str, *args: Any) -> list[dict[str, Any]]:
    """One statement that is a whole write (a change folded into one SQL function call): outside a transaction
    it commits on its own, without the BEGIN and COMMIT round trips; inside one it joins it, as `fetch` does.

    Committing on its own, it is a commit like `transaction()`'s: the principal's next reads see it (read
    routing) and the test faults count it (before: nothing is written; after: it is durable)."""
    if in_transaction():
        return await fetch(sql, *args)
    faults.before_commit()
    with replica_reads(False):
        rows = await fetch(sql, *args)
    await _committed([])
    return rows


async def ping() -> None:
    """A round trip to PostgreSQL (readiness)."""
    await fetch("SELECT 1")


def insert_sql(table: str, columns: Sequence[str], suffix: str = "") -> str:
    """`INSERT INTO table (a, b) VALUES ($1, $2) suffix`: pass the values in the order of `columns`.

    Column names come from our code (a typed row's fields or a service's dict), never from input.
    """
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) {suffix}".rstrip()


def set_sql(columns: Sequence[str], first: int) -> str:
    """`a = $first, b = $first+1` for an UPDATE whose other parameters take $1 .. $first-1."""
    return ", ".join(f"{column} = ${first + i}" for i, column in enumerate(columns))
