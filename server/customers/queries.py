"""SQL for customers, credits and transfers. Every read takes a Scope."""

from __future__ import annotations

from typing import Any

from server import db
from server.context import Scope

CUSTOMER_COLUMNS = "id, account_id, livemode, email, name, metadata, status, created, updated"


async def insert_customer(row: dict[str, Any]) -> None:
    await db.execute(
        "INSERT INTO customers (id, account_id, livemode, email, name, metadata, status, created, updated) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        row["id"], row["account_id"], row["livemode"], row["email"], row["name"], row["metadata"],
        row["status"], row["created"], row["updated"])


async def get_customer(scope: Scope, customer_id: str, lock: str = "") -> dict[str, Any] | None:
    """`lock` is '', 'FOR SHARE' or 'FOR UPDATE'."""
    assert lock in ("", "FOR SHARE", "FOR UPDATE")
    return await db.fetchrow(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1 AND account_id = $2 AND livemode = $3 {lock}",
        customer_id, scope.account_id, scope.livemode)


async def lock_customers(scope: Scope, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Share-lock customers in id order (the lock order before ledger accounts)."""
    rows = await db.fetch(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ANY($1) AND account_id = $2 AND livemode = $3 "
        "ORDER BY id FOR SHARE", sorted(set(ids)), scope.account_id, scope.livemode)
    return {r["id"]: r for r in rows}


async def update_customer(scope: Scope, customer_id: str, values: dict[str, Any]) -> dict[str, Any] | None:
    sets, args = [], [customer_id, scope.account_id, scope.livemode]
    for name, value in values.items():
        args.append(value)
        sets.append(f"{name} = ${len(args)}")
    return await db.fetchrow(
        f"UPDATE customers SET {', '.join(sets)} WHERE id = $1 AND account_id = $2 AND livemode = $3 "
        f"RETURNING {CUSTOMER_COLUMNS}", *args)


async def list_customers(scope: Scope, after: str | None, limit: int, email: str | None = None,
                         search: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    args: list[Any] = [scope.account_id, scope.livemode]
    where = ["account_id = $1", "livemode = $2"]
    if email:
        args.append(email.lower())
        where.append(f"lower(email) = ${len(args)}")
    if search:
        args.append(f"%{search.lower()}%")
        where.append(f"lower(coalesce(email, '') || ' ' || name || ' ' || id) LIKE ${len(args)}")
    if status:
        args.append(status)
        where.append(f"status = ${len(args)}")
    if after:
        args.append(after)
        where.append(f"id < ${len(args)}")
    args.append(limit + 1)
    return await db.fetch(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {' AND '.join(where)} "
                          f"ORDER BY id DESC LIMIT ${len(args)}", *args)


async def insert_credit(row: dict[str, Any]) -> bool:
    """False when the transaction_id was already used (waits for a concurrent first use to finish)."""
    rows = await db.fetch(
        "INSERT INTO credits (id, account_id, livemode, customer_id, transaction_id, amount, currency, entry_id, "
        "created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (account_id, livemode, transaction_id) DO NOTHING RETURNING id",
        row["id"], row["account_id"], row["livemode"], row["customer_id"], row["transaction_id"], row["amount"],
        row["currency"], row["entry_id"], row["created"])
    return bool(rows)


async def get_credit(scope: Scope, credit_id: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM credits WHERE id = $1 AND account_id = $2 AND livemode = $3",
                             credit_id, scope.account_id, scope.livemode)


async def insert_transfer(row: dict[str, Any]) -> None:
    await db.execute(
        "INSERT INTO transfers (id, account_id, livemode, from_customer, to_customer, amount, currency, to_amount, "
        "to_currency, rate, entry_id, description, created) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        row["id"], row["account_id"], row["livemode"], row["from_customer"], row["to_customer"], row["amount"],
        row["currency"], row["to_amount"], row["to_currency"], row["rate"], row["entry_id"], row["description"],
        row["created"])


async def get_transfer(scope: Scope, transfer_id: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM transfers WHERE id = $1 AND account_id = $2 AND livemode = $3",
                             transfer_id, scope.account_id, scope.livemode)


async def list_transfers(scope: Scope, after: str | None, limit: int, customer: str | None) -> list[dict[str, Any]]:
    args: list[Any] = [scope.account_id, scope.livemode]
    where = ["account_id = $1", "livemode = $2"]
    if customer:
        args.append(customer)
        where.append(f"(from_customer = ${len(args)} OR to_customer = ${len(args)})")
    if after:
        args.append(after)
        where.append(f"id < ${len(args)}")
    args.append(limit + 1)
    return await db.fetch(f"SELECT * FROM transfers WHERE {' AND '.join(where)} ORDER BY id DESC "
                          f"LIMIT ${len(args)}", *args)
