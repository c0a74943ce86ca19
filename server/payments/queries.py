"""SQL of payments. Every merchant read takes a Scope."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from server import db
from server.context import Scope


async def get(scope: Scope, pi_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    return await db.fetchrow(
        "SELECT * FROM payment_intents WHERE account_id = $1 AND livemode = $2 AND id = $3"
        + (" FOR UPDATE" if lock else ""), scope.account_id, scope.livemode, pi_id)


async def insert(row: dict[str, Any]) -> dict[str, Any]:
    cols = list(row)
    values = [json.dumps(v) if c == "metadata" else v for c, v in row.items()]
    sql = (f"INSERT INTO payment_intents ({', '.join(cols)}) VALUES "
           f"({', '.join(f'${i + 1}' + ('::jsonb' if c == 'metadata' else '') for i, c in enumerate(cols))}) "
           "RETURNING *")
    return (await db.fetch(sql, *values))[0]


async def update(pi_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    cols = list(changes)
    sets = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(cols))
    rows = await db.fetch(f"UPDATE payment_intents SET {sets} WHERE id = $1 RETURNING *", pi_id,
                          *[changes[c] for c in cols])
    return rows[0]


async def list_intents(scope: Scope, limit: int, after: str | None, *, status: str | None = None,
                       customer: str | None = None, created_gte: datetime | None = None,
                       created_lte: datetime | None = None, amount_gte: int | None = None,
                       amount_lte: int | None = None) -> list[dict[str, Any]]:
    args: list[Any] = [scope.account_id, scope.livemode]
    where = ["account_id = $1", "livemode = $2"]
    for clause, value in (("id < ${}", after), ("status = ${}", status), ("customer_id = ${}", customer),
                          ("created >= ${}", created_gte), ("created <= ${}", created_lte),
                          ("amount >= ${}", amount_gte), ("amount <= ${}", amount_lte)):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    args.append(limit + 1)
    return await db.fetch(f"SELECT * FROM payment_intents WHERE {' AND '.join(where)} ORDER BY id DESC "
                          f"LIMIT ${len(args)}", *args)


async def stuck_processing(older_than: datetime, limit: int = 100) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT id, account_id, livemode, processor_key FROM payment_intents WHERE status = 'processing' "
        "AND processing_since < $1 ORDER BY processing_since LIMIT $2", older_than, limit)


async def stuck_actions(older_than: datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Captures and releases asked of the processor whose answer was never applied."""
    return await db.fetch(
        "SELECT * FROM payment_intents WHERE pending_action IS NOT NULL AND processing_since < $1 "
        "ORDER BY processing_since LIMIT $2", older_than, limit)


async def expired_authorizations(now: datetime, limit: int = 100) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT id, account_id, livemode FROM payment_intents WHERE status = 'requires_capture' "
        "AND capture_before <= $1 ORDER BY capture_before LIMIT $2", now, limit)


async def refunds_of(scope: Scope, pi_id: str) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT * FROM refunds WHERE account_id = $1 AND livemode = $2 AND payment_intent_id = $3 ORDER BY id",
        scope.account_id, scope.livemode, pi_id)


async def refunds_of_intents(scope: Scope, pi_ids: list[str]) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT * FROM refunds WHERE account_id = $1 AND livemode = $2 AND payment_intent_id = ANY($3) ORDER BY id",
        scope.account_id, scope.livemode, pi_ids)


async def get_refund(scope: Scope, refund_id: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM refunds WHERE account_id = $1 AND livemode = $2 AND id = $3",
                             scope.account_id, scope.livemode, refund_id)


async def insert_refund(row: dict[str, Any]) -> dict[str, Any]:
    cols = list(row)
    return (await db.fetch(f"INSERT INTO refunds ({', '.join(cols)}) VALUES "
                           f"({', '.join(f'${i + 1}' for i in range(len(cols)))}) RETURNING *",
                           *row.values()))[0]


async def update_refund(refund_id: str, status: str, processor_refund_id: str | None) -> dict[str, Any]:
    return (await db.fetch("UPDATE refunds SET status = $2, processor_refund_id = $3 WHERE id = $1 RETURNING *",
                           refund_id, status, processor_refund_id))[0]


async def pending_refunds(older_than: datetime, limit: int = 100) -> list[dict[str, Any]]:
    return await db.fetch("SELECT * FROM refunds WHERE status = 'pending' AND created < $1 ORDER BY created LIMIT $2",
                          older_than, limit)


async def insert_receipt(row: dict[str, Any]) -> dict[str, Any]:
    cols = list(row)
    return (await db.fetch(f"INSERT INTO receipts ({', '.join(cols)}) VALUES "
                           f"({', '.join(f'${i + 1}' for i in range(len(cols)))}) RETURNING *",
                           *row.values()))[0]


async def receipts_of(scope: Scope, pi_id: str) -> list[dict[str, Any]]:
    return await db.fetch("SELECT * FROM receipts WHERE account_id = $1 AND livemode = $2 AND payment_intent_id = $3 "
                          "ORDER BY id", scope.account_id, scope.livemode, pi_id)


async def receipt(scope: Scope, receipt_id: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM receipts WHERE account_id = $1 AND livemode = $2 AND id = $3",
                             scope.account_id, scope.livemode, receipt_id)


async def receipt_by_token(token: str) -> dict[str, Any] | None:
    """The public receipt page's read: unscoped on purpose, found only by its unguessable token."""
    return await db.fetchrow("SELECT * FROM receipts WHERE token = $1", token)


async def payment_receipts(scope: Scope, pi_ids: list[str]) -> list[dict[str, Any]]:
    """The receipts of these payments themselves (not of their refunds)."""
    return await db.fetch("SELECT * FROM receipts WHERE account_id = $1 AND livemode = $2 "
                          "AND payment_intent_id = ANY($3) AND refund_id IS NULL", scope.account_id, scope.livemode,
                          pi_ids)


async def account_pricing(account_id: str) -> dict[str, Any]:
    row = await db.fetchrow("SELECT name, fee_percent_bps, fee_fixed_minor FROM accounts WHERE id = $1", account_id)
    assert row is not None
    return row


async def timeline_events(scope: Scope, pi_ids: list[str], limit: int) -> list[dict[str, Any]]:
    """The events of each payment and of its refunds, in commit order (unpublished last), at most `limit` each."""
    return await db.fetch(
        "WITH objects AS ("
        " SELECT u.id AS intent_id, u.id AS object_id FROM unnest($3::text[]) AS u(id)"
        " UNION ALL SELECT payment_intent_id, id FROM refunds"
        " WHERE account_id = $1 AND livemode = $2 AND payment_intent_id = ANY($3)) "
        "SELECT intent_id, id, type, object_id, created FROM ("
        " SELECT o.intent_id, e.id, e.type, e.object_id, e.created,"
        " row_number() OVER (PARTITION BY o.intent_id ORDER BY e.pos NULLS LAST, e.seq) AS n"
        " FROM objects o JOIN events e ON e.account_id = $1 AND e.livemode = $2 AND e.object_id = o.object_id"
        ") timeline WHERE n <= $4 ORDER BY intent_id, n",
        scope.account_id, scope.livemode, pi_ids, limit)
