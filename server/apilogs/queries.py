"""Every SQL statement over api_request_logs (raw SQL: the table is partitioned, see the migration)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from server import db
from server.analytics import api_rollups
from server.analytics.api_metrics import ROW_FIELDS
from server.apilogs.filters import REQUEST_ID_RE, LogFilter, words
from server.apilogs.records import COLUMNS
from server.context import Scope

DETAIL_COLUMNS = (
    "id, account_id, livemode, source, user_id, api_key_id, api_key_type, method, path, operation_name, "
    "operation_type, query_params, request_headers, request_body, status_code, response_headers, response_body, "
    "error_type, error_code, error_message, started_at, duration_ms, api_version, idempotency_key, "
    "idempotent_replayed, host(ip_address) AS ip_address, object_ids"
)
SUBSTRING_EXPR = "(path || ' ' || coalesce(error_message, '') || ' ' || coalesce(operation_name, ''))"


async def copy_rows(rows: list[tuple[Any, ...]]) -> None:
    """One COPY of many rows (the fastest way into PostgreSQL), counted in the API rollups in the same
    transaction, so a row is in the analytics exactly when it is stored (server/analytics/api_metrics.py).
    Inside a caller's transaction (a batch's, with `claim_batch`) it is a savepoint of it."""
    if not rows:
        return
    async with db.transaction() as txn:
        await txn.connection.copy_records_to_table("api_request_logs", records=rows, columns=list(COLUMNS))
        await api_rollups.record(rows, COLUMNS)


async def claim_batch(batch_id: str, rows: int) -> int | None:
    """Record a writer batch as stored, in the transaction that stores it (call it first there): None when it
    is new, or the rows it stored when an earlier transaction already committed it (a batch sent again after
    its writer process died before answering). A claim by a transaction still open waits for its outcome."""
    if await db.fetchrow("INSERT INTO api_log_batches (id, rows) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING "
                         "RETURNING 1 AS claimed", batch_id, rows):
        return None
    # A statement of its own: it sees the claim that made the INSERT wait, once that committed.
    earlier = await db.fetchrow("SELECT rows FROM api_log_batches WHERE id = $1", batch_id)
    return int(earlier["rows"]) if earlier else 0


async def set_batch_rows(batch_id: str, rows: int) -> None:
    await db.execute("UPDATE api_log_batches SET rows = $2 WHERE id = $1", batch_id, rows)


async def forget_batches(before: datetime) -> int:
    """Retention of the stored-batch ids: a batch is sent again within seconds, so a day is plenty."""
    return len(await db.fetch("DELETE FROM api_log_batches WHERE stored_at < $1 RETURNING 1", before))


# The indexes only the PostgreSQL search engine reads (queries.search_ids): full text and trigram substrings.
# With Meilisearch as the engine they cost every COPY and serve nothing, so the engine's job removes them.
# Name on the partitioned table: what follows USING.
SEARCH_INDEXES = {
    "api_request_logs_search": "gin (search)",
    "api_request_logs_text_trgm": f"gin ({SUBSTRING_EXPR} gin_trgm_ops)",
}
SEARCH_INDEX_LOCK = 4242017  # one process at a time creates or drops them
PARTITIONS_SQL = ("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                  "WHERE i.inhparent = 'api_request_logs'::regclass ORDER BY 1")
# The partitions whose index is attached to a partitioned index ($1).
INDEXED_PARTITIONS_SQL = ("SELECT t.relname AS name FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid "
                          "JOIN pg_class t ON t.oid = x.indrelid WHERE i.inhparent = $1::regclass")
INDEX_VALID_SQL = ("SELECT x.indisvalid AS valid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                   "WHERE c.relname = $1")


async def match_search_indexes(postgres_engine: bool) -> None:
    """Create the PostgreSQL engine's search indexes when it is the engine, drop them when it is not."""
    if postgres_engine:
        await build_search_indexes()
        return
    async with db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock($1)", SEARCH_INDEX_LOCK)
        present = {r["indexname"] for r in await db.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'api_request_logs' AND indexname = ANY($1)",
            list(SEARCH_INDEXES))}
        for name in SEARCH_INDEXES:
            if name in present:
                await db.execute(f"DROP INDEX {name}")


