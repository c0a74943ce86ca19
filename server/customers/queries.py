"""SQL for customers, credits and transfers. Every read takes a Scope; rows are typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from server import db
from server.context import Scope
from server.customers.rows import Credit, CreditOutcome, Customer, Transfer
from server.ids import new_id

CUSTOMER_COLUMNS = "id, account_id, livemode, email, name, metadata, status, created, updated"


def _values(row: Customer | Credit | Transfer) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__struct_fields__}


async def insert_customer(customer: Customer) -> None:
    values = _values(customer)
    await db.execute(db.insert_sql("customers", list(values)), *values.values())


async def get_customer(scope: Scope, customer_id: str, lock: str = "") -> Customer | None:
    """`lock` is '', 'FOR SHARE' or 'FOR UPDATE'."""
    assert lock in ("", "FOR SHARE", "FOR UPDATE")
    return await db.fetchrow_as(
        Customer, f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1 AND account_id = $2 AND livemode = $3 "
        f"{lock}", customer_id, scope.account_id, scope.livemode)


async def lock_customers(scope: Scope, ids: list[str]) -> dict[str, Customer]:
    """Share-lock customers in id order (the lock order before ledger accounts)."""
    rows = await db.fetch_as(
        Customer, f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ANY($1) AND account_id = $2 "
        "AND livemode = $3 ORDER BY id FOR SHARE", sorted(set(ids)), scope.account_id, scope.livemode)
    return {r.id: r for r in rows}


async def update_customer(scope: Scope, customer_id: str, values: Mapping[str, object]) -> Customer | None:
    return await db.fetchrow_as(
        Customer, f"UPDATE customers SET {db.set_sql(list(values), 4)} WHERE id = $1 AND account_id = $2 "
        f"AND livemode = $3 RETURNING {CUSTOMER_COLUMNS}", customer_id, scope.account_id, scope.livemode,
        *values.values())


async def list_customers(scope: Scope, after: str | None, limit: int, email: str | None = None,
                         search: str | None = None, status: str | None = None) -> list[Customer]:
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
    return await db.fetch_as(Customer, f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {' AND '.join(where)} "
                             f"ORDER BY id DESC LIMIT ${len(args)}", *args)


async def credit_customer(credit: Credit, kind: str, wallet: str | None, funding: str | None,
                          negative: tuple[bool, bool], event: tuple[Any, ...]) -> CreditOutcome:
    """The whole credit in one statement that commits on its own (customer_credit(), see its migration): the
    customer share-locked and checked, the credit row (a used transaction_id waits for its first use to finish),
    the wallet and funding accounts created when their ids are None (`negative`: may each go below zero), the
    entry and `event` (event_emit()'s arguments; its data gets `current_balance`)."""
    row = await db.fetch_committing(
        "SELECT * FROM customer_credit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
        "$18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)",
        credit.id, credit.account_id, credit.livemode, credit.customer_id, credit.transaction_id, credit.amount,
        credit.currency, credit.entry_id, credit.created, wallet, funding, _new_account_id(wallet),
        _new_account_id(funding), *negative,
        kind, [new_id("pst"), new_id("pst")], *event)
    return msgspec.convert(row[0], CreditOutcome)


def _new_account_id(known: str | None) -> str | None:
    """The id a ledger account gets if the call creates it: only needed when its id is not known."""
    return new_id("la") if known is None else None


async def get_credit(scope: Scope, credit_id: str) -> Credit | None:
    return await db.fetchrow_as(Credit, "SELECT * FROM credits WHERE id = $1 AND account_id = $2 AND livemode = $3",
                                credit_id, scope.account_id, scope.livemode)


async def insert_transfer(transfer: Transfer) -> None:
    values = _values(transfer)
    await db.execute(db.insert_sql("transfers", list(values)), *values.values())


async def get_transfer(scope: Scope, transfer_id: str) -> Transfer | None:
    return await db.fetchrow_as(Transfer, "SELECT * FROM transfers WHERE id = $1 AND account_id = $2 "
                                "AND livemode = $3", transfer_id, scope.account_id, scope.livemode)


async def list_transfers(scope: Scope, after: str | None, limit: int, customer: str | None) -> list[Transfer]:
    args: list[Any] = [scope.account_id, scope.livemode]
    where = ["account_id = $1", "livemode = $2"]
    if customer:
        args.append(customer)
        where.append(f"(from_customer = ${len(args)} OR to_customer = ${len(args)})")
    if after:
        args.append(after)
        where.append(f"id < ${len(args)}")
    args.append(limit + 1)
    return await db.fetch_as(Transfer, f"SELECT * FROM transfers WHERE {' AND '.join(where)} ORDER BY id DESC "
                             f"LIMIT ${len(args)}", *args)
