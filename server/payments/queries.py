"""SQL of payments: payment intents, refunds, receipts. Every merchant read takes a Scope; rows are typed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from server import db
from server.context import Scope
from server.payments.rows import PaymentIntent, Pricing, Receipt, Refund


def _columns(row: msgspec.Struct) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__struct_fields__}


# --- payment intents ----------------------------------------------------------------------------


async def get(scope: Scope, pi_id: str, *, lock: bool = False) -> PaymentIntent | None:
    return await db.fetchrow_as(
        PaymentIntent, "SELECT * FROM payment_intents WHERE account_id = $1 AND livemode = $2 AND id = $3"
        + (" FOR UPDATE" if lock else ""), scope.account_id, scope.livemode, pi_id)


async def locked_with_pricing(scope: Scope, pi_id: str) -> tuple[PaymentIntent, Pricing] | None:
    """The intent, row-locked, with its account's pricing: one round trip where applying a success needs both."""
    rows = await db.fetch(
        "SELECT pi.*, a.name, a.fee_percent_bps, a.fee_fixed_minor FROM payment_intents pi "
        "JOIN accounts a ON a.id = pi.account_id "
        "WHERE pi.account_id = $1 AND pi.livemode = $2 AND pi.id = $3 FOR UPDATE OF pi",
        scope.account_id, scope.livemode, pi_id)
    if not rows:
        return None
    return msgspec.convert(rows[0], PaymentIntent), msgspec.convert(rows[0], Pricing)


async def insert(pi: PaymentIntent) -> PaymentIntent:
    values = _columns(pi)
    made = await db.fetchrow_as(PaymentIntent, db.insert_sql("payment_intents", list(values), "RETURNING *"),
                                *values.values())
    assert made is not None
    return made


async def update(pi_id: str, changes: Mapping[str, object]) -> PaymentIntent:
    """Change columns of one intent (the caller holds its row lock); the row after."""
    row = await db.fetchrow_as(PaymentIntent, f"UPDATE payment_intents SET {db.set_sql(list(changes), 2)} "
                               "WHERE id = $1 RETURNING *", pi_id, *changes.values())
    assert row is not None
    return row


async def list_intents(scope: Scope, limit: int, after: str | None, *, status: str | None = None,
                       customer: str | None = None, created_gte: datetime | None = None,
                       created_lte: datetime | None = None, amount_gte: int | None = None,
                       amount_lte: int | None = None) -> list[PaymentIntent]:
    args: list[Any] = [scope.account_id, scope.livemode]
    where = ["account_id = $1", "livemode = $2"]
    for clause, value in (("id < ${}", after), ("status = ${}", status), ("customer_id = ${}", customer),
                          ("created >= ${}", created_gte), ("created <= ${}", created_lte),
                          ("amount >= ${}", amount_gte), ("amount <= ${}", amount_lte)):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    args.append(limit + 1)
    return await db.fetch_as(PaymentIntent, f"SELECT * FROM payment_intents WHERE {' AND '.join(where)} "
                             f"ORDER BY id DESC LIMIT ${len(args)}", *args)


async def stuck_processing(older_than: datetime, limit: int = 100) -> list[PaymentIntent]:
    return await db.fetch_as(
        PaymentIntent, "SELECT * FROM payment_intents WHERE status = 'processing' "
        "AND processing_since < $1 ORDER BY processing_since LIMIT $2", older_than, limit)


async def stuck_actions(older_than: datetime, limit: int = 100) -> list[PaymentIntent]:
    """Captures and releases asked of the processor whose answer was never applied."""
    return await db.fetch_as(
        PaymentIntent, "SELECT * FROM payment_intents WHERE pending_action IS NOT NULL AND processing_since < $1 "
        "ORDER BY processing_since LIMIT $2", older_than, limit)


async def expired_authorizations(now: datetime, limit: int = 100) -> list[PaymentIntent]:
    return await db.fetch_as(
        PaymentIntent, "SELECT * FROM payment_intents WHERE status = 'requires_capture' "
        "AND capture_before <= $1 ORDER BY capture_before LIMIT $2", now, limit)


# --- refunds ------------------------------------------------------------------------------------


async def refunds_of(scope: Scope, pi_id: str) -> list[Refund]:
    return await db.fetch_as(
        Refund, "SELECT * FROM refunds WHERE account_id = $1 AND livemode = $2 AND payment_intent_id = $3 "
        "ORDER BY id", scope.account_id, scope.livemode, pi_id)


async def refunds_of_intents(scope: Scope, pi_ids: list[str]) -> list[Refund]:
    return await db.fetch_as(
        Refund, "SELECT * FROM refunds WHERE account_id = $1 AND livemode = $2 AND payment_intent_id = ANY($3) "
        "ORDER BY id", scope.account_id, scope.livemode, pi_ids)


async def list_refunds(scope: Scope, limit: int, after: str | None, payment_intent: str | None) -> list[Refund]:
    args: list[Any] = [scope.account_id, scope.livemode]
    where = ["account_id = $1", "livemode = $2"]
    for clause, value in (("id < ${}", after), ("payment_intent_id = ${}", payment_intent)):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    args.append(limit + 1)
    return await db.fetch_as(Refund, f"SELECT * FROM refunds WHERE {' AND '.join(where)} "
                             f"ORDER BY id DESC LIMIT ${len(args)}", *args)


