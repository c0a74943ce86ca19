"""SQL of transfer claims and their messages. Merchant reads take a Scope; rows are typed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from server import db
from server.claims.rows import ClaimMessage, TransferClaim
from server.context import Scope


async def get(scope: Scope, claim_id: str, *, lock: bool = False) -> TransferClaim | None:
    return await db.fetchrow_as(
        TransferClaim, "SELECT * FROM transfer_claims WHERE account_id = $1 AND livemode = $2 AND id = $3"
        + (" FOR UPDATE" if lock else ""), scope.account_id, scope.livemode, claim_id)


async def insert(claim: TransferClaim) -> TransferClaim | None:
    """The new claim, or None when the transfer has one already (a transfer is claimed once)."""
    values = {name: getattr(claim, name) for name in claim.__struct_fields__}
    return await db.fetchrow_as(TransferClaim, db.insert_sql("transfer_claims", list(values),
                                                             "ON CONFLICT (transfer_id) DO NOTHING RETURNING *"),
                                *values.values())


async def update(claim_id: str, changes: Mapping[str, object]) -> TransferClaim:
    """Change columns of one claim (the caller holds its row lock); the row after."""
    row = await db.fetchrow_as(TransferClaim, f"UPDATE transfer_claims SET {db.set_sql(list(changes), 2)} "
                               "WHERE id = $1 RETURNING *", claim_id, *changes.values())
    assert row is not None
    return row


async def list_claims(scope: Scope, after: str | None, limit: int, *, status: str | None = None,
                      customer: str | None = None, transfer: str | None = None) -> list[TransferClaim]:
    args: list[Any] = [scope.account_id, scope.livemode]
    where = ["account_id = $1", "livemode = $2"]
    for clause, value in (("id < ${}", after), ("status = ${}", status), ("transfer_id = ${}", transfer),
                          ("(sender = ${0} OR receiver = ${0})", customer)):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    args.append(limit + 1)
    return await db.fetch_as(TransferClaim, f"SELECT * FROM transfer_claims WHERE {' AND '.join(where)} "
                             f"ORDER BY id DESC LIMIT ${len(args)}", *args)


async def insert_message(message: ClaimMessage) -> None:
    values = {name: getattr(message, name) for name in message.__struct_fields__}
    await db.execute(db.insert_sql("transfer_claim_messages", list(values)), *values.values())


async def messages_of(scope: Scope, claim_ids: list[str], limit: int) -> list[ClaimMessage]:
    """The messages of each claim, oldest first, at most `limit` each."""
    return await db.fetch_as(
        ClaimMessage, "SELECT id, account_id, livemode, claim_id, author, body, created FROM ("
        " SELECT m.*, row_number() OVER (PARTITION BY claim_id ORDER BY id) AS n FROM transfer_claim_messages m"
        " WHERE account_id = $1 AND livemode = $2 AND claim_id = ANY($3::varchar[])) listed"
        " WHERE n <= $4 ORDER BY claim_id, id", scope.account_id, scope.livemode, claim_ids, limit)


async def inquiries_due(now: datetime, limit: int) -> list[TransferClaim]:
    """Inquiries of every account whose time to settle between the parties is over (not locked)."""
    return await db.fetch_as(TransferClaim, "SELECT * FROM transfer_claims WHERE status = 'inquiry' "
                             "AND escalate_after <= $1 ORDER BY escalate_after LIMIT $2", now, limit)
