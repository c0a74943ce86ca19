"""SQL of disputes and of the processor's dispute feed. Merchant reads take a Scope; rows are typed.

The few reads without a scope serve the processor feed and the deadline job, which act for every
account: they find a dispute by the processor's id, or claim due rows with SKIP LOCKED.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from server import db
from server.context import Scope
from server.disputes.rows import Dispute, ProcessorFeed


def _columns(row: msgspec.Struct) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__struct_fields__}


async def get(scope: Scope, dispute_id: str, *, lock: bool = False) -> Dispute | None:
    return await db.fetchrow_as(
        Dispute, "SELECT * FROM disputes WHERE account_id = $1 AND livemode = $2 AND id = $3"
        + (" FOR UPDATE" if lock else ""), scope.account_id, scope.livemode, dispute_id)


async def by_processor_id(processor_dispute_id: str, *, lock: bool = False) -> Dispute | None:
    return await db.fetchrow_as(Dispute, "SELECT * FROM disputes WHERE processor_dispute_id = $1"
                                + (" FOR UPDATE" if lock else ""), processor_dispute_id)


async def of_intents(scope: Scope, pi_ids: list[str]) -> list[Dispute]:
    return await db.fetch_as(Dispute, "SELECT * FROM disputes WHERE account_id = $1 AND livemode = $2 "
                             "AND payment_intent_id = ANY($3::varchar[])", scope.account_id, scope.livemode, pi_ids)


async def insert(dispute: Dispute) -> Dispute | None:
    """The new dispute, or None when the processor's dispute is already recorded (a repeated report)."""
    values = _columns(dispute)
    return await db.fetchrow_as(Dispute, db.insert_sql("disputes", list(values),
                                                       "ON CONFLICT (processor_dispute_id) DO NOTHING RETURNING *"),
                                *values.values())


async def update(dispute_id: str, changes: Mapping[str, object]) -> Dispute:
    """Change columns of one dispute (the caller holds its row lock); the row after."""
    row = await db.fetchrow_as(Dispute, f"UPDATE disputes SET {db.set_sql(list(changes), 2)} "
                               "WHERE id = $1 RETURNING *", dispute_id, *changes.values())
    assert row is not None
    return row


async def list_disputes(scope: Scope, after: str | None, limit: int, *, status: str | None = None,
                        payment_intent: str | None = None, open_only: bool = False) -> list[Dispute]:
    args: list[Any] = [scope.account_id, scope.livemode]
    where = ["account_id = $1", "livemode = $2"]
    for clause, value in (("id < ${}", after), ("status = ${}", status), ("payment_intent_id = ${}", payment_intent)):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    if open_only:
        where.append("closed_at IS NULL")
    args.append(limit + 1)
    return await db.fetch_as(Dispute, f"SELECT * FROM disputes WHERE {' AND '.join(where)} "
                             f"ORDER BY id DESC LIMIT ${len(args)}", *args)


class IntentCharge(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    processor_charge_id: str | None


async def disputed_intent_of_charge(scope: Scope, charge_id: str) -> str | None:
    """The payment whose charge `charge_id` is, among the scope's disputed payments (read from the disputes)."""
    found = await db.fetchrow_as(
        IntentCharge, "SELECT p.id, p.processor_charge_id FROM disputes d JOIN payment_intents p "
        "ON p.id = d.payment_intent_id WHERE d.account_id = $1 AND d.livemode = $2 AND p.processor_charge_id = $3 "
        "LIMIT 1", scope.account_id, scope.livemode, charge_id)
    return found.id if found else None


class DisputeEvent(msgspec.Struct, frozen=True, kw_only=True):
    dispute_id: str
    id: str
    type: str
    created: datetime


async def timeline_events(scope: Scope, dispute_ids: list[str], limit: int) -> list[DisputeEvent]:
    """The events of each dispute in commit order (unpublished last), at most `limit` each."""
    return await db.fetch_as(
        DisputeEvent,
        "SELECT dispute_id, id, type, created FROM ("
        " SELECT e.object_id AS dispute_id, e.id, e.type, e.created,"
        " row_number() OVER (PARTITION BY e.object_id ORDER BY e.pos NULLS LAST, e.seq) AS n"
        " FROM events e WHERE e.account_id = $1 AND e.livemode = $2 AND e.object_id = ANY($3::text[])"
        ") timeline WHERE n <= $4 ORDER BY dispute_id, n",
        scope.account_id, scope.livemode, dispute_ids, limit)


# --- jobs (every account) ---------------------------------------------------------------------------


async def pending_processor(limit: int) -> list[Dispute]:
    """Disputes whose evidence or acceptance the processor has not acknowledged yet."""
    return await db.fetch_as(Dispute, "SELECT * FROM disputes WHERE processor_pending IS NOT NULL "
                             "ORDER BY updated LIMIT $1", limit)


async def feed(name: str, *, lock: bool = False) -> ProcessorFeed | None:
    return await db.fetchrow_as(ProcessorFeed, "SELECT * FROM processor_feeds WHERE name = $1"
                                + (" FOR UPDATE" if lock else ""), name)


async def save_feed(name: str, epoch: str, position: int, now: datetime) -> None:
    """Move the position forward (never back, whoever polled meanwhile), or restart it with a new epoch."""
    await db.execute(
        "INSERT INTO processor_feeds (name, epoch, position, updated) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (name) DO UPDATE SET epoch = $2, updated = $4, position = CASE "
        "WHEN processor_feeds.epoch = $2 THEN greatest(processor_feeds.position, $3) ELSE $3 END",
        name, epoch, position, now)


async def due_for_deadline(now: datetime, first: timedelta, last: timedelta, limit: int) -> list[Dispute]:
    """Disputes awaiting evidence with deadline work to do now: past due, or a reminder due and not sent."""
    return await db.fetch_as(
        Dispute, "SELECT * FROM disputes WHERE status IN ('needs_response', 'warning_needs_response') "
        "AND due_by <= $1::timestamptz + $2::interval AND (due_by <= $1::timestamptz OR reminded_72h_at IS NULL "
        "OR (reminded_24h_at IS NULL AND due_by <= $1::timestamptz + $3::interval)) ORDER BY due_by LIMIT $4",
        now, first, last, limit)


class IntentScope(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    account_id: str
    livemode: bool


async def intent_scope(pi_id: str) -> IntentScope | None:
    """Whose payment `pi_id` is: the processor's reports name the payment they concern, not the account."""
    return await db.fetchrow_as(IntentScope, "SELECT id, account_id, livemode FROM payment_intents WHERE id = $1",
                                pi_id)


async def dispute_fee(account_id: str) -> int:
    """The account's dispute fee (pricing), in minor units of the disputed currency."""
    row = await db.fetchrow("SELECT dispute_fee_minor FROM accounts WHERE id = $1", account_id)
    assert row is not None
    return int(row["dispute_fee_minor"])
