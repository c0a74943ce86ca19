"""SQL of idempotency keys: the guard is PostgreSQL (an advisory lock and a unique row)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from server import db
from server.context import Scope
from server.ids import new_id


async def try_lock(scope: Scope, key: str) -> bool:
    """Take the key's transaction-scoped lock without waiting; False if another request holds it."""
    row = await db.fetchrow("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 7)) AS ok",
                            f"{scope.account_id}:{scope.mode}:{key}")
    return bool(row and row["ok"])


async def get(scope: Scope, key: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM idempotency_keys WHERE account_id = $1 AND livemode = $2 AND key = $3",
                             scope.account_id, scope.livemode, key)


async def insert(scope: Scope, key: str, fingerprint: str, method: str, path: str) -> str:
    row_id = new_id("idem")
    await db.execute(
        "INSERT INTO idempotency_keys (id, account_id, livemode, key, fingerprint, method, path, response_status, "
        "response_headers, response_body, created) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, '{}'::jsonb, '', $8)",
        row_id, scope.account_id, scope.livemode, key, fingerprint, method, path, datetime.now(UTC))
    return row_id


async def store_response(row_id: str, status: int, headers: dict[str, str], body: str) -> None:
    await db.execute("UPDATE idempotency_keys SET response_status = $2, response_headers = $3::jsonb, "
                     "response_body = $4 WHERE id = $1", row_id, status, json.dumps(headers), body)


async def purge(older_than: timedelta, batch: int = 5000) -> int:
    """Delete keys older than `older_than`, in batches; safe to run in several workers at once."""
    total = 0
    cutoff = datetime.now(UTC) - older_than
    while True:
        rows = await db.fetch(
            "WITH d AS (DELETE FROM idempotency_keys WHERE id IN (SELECT id FROM idempotency_keys "
            "WHERE created < $1 LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1) SELECT count(*) AS n FROM d",
            cutoff, batch)
        total += rows[0]["n"]
        if rows[0]["n"] < batch:
            return total
