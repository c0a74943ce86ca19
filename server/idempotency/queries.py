"""SQL of idempotency keys: one row per (account, mode, key), claimed by the request that runs it.

A row with `response_status = 0` has no final response yet; while `locked_at`
is set, a request holds its claim. `effects` maps each step that committed
under the key to what it made (see server/idempotency/effects.py).

Claims, releases and stored responses commit without waiting for the WAL
flush (`synchronous_commit = off`): if PostgreSQL itself crashes and loses
one, a retry runs again and recovers every effect from `effects`, which
commits durably with the effect itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from server import clock, db
from server.context import Scope
from server.ids import new_id

NAMESPACE = 0x69646D70  # "idmp": the first key of the owners' two-int advisory locks (its own key space)
# A claim older than this may be taken over even if its process still lives (a lost release).
CLAIM_TTL = timedelta(seconds=60)


@dataclass
class Claimed:
    """The outcome of `claim`: `run` (this request owns the key), `replay`, `mismatch` or `busy`."""

    outcome: str
    row: dict[str, Any]


async def claim(scope: Scope, key: str, fingerprint: str, method: str, path: str, token: str,
                owner: int | None) -> Claimed:
    """In one short transaction: create the key's row claimed by `token`, or judge the existing row."""
    now = clock.now()
    async with db.transaction():
        await _no_flush_wait()
        inserted = await db.fetchrow(
            "INSERT INTO idempotency_keys (id, account_id, livemode, key, fingerprint, method, path, response_status, "
            "response_headers, response_body, created, locked_by, locked_at, owner, effects) VALUES "
            "($1, $2, $3, $4, $5, $6, $7, 0, '{}'::jsonb, '', $8, $9, $8, $10, '{}'::jsonb) "
            "ON CONFLICT (account_id, livemode, key) DO NOTHING RETURNING *",
            new_id("idem"), scope.account_id, scope.livemode, key, fingerprint, method, path, now, token, owner)
        if inserted is not None:
            return Claimed("run", inserted)
        try:
            row = await db.fetchrow("SELECT * FROM idempotency_keys WHERE account_id = $1 AND livemode = $2 "
                                    "AND key = $3 FOR UPDATE NOWAIT", scope.account_id, scope.livemode, key)
        except asyncpg.LockNotAvailableError:  # its request is committing a step right now
            return Claimed("busy", {})
        if row is None:  # purged between the two statements
            return Claimed("busy", {})
        if row["fingerprint"] != fingerprint:
            return Claimed("mismatch", row)
        if row["response_status"]:
            return Claimed("replay", row)
        if row["locked_at"] is not None and not await _abandoned(row, now):
            return Claimed("busy", row)
        taken = await db.fetchrow("UPDATE idempotency_keys SET locked_by = $2, locked_at = $3, owner = $4 "
                                  "WHERE id = $1 RETURNING *", row["id"], token, now, owner)
        assert taken is not None
        return Claimed("run", taken)


async def _abandoned(row: dict[str, Any], now: datetime) -> bool:
    """Whether a claim's request is gone: its process died, or the claim outlived CLAIM_TTL."""
    if row["locked_at"] < now - CLAIM_TTL:
        return True
    if row["owner"] is None:
        return False
    free = await db.fetchrow("SELECT pg_try_advisory_xact_lock($1, $2) AS free", NAMESPACE, row["owner"])
    return bool(free and free["free"])


async def _no_flush_wait() -> None:
    await db.execute("SET LOCAL synchronous_commit = off")


async def finish(row_id: str, status: int, headers: dict[str, str], body: str) -> None:
    """Store the final response and end the claim (the first stored response stays)."""
    async with db.transaction():
        await _no_flush_wait()
        await db.execute("UPDATE idempotency_keys SET response_status = $2, response_headers = $3::jsonb, "
                         "response_body = $4, locked_by = NULL, locked_at = NULL, owner = NULL "
                         "WHERE id = $1 AND response_status = 0", row_id, status, headers, body)


async def release(row_id: str, token: str) -> None:
    """End a claim without a response (a 5xx): forget the key if nothing committed under it, else unlock it."""
    async with db.transaction():
        await _no_flush_wait()
        await db.execute("DELETE FROM idempotency_keys WHERE id = $1 AND locked_by = $2 AND effects = '{}'::jsonb",
                         row_id, token)
        await db.execute("UPDATE idempotency_keys SET locked_by = NULL, locked_at = NULL, owner = NULL "
                         "WHERE id = $1 AND locked_by = $2", row_id, token)


async def recall(row_id: str, step: str) -> dict[str, Any] | None:
    """Lock the key's row for the caller's transaction; what `step` bound earlier, if anything."""
    row = await db.fetchrow("SELECT effects -> $2 AS effect FROM idempotency_keys WHERE id = $1 FOR UPDATE",
                            row_id, step)
    if row is None or row["effect"] is None:
        return None
    return row["effect"]


async def bind(row_id: str, step: str, effect: dict[str, Any]) -> None:
    await db.execute("UPDATE idempotency_keys SET effects = effects || jsonb_build_object($2::text, $3::jsonb) "
                     "WHERE id = $1", row_id, step, effect)


async def purge(older_than: timedelta, batch: int = 5000) -> int:
    """Delete keys older than `older_than`, in batches; safe to run in several workers at once."""
    total = 0
    cutoff = clock.now() - older_than
    while True:
        rows = await db.fetch(
            "WITH d AS (DELETE FROM idempotency_keys WHERE id IN (SELECT id FROM idempotency_keys "
            "WHERE created < $1 LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1) SELECT count(*) AS n FROM d",
            cutoff, batch)
        total += rows[0]["n"]
        if rows[0]["n"] < batch:
            return total


# --- the owner's own connection (server/idempotency/owner.py) ----------------------------------


async def take_owner_lock(conn: asyncpg.Connection, owner_id: int) -> bool:
    """Hold `owner_id` for the life of `conn`: PostgreSQL drops the lock when the connection ends."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", NAMESPACE, owner_id))


async def ping(conn: asyncpg.Connection) -> None:
    await conn.fetchval("SELECT 1")
