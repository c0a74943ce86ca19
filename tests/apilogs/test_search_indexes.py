"""The PostgreSQL engine's search indexes exist exactly when it is the engine (with Meilisearch they only slow COPY)."""

from __future__ import annotations

import pytest

from server import db
from server.apilogs import queries
from server.apilogs.filters import LogFilter
from server.apilogs.pgsearch import PostgresEngine
from server.context import Scope
from tests.apilogs.helpers import capture, new_account_id, store

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
