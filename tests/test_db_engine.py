"""The bounded pool: waiting for a connection ends in a 503 with Retry-After, never in a hang."""

from __future__ import annotations

import asyncio
import enum
import json
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest

from server import db
from server.db_engine import BoundedPool, PaydeckEngine, PoolExhausted
from server.settings import get_settings


async def test_an_acquire_that_waits_too_long_is_a_503_and_patience_waits_longer(server):
    raw = await asyncpg.create_pool(**db.engine().config, min_size=1, max_size=1)
    pool = BoundedPool(raw, acquire_timeout=0.2)
    try:
        held = await pool.acquire()
        with pytest.raises(PoolExhausted) as failed:
            async with pool.acquire():
                pass
        assert failed.value.status == 503 and failed.value.code == "service_unavailable"
        assert failed.value.retry_after >= 1
        with pytest.raises(PoolExhausted):
            await pool.acquire()

        async def release_soon() -> None:
            await asyncio.sleep(0.5)
            await pool.release(held)

        with db.patience(30):  # longer than the release takes: this one waits for it
            releasing = asyncio.create_task(release_soon())
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT 1") == 1
            await releasing
    finally:
        await raw.close()


async def test_the_app_pool_is_bounded(server):
    from server.settings import get_settings

    assert isinstance(db.engine().pool, BoundedPool)
    assert db.engine().pool.acquire_timeout == get_settings().db_pool_timeout_seconds


async def test_json_columns_take_and_give_python_values(server):
    row = await db.fetchrow("SELECT $1::jsonb AS b, $2::json AS j, '{\"a\": [1, null]}'::jsonb AS literal",
                            {"x": True, "n": 1.5}, [1, "two"])
    assert row == {"b": {"x": True, "n": 1.5}, "j": [1, "two"], "literal": {"a": [1, None]}}


async def test_json_text_is_refused_rather_than_stored_as_one_string(server):
    with pytest.raises(asyncpg.DataError, match="not JSON text"):
        await db.fetchrow("SELECT $1::jsonb AS b", '{"a": 1}')


# jsonb is encoded by msgspec when the value is plain JSON (server.db_engine.encode_jsonb); what is stored must be
# what the standard library's text stored, and what it refused must still be refused.
PLAIN_JSON = [
    {"a": 1, "b": [1, 2.5, None, True, False, "x"], "nested": {"k": {"v": [{}]}}},
    {"unicode": "é ü \u2028 😀", "quote": 'say "hi"\\', "control": "a\tb\nc\x01"},
    {"big": 2**70, "negative": -(2**63), "float": 1e16, "tiny": 5e-324, "zero": -0.0},
    ["a", ("tuple", 1)], [], {}, 0, True,
]


@pytest.mark.parametrize("value", PLAIN_JSON)
async def test_jsonb_stores_what_the_standard_library_text_stored(server, value):
    row = await db.fetchrow("SELECT $1::jsonb AS ours, $2::text::jsonb AS stdlib, "
                            "($1::jsonb = $2::text::jsonb) AS same", value, json.dumps(value))
    assert row is not None and row["same"] is True and row["ours"] == row["stdlib"]


class Colour(enum.Enum):
    RED = "red"


class Named(enum.StrEnum):
    ONE = "one"


@pytest.mark.parametrize("value", [
    {"amount": Decimal("1.50")}, {"at": datetime(2026, 12, 1, tzinfo=UTC)}, {"ids": {"a", "b"}},
    {"id": uuid.UUID(int=1)}, {"raw": b"bytes"}, {"colour": Colour.RED}, [Decimal("1")],
])
async def test_jsonb_refuses_what_the_standard_library_refused(server, value):
    with pytest.raises(TypeError, match="not JSON serializable"):
        json.dumps(value)
    with pytest.raises(asyncpg.DataError, match="not JSON serializable"):
        await db.fetchrow("SELECT $1::jsonb AS b", value)


async def test_jsonb_refuses_nan_and_infinity_as_before_rather_than_storing_null(server):
    for number in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(asyncpg.DataError, match="invalid input syntax for type json"):
            await db.fetchrow("SELECT $1::jsonb AS b", {"x": number})


async def test_jsonb_takes_what_the_standard_library_took_beyond_plain_json(server):
    # non-str keys become strings, str/int enums their value, as json.dumps has them
    values = [{1: "a", 2.5: "b", False: "c", None: "d"}, {"kind": Named.ONE}, OrderedDict(b=1, a=2)]
    for value in values:
        row = await db.fetchrow("SELECT ($1::jsonb = $2::text::jsonb) AS same", value, json.dumps(value))
        assert row is not None and row["same"] is True
    circular: dict = {}
    circular["self"] = circular
    with pytest.raises(asyncpg.DataError, match="Circular reference"):
        await db.fetchrow("SELECT $1::jsonb AS b", circular)


