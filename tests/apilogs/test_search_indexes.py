"""The PostgreSQL engine's search indexes exist exactly when it is the engine (with Meilisearch they only slow COPY)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from server import db
from server.apilogs import queries
from server.apilogs.filters import LogFilter
from server.apilogs.pgsearch import PostgresEngine
from server.context import Scope
from tests.apilogs.helpers import capture, new_account_id, store
from tests.support import eventually

pytestmark = pytest.mark.usefixtures("server")


async def _search_indexes() -> set[str]:
    rows = await db.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'api_request_logs'")
    return {r["indexname"] for r in rows} & set(queries.SEARCH_INDEXES)


async def test_meilisearch_as_engine_drops_them_and_postgres_as_engine_brings_them_back():
    account = new_account_id()
    try:
        await queries.match_search_indexes(postgres_engine=False)
        assert await _search_indexes() == set()
        await store(capture(account, path="/v1/customers", status=402,
                            response={"error": {"type": "card_error", "message": "Your card was declined."}}))
        await queries.match_search_indexes(postgres_engine=False)  # nothing left to drop
    finally:
        await queries.match_search_indexes(postgres_engine=True)
    assert await _search_indexes() == set(queries.SEARCH_INDEXES)
    for name in queries.SEARCH_INDEXES:  # recreated on every partition, the rows written meanwhile included
        indexed = await db.fetchrow(f"SELECT count(*) AS n FROM pg_inherits WHERE inhparent = '{name}'::regclass")
        partitions = await db.fetchrow("SELECT count(*) AS n FROM pg_inherits "
                                       "WHERE inhparent = 'api_request_logs'::regclass")
        assert indexed and partitions and indexed["n"] == partitions["n"] > 0
    engine = PostgresEngine()
    for query in ("declined", "customers"):
        ids, _ = await engine.search(Scope(account, False), LogFilter(), query, 10, None)
        assert len(ids) == 1, query


async def _valid(name: str) -> bool:
    row = await db.fetchrow(queries.INDEX_VALID_SQL, name)
    return bool(row and row["valid"])


async def test_indexes_are_built_concurrently_and_writes_go_on_meanwhile():
    # given: no search indexes, and a transaction holding an old snapshot, which a concurrent build must wait out
    await queries.match_search_indexes(postgres_engine=False)
    reader = await asyncpg.connect(**db.engine().config)
    build: asyncio.Task | None = None
    try:
        snapshot = reader.transaction(isolation="repeatable_read")
        await snapshot.start()
        await reader.fetchval("SELECT count(*) FROM api_request_logs")

        # when: the build starts, and is waiting on that snapshot inside a CREATE INDEX CONCURRENTLY
        build = asyncio.create_task(queries.build_search_indexes())
        await eventually(lambda: db.fetchrow(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY%' "
            "AND wait_event_type = 'Lock'"),
            message="a concurrent index build waiting for the old snapshot")

        # then: a log write completes meanwhile (a plain CREATE INDEX would hold it until the build ends)
        account = new_account_id()
        await asyncio.wait_for(store(capture(account, path="/v1/customers")), timeout=30)
        assert not build.done()
        await snapshot.rollback()
        await build
    finally:
        await reader.close()
        if build is not None and not build.done():
            build.cancel()
        await queries.match_search_indexes(postgres_engine=True)

    # and: both indexes are valid on the table and on every partition, the row written meanwhile findable
    assert await _search_indexes() == set(queries.SEARCH_INDEXES)
    for name in queries.SEARCH_INDEXES:
        assert await _valid(name)
        attached = await db.fetch(queries.INDEXED_PARTITIONS_SQL, name)
        partitions = await db.fetch(queries.PARTITIONS_SQL)
        assert {r["name"] for r in attached} == {r["name"] for r in partitions}
    invalid = await db.fetch("SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                             "WHERE NOT x.indisvalid AND c.relname LIKE 'api_request_logs%'")
    assert invalid == []
    ids, _ = await PostgresEngine().search(Scope(account, False), LogFilter(), "customers", 10, None)
    assert len(ids) == 1


async def test_a_partition_made_during_the_build_keeps_one_index_of_each():
    # given: the search indexes, and a partition made after the build listed the partitions: PostgreSQL gives
    # it the parent's indexes itself, under names of its own
    await queries.match_search_indexes(postgres_engine=True)
    partition = "api_request_logs_p20991231"
    await db.execute(f"CREATE TABLE {partition} PARTITION OF api_request_logs "
                     "FOR VALUES FROM ('2099-12-31') TO ('2100-01-01')")
    conn = await asyncpg.connect(**db.engine().config)
    try:
        # when: the build, still holding its stale list, indexes that partition as well
        for name, using in queries.SEARCH_INDEXES.items():
            await queries._index_partition(conn, name, using, partition)

        # then: no error, and the partition has one index per search index (the duplicate just built is gone)
        for name in queries.SEARCH_INDEXES:
            attached = await conn.fetch(queries.INDEXED_PARTITIONS_SQL, name)
            assert partition in {r["name"] for r in attached}
        names = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = $1",
                                                          partition)}
        built = {f"{partition}_{name.removeprefix('api_request_logs_')}" for name in queries.SEARCH_INDEXES}
        assert not names & built
    finally:
        await conn.close()
        await db.execute(f"DROP TABLE {partition}")