async def build_search_indexes() -> None:
    """Build the search indexes partition by partition with CREATE INDEX CONCURRENTLY: writes go on meanwhile.

    PostgreSQL cannot build an index on a partitioned table concurrently, so: the partitioned index is made on
    the parent alone (invalid, instant), each partition's index is built concurrently and attached, and the
    last attachment makes the parent's valid. Partitions created meanwhile get theirs from the parent. A build
    that failed half-way leaves an invalid index, dropped and built again by the next run. On a connection of
    its own (CONCURRENTLY runs outside any transaction; the lock is the session's).
    """
    conn = await asyncpg.connect(**db.engine().config)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", SEARCH_INDEX_LOCK)
        for name, using in SEARCH_INDEXES.items():
            await conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON ONLY api_request_logs USING {using}")
            indexed = {r["name"] for r in await conn.fetch(INDEXED_PARTITIONS_SQL, name)}
            for partition in [r["name"] for r in await conn.fetch(PARTITIONS_SQL)]:
                if partition not in indexed:
                    await _index_partition(conn, name, using, partition)
    finally:
        await conn.close()  # the session lock goes with it


async def _index_partition(conn: asyncpg.Connection, name: str, using: str, partition: str) -> None:
    index = f"{partition}_{name.removeprefix('api_request_logs_')}"
    valid = await conn.fetchval(INDEX_VALID_SQL, index)
    if valid is False:  # a concurrent build that failed half-way
        await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")
    if not valid:
        await conn.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {partition} USING {using}")
    try:
        await conn.execute(f"ALTER INDEX {name} ATTACH PARTITION {index}")
    except asyncpg.PostgresError as exc:
        # The partition was made while this ran (the partition job, another process) and PostgreSQL gave it
        # the parent's index itself: that one serves, the one just built is a duplicate every write would pay.
        if "already attached" not in str(exc) and "already attached" not in str(getattr(exc, "detail", "")):
            raise
        await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")


