"""The Piccolo engine class, importable without a reachable database, and its bounded pool."""

from __future__ import annotations

import json
import struct
from contextvars import ContextVar
from typing import Any

import asyncpg
import msgspec
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

from server.errors import ServiceUnavailable
from server.outage import left_mid_operation

# Waiting longer than this for a pooled connection gives up with a 503 (PAYDECK_DB_POOL_TIMEOUT_SECONDS).
DEFAULT_ACQUIRE_TIMEOUT = 5.0
# Set by server.db.patience(): work that must not give up as soon as a new request would.
acquire_timeout_override: ContextVar[float | None] = ContextVar("paydeck_acquire_timeout", default=None)


def encode_json(value: Any) -> bytes:
    """A Python value for a json/jsonb parameter. Text is refused: it would be stored as one JSON string."""
    if isinstance(value, str | bytes):
        raise TypeError("pass json/jsonb parameters as Python values (dict, list, ...), not JSON text: "
                        "the connection's codec encodes them")
    return json.dumps(value).encode()


_msgspec_json = msgspec.json.Encoder()


def _plain(value: Any) -> bool:
    """Whether `value` is built of the JSON types alone (dict with str keys, list, tuple, str, int, bool, None,
    finite float; exact types, no subclasses), for which msgspec and the standard library mean the same JSON."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) is not str and not _plain(item)):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) is str or _plain(item) for item in value)
    if kind is float:
        return value - value == 0  # not NaN nor ±Infinity
    return False


def encode_jsonb(value: Any) -> bytes:
    """A jsonb parameter's text: msgspec (several times faster) for plain JSON values, the standard library for
    everything else, so that what `encode_json` refused is still refused the same way (a Decimal, a datetime, a
    set: TypeError; NaN: PostgreSQL's error) and nothing msgspec alone would accept gets in. jsonb keeps neither
    spacing nor key order, so the two texts are the same value once stored; the plain `json` type keeps its text
    and stays on `encode_json`."""
    if isinstance(value, str | bytes):
        return encode_json(value)  # refused
    try:
        if _plain(value):
            return _msgspec_json.encode(value)
    except (RecursionError, msgspec.EncodeError, OverflowError, UnicodeEncodeError):
        pass  # too deep, an int beyond 64 bits, a lone surrogate: as the standard library has it
    return encode_json(value)


# Binary format, so COPY (the API log writer) can use the codecs too; jsonb's binary form is a version byte + text.
JSONB_VERSION = b"\x01"


def decode_json(data: bytes) -> Any:
    """A json column's value: msgspec, several times faster than the standard library, which reads what
    msgspec refuses (a number beyond a float's range, as PostgreSQL's jsonb keeps it) as it always did."""
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        return json.loads(data)


async def register_json_codecs(conn: asyncpg.Connection) -> None:
    """json and jsonb columns read as Python values and take Python values, on every connection."""
    await conn.set_type_codec("jsonb", schema="pg_catalog", format="binary",
                              encoder=lambda value: JSONB_VERSION + encode_jsonb(value),
                              decoder=lambda data: decode_json(data[1:]))
    await conn.set_type_codec("json", schema="pg_catalog", format="binary", encoder=encode_json,
                              decoder=decode_json)
    # tsvector (API-log search words, computed by the writer): a list of lexemes, without positions.
    await conn.set_type_codec("tsvector", schema="pg_catalog", format="binary", encoder=encode_tsvector,
                              decoder=decode_tsvector)


def encode_tsvector(lexemes: list[str]) -> bytes:
    """PostgreSQL's binary tsvector: a count, then each lexeme NUL-terminated with no positions (uint16 0)."""
    if not lexemes:
        return struct.pack("!i", 0)
    return struct.pack("!i", len(lexemes)) + "\0\0\0".join(lexemes).encode() + b"\0\0\0"  # one join: per row


def decode_tsvector(data: bytes) -> list[str]:
    (count,) = struct.unpack_from("!i", data)
    lexemes, at = [], 4
    for _ in range(count):
        end = data.index(b"\0", at)
        lexemes.append(data[at:end].decode())
        (positions,) = struct.unpack_from("!H", data, end + 1)
        at = end + 3 + 2 * positions
    return lexemes


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset between uses: nothing beyond what asyncpg always does (roll back an open transaction,
    drop Python-side listeners).

    asyncpg's default reset sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every
    release: a database round trip per use of the pool, eight per confirmed payment (BENCHMARKS.md
    "Payments"). A pooled connection never holds session state, so there is nothing to undo: settings are
    `SET LOCAL`, advisory locks are `pg_advisory_xact_lock`, and LISTEN and session locks live on connections
    of their own (tests/test_pool_sessions.py keeps it so)."""


class PoolExhausted(ServiceUnavailable):
    """Every pooled connection stayed busy for the whole acquire timeout."""

    def __init__(self, waited: float) -> None:
        super().__init__(f"the service is busy: no database connection became free within {waited:g}s; "
                         "retry shortly (an Idempotency-Key makes the retry safe)", retry_after=1)


class _BoundedAcquire:
    """`pool.acquire()` as asyncpg has it (awaitable and `async with`), turning its timeout into PoolExhausted."""

    def __init__(self, owner: BoundedPool, timeout: float) -> None:
        self._owner = owner
        self._timeout = timeout
        self._context = owner._pool.acquire(timeout=timeout)
        self._conn: Any = None

    async def _get(self) -> Any:
        self._owner.waiting += 1
        try:
            return await self._context
        except TimeoutError:
            raise PoolExhausted(self._timeout) from None
        finally:
            self._owner.waiting -= 1

    def __await__(self):
        return self._get().__await__()

    async def __aenter__(self) -> Any:
        self._owner.waiting += 1
        try:
            self._conn = await self._context.__aenter__()
            return self._conn
        except TimeoutError:
            raise PoolExhausted(self._timeout) from None
        finally:
            self._owner.waiting -= 1

    async def __aexit__(self, *exc: Any) -> None:
        if left_mid_operation(exc[1]):
            self._conn.terminate()  # the pool replaces it rather than handing its broken protocol to the next user
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
        self.waiting = 0  # acquires not yet given a connection (server.metrics)

    def acquire(self, *, timeout: float | None = None) -> _BoundedAcquire:
        return _BoundedAcquire(self, timeout or acquire_timeout_override.get() or self.acquire_timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


class PaydeckTransaction(PostgresTransaction):
    """Piccolo's transaction, whose exit always lets go of its connection and of the task's context.

    Piccolo ends a transaction with ROLLBACK or COMMIT, then releases the connection, then resets
    `current_transaction`. When the connection died inside the block (its server process was
    terminated), the ROLLBACK raises and neither of the last two happens: the pool loses that
    connection for good, and the task stays "inside a transaction" for the rest of its life; a
    worker job's loop then refused every later processor call ("must not run inside a database
    transaction") until the process restarted.
    """

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return await super().__aexit__(exception_type, exception, traceback)
        if left_mid_operation(exception):  # a ROLLBACK could only fail on it: give it up, keep the error
            self.engine.current_transaction.reset(self.context)
            await self._give_back_broken()
            return False
        try:
            return await super().__aexit__(exception_type, exception, traceback)
        except BaseException:
            if self.engine.current_transaction.get() is self:  # Piccolo stopped before letting go
                self.engine.current_transaction.reset(self.context)
                await self._give_back_broken()
            raise

    async def _give_back_broken(self) -> None:
        connection = self.connection
        try:
            connection.terminate()  # whatever state it is in, it is not one to hand to someone else
        except asyncpg.InterfaceError:  # terminated already, which gave it back to the pool: nothing left to do
            return
        if self.engine.pool:
            try:
                await self.engine.pool.release(connection)  # the pool replaces a closed connection
            except Exception:  # noqa: BLE001 - leaving a dead connection is all that can go wrong here
                pass


class PaydeckEngine(PostgresEngine):
    """A PostgresEngine that does not connect while being constructed, with a bounded pool.

    Piccolo's engine checks the server version at import time; our URL may
    only be known after the embedded server has started, so that check is
    left out. Extensions are created by migrations.
    """

    acquire_timeout: float = DEFAULT_ACQUIRE_TIMEOUT

    async def check_version(self) -> None:
        return None

    def transaction(self, allow_nested: bool = True) -> PaydeckTransaction:
        return PaydeckTransaction(engine=self, allow_nested=allow_nested)

    async def prep_database(self) -> None:
        return None

    async def start_connection_pool(self, **kwargs: Any) -> None:
        if self.pool is None:
            await super().start_connection_pool(init=register_json_codecs, reset=keep_session, **kwargs)
            # Piccolo types `pool` as asyncpg's Pool; BoundedPool has its interface (__getattr__ forwards the rest).
            self.pool = BoundedPool(self.pool, self.acquire_timeout)  # type: ignore[assignment]

    async def get_new_connection(self) -> asyncpg.Connection:
        conn = await super().get_new_connection()
        await register_json_codecs(conn)
        return conn