async def get_refund(scope: Scope, refund_id: str, *, lock: bool = False) -> Refund | None:
    return await db.fetchrow_as(Refund, "SELECT * FROM refunds WHERE account_id = $1 AND livemode = $2 AND id = $3"
                                + (" FOR UPDATE" if lock else ""), scope.account_id, scope.livemode, refund_id)


async def insert_refund(refund: Refund) -> Refund:
    values = _columns(refund)
    made = await db.fetchrow_as(Refund, db.insert_sql("refunds", list(values), "RETURNING *"), *values.values())
    assert made is not None
    return made


async def update_refund(refund_id: str, status: str, processor_refund_id: str | None) -> Refund:
    row = await db.fetchrow_as(Refund, "UPDATE refunds SET status = $2, processor_refund_id = $3 WHERE id = $1 "
                               "RETURNING *", refund_id, status, processor_refund_id)
    assert row is not None
    return row


async def pending_refunds(older_than: datetime, limit: int = 100) -> list[Refund]:
    return await db.fetch_as(Refund, "SELECT * FROM refunds WHERE status = 'pending' AND created < $1 "
                             "ORDER BY created LIMIT $2", older_than, limit)


# --- receipts -----------------------------------------------------------------------------------


async def insert_receipt(receipt: Receipt) -> Receipt:
    values = _columns(receipt)
    made = await db.fetchrow_as(Receipt, db.insert_sql("receipts", list(values), "RETURNING *"), *values.values())
    assert made is not None
    return made


async def receipts_of(scope: Scope, pi_id: str) -> list[Receipt]:
    return await db.fetch_as(Receipt, "SELECT * FROM receipts WHERE account_id = $1 AND livemode = $2 "
                             "AND payment_intent_id = $3 ORDER BY id", scope.account_id, scope.livemode, pi_id)


async def receipt(scope: Scope, receipt_id: str) -> Receipt | None:
    return await db.fetchrow_as(Receipt, "SELECT * FROM receipts WHERE account_id = $1 AND livemode = $2 AND id = $3",
                                scope.account_id, scope.livemode, receipt_id)


async def receipt_by_token(token: str) -> Receipt | None:
    """The public receipt page's read: unscoped on purpose, found only by its unguessable token."""
    return await db.fetchrow_as(Receipt, "SELECT * FROM receipts WHERE token = $1", token)


async def payment_receipts(scope: Scope, pi_ids: list[str]) -> list[Receipt]:
    """The receipts of these payments themselves (not of their refunds)."""
    return await db.fetch_as(Receipt, "SELECT * FROM receipts WHERE account_id = $1 AND livemode = $2 "
                             "AND payment_intent_id = ANY($3) AND refund_id IS NULL", scope.account_id,
                             scope.livemode, pi_ids)


# --- what payments read of other tables ---------------------------------------------------------


async def account_pricing(account_id: str) -> Pricing:
    row = await db.fetchrow_as(Pricing, "SELECT name, fee_percent_bps, fee_fixed_minor FROM accounts WHERE id = $1",
                               account_id)
    assert row is not None
    return row


class TimelineEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event of a payment or of one of its refunds, with the payment it belongs to."""

    intent_id: str
    id: str
    type: str
    object_id: str
    created: datetime


async def timeline_events(scope: Scope, pi_ids: list[str], limit: int) -> list[TimelineEvent]:
    """The events of each payment, its refunds and its dispute, in commit order (unpublished last), at most
    `limit` each."""
    return await db.fetch_as(
        TimelineEvent,
        "WITH objects AS ("
        " SELECT u.id AS intent_id, u.id AS object_id FROM unnest($3::text[]) AS u(id)"
        " UNION ALL SELECT payment_intent_id, id FROM refunds"
        " WHERE account_id = $1 AND livemode = $2 AND payment_intent_id = ANY($3)"
        " UNION ALL SELECT payment_intent_id, id FROM disputes"
        " WHERE account_id = $1 AND livemode = $2 AND payment_intent_id = ANY($3)) "
        "SELECT intent_id, id, type, object_id, created FROM ("
        " SELECT o.intent_id, e.id, e.type, e.object_id, e.created,"
        " row_number() OVER (PARTITION BY o.intent_id ORDER BY e.pos NULLS LAST, e.seq) AS n"
        " FROM objects o JOIN events e ON e.account_id = $1 AND e.livemode = $2 AND e.object_id = o.object_id"
        ") timeline WHERE n <= $4 ORDER BY intent_id, n",
        scope.account_id, scope.livemode, pi_ids, limit)


async def reconcile_backlog(older_than: datetime) -> int:
    """Payments the reconciler has yet to settle: processing, or with an action pending, since before the cutoff."""
    row = await db.fetchrow(
        "SELECT count(*) AS n FROM payment_intents WHERE (status = 'processing' OR pending_action IS NOT NULL) "
        "AND processing_since < $1", older_than)
    return int(row["n"]) if row else 0