async def rollup_rows(account_id: str, livemode: bool, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """What API rollups count of the requests that started in [since, until) (the analytics verifier)."""
    return await db.fetch(
        f"SELECT {', '.join(ROW_FIELDS)} FROM api_request_logs WHERE account_id = $1 AND livemode = $2 "
        "AND started_at >= $3 AND started_at < $4", account_id, livemode, since, until)


def where(scope: Scope, flt: LogFilter, query: str, args: list[Any]) -> str:
    """The WHERE clause of a scoped, filtered search; appends its parameters to `args`."""

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    parts = [f"account_id = {arg(scope.account_id)}", f"livemode = {arg(scope.livemode)}"]
    codes, classes = flt.status_codes_and_classes()
    status_parts = []
    if codes:
        status_parts.append(f"status_code = ANY({arg(codes)}::int[])")
    for cls in classes:
        status_parts.append(f"(status_code >= {arg(cls * 100)} AND status_code < {arg(cls * 100 + 100)})")
    if status_parts:
        parts.append("(" + " OR ".join(status_parts) + ")")
    if flt.method:
        parts.append(f"method = {arg(flt.method.upper())}")
    if flt.path_prefix:
        prefix = flt.path_prefix
        parts.append(f"path >= {arg(prefix)} AND path < {arg(prefix + chr(0x10FFFF))}")
    if flt.api_key_id:
        parts.append(f"api_key_id = {arg(flt.api_key_id)}")
    if flt.error_type:
        parts.append(f"error_type = {arg(flt.error_type)}")
    if flt.since:
        parts.append(f"started_at >= {arg(flt.since)}")
    if flt.until:
        parts.append(f"started_at < {arg(flt.until)}")
    if flt.idempotency_key:
        parts.append(f"idempotency_key = {arg(flt.idempotency_key)}")
    if flt.source:
        parts.append(f"source = {arg(flt.source)}")
    if flt.object_id:
        parts.append(f"object_ids @> ARRAY[{arg(flt.object_id)}]::text[]")
    if query:
        if REQUEST_ID_RE.match(query):
            parts.append(f"id = {arg(query)}")
        else:
            terms = words(query)
            tsquery = " & ".join(f"{w}:*" for w in terms)
            text_parts = []
            if tsquery:
                text_parts.append(f"search @@ to_tsquery('simple', {arg(tsquery)})")
            if len(query) >= 3:
                escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                text_parts.append(f"{SUBSTRING_EXPR} ILIKE {arg('%' + escaped + '%')}")
            parts.append("(" + " OR ".join(text_parts) + ")" if text_parts else "false")
    return " AND ".join(parts)


async def search_ids(scope: Scope, flt: LogFilter, query: str, limit: int, after: str | None) -> list[str]:
    args: list[Any] = []
    clause = where(scope, flt, query, args)
    if after:
        args.append(after)
        clause += f" AND id < ${len(args)}"
    args.append(limit)
    rows = await db.fetch(f"SELECT id FROM api_request_logs WHERE {clause} ORDER BY id DESC LIMIT ${len(args)}",
                          *args)
    return [r["id"] for r in rows]


async def by_ids(scope: Scope, ids: list[str], columns: str = DETAIL_COLUMNS) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = await db.fetch(f"SELECT {columns} FROM api_request_logs WHERE account_id = $1 AND livemode = $2 "
                          "AND id = ANY($3::text[]) ORDER BY id DESC", scope.account_id, scope.livemode, ids)
    return rows


async def get(scope: Scope, log_id: str) -> dict[str, Any] | None:
    rows = await by_ids(scope, [log_id])
    return rows[0] if rows else None


async def stats(scope: Scope, flt: LogFilter, query: str, since: datetime, until: datetime,
                bucket_seconds: int) -> list[dict[str, Any]]:
    """Requests and errors per bucket in [since, until)."""
    args: list[Any] = []
    clause = where(scope, LogFilter(**{**flt.__dict__, "since": since, "until": until}), query, args)
    args += [bucket_seconds, since]
    n = len(args)
    return await db.fetch(
        f"SELECT date_bin(make_interval(secs => ${n - 1}), started_at, ${n}) AS bucket, count(*) AS requests, "
        f"count(*) FILTER (WHERE status_code >= 400) AS errors FROM api_request_logs WHERE {clause} "
        "GROUP BY 1 ORDER BY 1", *args)


async def stats_from_rollups(scope: Scope, since: datetime, until: datetime, bucket_seconds: int,
                             table: str) -> list[dict[str, Any]]:
    """Requests and errors per bucket in [since, until) from the API rollups (`table`, whose buckets divide
    `bucket_seconds`): a few rows per rollup bucket, however many requests the range holds."""
    assert table in {"analytics_api_rollups", "analytics_api_rollups_hourly"}, table
    return await db.fetch(
        "SELECT date_bin(make_interval(secs => $3), bucket, $4) AS bucket, sum(requests)::bigint AS requests, "
        f"sum(status_4xx + status_5xx)::bigint AS errors FROM {table} WHERE account_id = $1 AND livemode = $2 "
        "AND bucket >= $4 AND bucket < $5 GROUP BY 1 ORDER BY 1",
        scope.account_id, scope.livemode, bucket_seconds, since, until)


# --- retention --------------------------------------------------------------------------------


async def retention_days() -> list[dict[str, Any]]:
    return await db.fetch("SELECT id, log_retention_days FROM accounts")


async def delete_batch(account_id: str, cutoff: datetime, batch: int) -> int:
    rows = await db.fetch(
        "WITH doomed AS (SELECT id, started_at FROM api_request_logs WHERE account_id = $1 AND started_at < $2 "
        "LIMIT $3) DELETE FROM api_request_logs l USING doomed d WHERE l.id = d.id AND l.started_at = d.started_at "
        "AND l.account_id = $1 RETURNING 1", account_id, cutoff, batch)
    return len(rows)


# --- indexer feed -----------------------------------------------------------------------------


async def position(name: str) -> int:
    row = await db.fetchrow("SELECT position FROM search_index_positions WHERE name = $1", name)
    return int(row["position"]) if row else 0


async def set_position(name: str, value: int) -> None:
    await db.execute(
        "INSERT INTO search_index_positions (name, position, updated_at) VALUES ($1, $2, now()) "
        "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()", name, value)


async def rows_after(seq: int, limit: int, settle_seconds: float) -> list[dict[str, Any]]:
    """Rows past a position, in seq order, once they are `settle_seconds` old.

    Writers commit each COPY in one short transaction; waiting a moment before
    reading past a position keeps a slower transaction's lower seq from being
    skipped.
    """
    return await db.fetch(
        "SELECT seq, id, account_id, livemode, source, api_key_id, method, path, operation_name, status_code, "
        "error_type, error_message, started_at, idempotency_key, request_body, response_body, object_ids "
        "FROM api_request_logs WHERE seq > $1 AND ingested_at < now() - make_interval(secs => $2) "
        "ORDER BY seq LIMIT $3", seq, settle_seconds, limit)


async def max_seq() -> int:
    row = await db.fetchrow("SELECT coalesce(max(seq), 0) AS m FROM api_request_logs")
    return int(row["m"]) if row else 0


# --- daily partitions (server/apilogs/partitions.py) -------------------------------------------


async def create_partition(parent: str, name: str, start: str, end: str) -> None:
    """A partition of `parent` for [start, end) (ISO dates, UTC); names come from partitions.name_of."""
    await db.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {parent} "
                     f"FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')")


async def partition_names(parent: str) -> list[str]:
    rows = await db.fetch(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1 ORDER BY c.relname", parent)
    return [row["name"] for row in rows]


async def drop_partition(name: str) -> None:
    await db.execute(f"DROP TABLE IF EXISTS {name}")