async def test_jsonb_with_a_lone_surrogate_is_refused_by_postgresql_as_before(server):
    with pytest.raises(asyncpg.DataError):
        await db.fetchrow("SELECT $1::jsonb AS b", {"s": "\ud800"})


async def test_copy_uses_the_codecs_too(server):
    async with db.engine().pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE codec_copy (b jsonb, j json) ON COMMIT DROP")
            await conn.copy_records_to_table("codec_copy", records=[({"a": 1}, [1, 2])], columns=["b", "j"])
            assert [dict(r) for r in await conn.fetch("SELECT * FROM codec_copy")] == [{"b": {"a": 1}, "j": [1, 2]}]


async def test_closing_the_pool_never_hangs_on_a_connection_someone_still_holds(server):
    # given: the process's pool, with one connection taken and never given back (a stuck task's)
    settings = get_settings()
    pool = db.engine().pool
    held = await pool.acquire()
    try:
        # when: shutdown closes the pool
        await asyncio.wait_for(db.close_pool(grace=0.5), 5)
        # then: it returned, the held connection was terminated, and the pool is gone
        assert db.engine().pool is None
        with pytest.raises(asyncpg.InterfaceError):
            await held.fetchval("SELECT 1")
    finally:  # the session's server needs its pool back
        await db.open_pool(settings.db_pool_min, settings.db_pool_max)
    assert await db.fetchrow("SELECT 1 AS one") == {"one": 1}


async def test_json_beyond_a_float_reads_as_the_standard_library_reads_it(server):
    row = await db.fetchrow("SELECT v AS b, v::text AS t FROM (SELECT '{\"big\": 1e400, \"small\": 1.5e-400, "
                            "\"n\": 123456789012345678901234567890}'::jsonb AS v) AS j")
    assert row is not None and row["b"] == json.loads(row["t"]) and row["b"]["n"] == 123456789012345678901234567890


async def test_a_connection_killed_inside_a_transaction_leaves_neither_the_context_nor_the_pool_behind(server):
    # given: an engine of its own (the app's pool is shared with running jobs) with a single connection, and a
    # transaction whose server process is terminated from outside (a restart, an operator, a timeout)
    engine = PaydeckEngine(config=dict(db.engine().config))
    engine.acquire_timeout = 5.0
    await engine.start_connection_pool(min_size=1, max_size=1)
    try:
        # (InternalClientError "another operation (2) is in progress": the server's FATAL arrived and asyncpg
        # has not yet seen the socket close; asyncpg issue #1069)
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError,
                            asyncpg.exceptions.InternalClientError)) as failed:
            async with engine.transaction() as txn:
                me = await txn.connection.fetchval("SELECT pg_backend_pid()")
                killer = await asyncpg.connect(**db.engine().config)
                try:
                    await killer.execute("SELECT pg_terminate_backend($1)", me)
                finally:
                    await killer.close()
                await txn.connection.fetchval("SELECT 1")
        from server.outage import is_connection_failure

        assert is_connection_failure(failed.value), repr(failed.value)  # reported as an outage, not as a bug
        # then: this task is no longer "inside a transaction" (a job's loop once failed for ever with "must not
        # run inside a database transaction"), and the pool's one connection came back (else: PoolExhausted)
        assert engine.current_transaction.get() is None
        async with engine.transaction() as txn:
            assert await txn.connection.fetchval("SELECT 1") == 1
    finally:
        await engine.close_connection_pool()


LEFT_MID_OPERATION = "cannot switch to state 12; another operation (2) is in progress"


async def test_a_connection_left_mid_operation_is_replaced_not_handed_out_again(server):
    """asyncpg can give a connection back with its protocol still inside an operation when PostgreSQL dies
    mid-query (asyncpg issue #1069): its next user fails. The pool drops it instead."""
    from server.outage import is_connection_failure

    raw = await asyncpg.create_pool(**db.engine().config, min_size=1, max_size=1)
    pool = BoundedPool(raw, acquire_timeout=5)
    try:
        with pytest.raises(asyncpg.exceptions.InternalClientError) as failed:
            async with pool.acquire() as conn:
                first = await conn.fetchval("SELECT pg_backend_pid()")
                raise asyncpg.exceptions.InternalClientError(LEFT_MID_OPERATION)
        assert is_connection_failure(failed.value)  # logged as the outage it is, once, not as a bug
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") != first
        assert not is_connection_failure(asyncpg.exceptions.InternalClientError("some other misuse"))
    finally:
        await raw.close()


async def test_a_transaction_left_mid_operation_gives_its_connection_up(server):
    from tests.support import eventually

    with pytest.raises(asyncpg.exceptions.InternalClientError):
        async with db.transaction():
            pid = (await db.fetchrow("SELECT pg_backend_pid() AS pid"))["pid"]
            raise asyncpg.exceptions.InternalClientError(LEFT_MID_OPERATION)
    assert not db.in_transaction()
    async def gone() -> bool:
        return not await db.fetch("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid)

    await eventually(gone,
                     message="the connection's server process ended")
