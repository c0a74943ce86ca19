"""SQL of the ledger. The hot path is hand-written SQL (one function call per entry)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server import clock, db
from server.context import Scope
from server.ids import new_id
from server.ledger.rows import BalanceChange, FxRate, LedgerAccount, Posting


async def ensure_account(scope: Scope, owner_type: str, owner_id: str, purpose: str, currency: str,
                         allow_negative: bool) -> LedgerAccount:
    """The ledger account for (owner, purpose, currency), created on first use (one round trip either way)."""
    row = await db.fetchrow_as(
        LedgerAccount, "SELECT * FROM ledger_ensure_account($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        new_id("la"), scope.account_id, scope.livemode, owner_type, owner_id, purpose, currency, allow_negative,
        clock.now())
    assert row is not None
    return row


async def get_by_owner(scope: Scope, owner_id: str, purpose: str, currency: str) -> LedgerAccount | None:
    return await db.fetchrow_as(
        LedgerAccount, "SELECT * FROM ledger_accounts WHERE account_id = $1 AND livemode = $2 AND owner_id = $3 "
        "AND purpose = $4 AND currency = $5", scope.account_id, scope.livemode, owner_id, purpose, currency)


async def accounts_of_owner(scope: Scope, owner_id: str, purpose: str | None = None) -> list[LedgerAccount]:
    sql = "SELECT * FROM ledger_accounts WHERE account_id = $1 AND livemode = $2 AND owner_id = $3"
    args: list[Any] = [scope.account_id, scope.livemode, owner_id]
    if purpose:
        sql += " AND purpose = $4"
        args.append(purpose)
    return await db.fetch_as(LedgerAccount, sql + " ORDER BY currency", *args)


async def accounts_of_owners(scope: Scope, owner_ids: list[str], purpose: str) -> list[LedgerAccount]:
    return await db.fetch_as(LedgerAccount, "SELECT * FROM ledger_accounts WHERE account_id = $1 AND livemode = $2 "
                             "AND owner_id = ANY($3) AND purpose = $4 ORDER BY owner_id, currency",
                             scope.account_id, scope.livemode, owner_ids, purpose)


async def post_entry(scope: Scope, entry_id: str, kind: str, reference: str | None, description: str,
                     metadata: dict[str, Any], legs: list[tuple[str, str, int]]) -> list[Posting]:
    """Write an entry and its postings in one call; returns each posting's balance_after."""
    return await db.fetch_as(
        Posting, "SELECT * FROM ledger_post_entry($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11)",
        entry_id, scope.account_id, scope.livemode, kind, reference, description, metadata,
        [new_id("pst") for _ in legs], [leg[0] for leg in legs], [leg[1] for leg in legs], [leg[2] for leg in legs],
    )


async def balances_at(scope: Scope, ledger_account_ids: list[str], at: datetime) -> dict[str, int]:
    """Balance of each ledger account just after its last posting at or before `at`."""
    rows = await db.fetch(
        "SELECT DISTINCT ON (ledger_account_id) ledger_account_id, balance_after FROM postings "
        "WHERE account_id = $1 AND livemode = $2 AND ledger_account_id = ANY($3) AND created <= $4 "
        "ORDER BY ledger_account_id, created DESC, account_seq DESC",
        scope.account_id, scope.livemode, ledger_account_ids, at)
    return {r["ledger_account_id"]: r["balance_after"] for r in rows}


async def history(scope: Scope, ledger_account_ids: list[str], after: str | None, limit: int,
                  gte: datetime | None, lte: datetime | None) -> list[BalanceChange]:
    """Postings of the ledger accounts with their entry, newest first (keyset on posting id)."""
    args: list[Any] = [scope.account_id, scope.livemode, ledger_account_ids]
    where = ["p.account_id = $1", "p.livemode = $2", "p.ledger_account_id = ANY($3)"]
    for op, value in (("<", after), (">=", gte), ("<=", lte)):
        if value is not None:
            args.append(value)
            where.append(f"p.{'id' if op == '<' else 'created'} {op} ${len(args)}")
    args.append(limit + 1)
    return await db.fetch_as(
        BalanceChange, "SELECT p.id, p.entry_id, p.currency, p.amount, p.balance_after, p.created, e.kind, "
        "e.reference, e.description FROM postings p JOIN journal_entries e ON e.id = p.entry_id "
        "AND e.account_id = p.account_id AND e.livemode = p.livemode "
        f"WHERE {' AND '.join(where)} ORDER BY p.id DESC LIMIT ${len(args)}", *args)


async def balance_after_entry(scope: Scope, entry_id: str, purpose: str) -> int | None:
    """The balance an entry left on its ledger account of `purpose` (a credit's wallet, say)."""
    row = await db.fetchrow(
        "SELECT p.balance_after FROM postings p JOIN ledger_accounts la ON la.id = p.ledger_account_id "
        "WHERE p.account_id = $1 AND p.livemode = $2 AND p.entry_id = $3 AND la.purpose = $4",
        scope.account_id, scope.livemode, entry_id, purpose)
    return row["balance_after"] if row else None


async def fx_rate(scope: Scope, base: str, quote: str) -> FxRate | None:
    return await db.fetchrow_as(
        FxRate, "SELECT * FROM fx_rates WHERE account_id = $1 AND livemode = $2 AND base = $3 AND quote = $4",
        scope.account_id, scope.livemode, base, quote)


async def fx_rates(scope: Scope) -> list[FxRate]:
    return await db.fetch_as(FxRate, "SELECT * FROM fx_rates WHERE account_id = $1 AND livemode = $2 "
                             "ORDER BY base, quote", scope.account_id, scope.livemode)


async def upsert_fx_rate(scope: Scope, base: str, quote: str, rate: str, spread_bps: int) -> FxRate:
    rows = await db.fetch_as(
        FxRate, "INSERT INTO fx_rates (id, account_id, livemode, base, quote, rate, spread_bps, updated) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, livemode, base, quote) "
        "DO UPDATE SET rate = EXCLUDED.rate, spread_bps = EXCLUDED.spread_bps, updated = EXCLUDED.updated "
        "RETURNING *", new_id("fx"), scope.account_id, scope.livemode, base, quote, rate, spread_bps,
        clock.now())
    return rows[0]


async def delete_fx_rate(scope: Scope, base: str, quote: str) -> bool:
    rows = await db.fetch(
        "DELETE FROM fx_rates WHERE account_id = $1 AND livemode = $2 AND base = $3 AND quote = $4 RETURNING id",
        scope.account_id, scope.livemode, base, quote)
    return bool(rows)


async def lock_accounts(scope: Scope, ledger_account_ids: list[str]) -> None:
    """Lock ledger accounts in id order; a caller posting several entries in one transaction locks
    every account it will touch first, so batches cannot deadlock each other."""
    await db.fetch("SELECT 1 FROM ledger_accounts WHERE id = ANY($1) AND account_id = $2 AND livemode = $3 "
                   "ORDER BY id FOR UPDATE", sorted(set(ledger_account_ids)), scope.account_id, scope.livemode)


async def post_bulk(scope: Scope, entries: list[tuple[str, str, str | None, str, datetime]],
                    postings: list[tuple[str, str, str, int]]) -> int:
    """Many dated entries in one call (`ledger_post_bulk`, same invariants as one by one); returns postings written.

    `entries`: (id, kind, reference, description, created); `postings`: (id, entry id, ledger account id, amount).
    """
    row = await db.fetchrow(
        "SELECT ledger_post_bulk($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) AS written",
        scope.account_id, scope.livemode, *[list(column) for column in zip(*entries, strict=True)],
        *[list(column) for column in zip(*postings, strict=True)])
    assert row is not None
    return int(row["written"])
