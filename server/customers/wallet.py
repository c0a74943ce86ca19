"""Customer balances: credits (the ledger seed's "add"), balance, history, transfers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from server import db
from server.context import RequestContext, Scope
from server.customers import queries
from server.errors import Conflict, InvalidRequest, NotFound, Unprocessable
from server.events.service import emit
from server.idempotency import effects
from server.ids import new_id
from server.instants import parse_instant
from server.ledger import fx
from server.ledger import queries as ledger_queries
from server.ledger import service as ledger
from server.ledger.money import currency_code, minor_amount
from server.pagination import Page, decode_cursor
from server.permissions import read, write

TRANSACTION_ID = re.compile(r"^[A-Za-z0-9_\-.:]{1,255}$")


def parse_time(value: Any, param: str) -> datetime | None:
    """A unix timestamp (seconds) or an ISO 8601 time; a 400 naming `param` otherwise."""
    return parse_instant(value, param)


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 500:
        raise InvalidRequest("description must be a string of at most 500 characters", param="description")
    return value


def credit_data(row: dict[str, Any], balance: int | None = None) -> dict[str, Any]:
    data = {"id": row["id"], "object": "credit", "customer": row["customer_id"], "amount": row["amount"],
            "currency": row["currency"], "transaction_id": row["transaction_id"], "entry": row["entry_id"],
            "livemode": row["livemode"], "created": int(row["created"].timestamp())}
    if balance is not None:
        data["current_balance"] = balance
    return data


def transfer_data(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "object": "transfer", "from_customer": row["from_customer"],
            "to_customer": row["to_customer"], "amount": row["amount"], "currency": row["currency"],
            "to_amount": row["to_amount"], "to_currency": row["to_currency"], "rate": row["rate"],
            "entry": row["entry_id"], "description": row["description"], "livemode": row["livemode"],
            "created": int(row["created"].timestamp())}


async def _customer(scope: Scope, customer_id: str, param: str = "id") -> dict[str, Any]:
    row = await queries.get_customer(scope, customer_id, "FOR SHARE")
    if row is None:
        raise NotFound(f"no customer '{customer_id}'", param=param)
    return row


async def credit(ctx: RequestContext, customer_id: str, amount: Any, currency: Any, transaction_id: Any,
                 amount_decimal: Any = None) -> tuple[dict[str, Any], int]:
    """Add money to a customer's balance once per `transaction_id`. Returns the credit and the new balance."""
    scope = ctx.require(write("customers"))
    if not isinstance(transaction_id, str) or not TRANSACTION_ID.match(transaction_id):
        raise InvalidRequest("valid transaction id required: transaction_id must be 1-255 characters of letters, "
                             "digits, '_', '-', '.' or ':'", param="transaction_id")
    code = currency_code(currency)
    minor = minor_amount(amount, code, decimal_value=amount_decimal)
    step = effects.step("credit", customer_id)
    async with db.transaction():
        if done := await effects.recall(step):  # this request's credit committed before: return it
            return await _credit_made(scope, done["id"])
        customer = await _customer(scope, customer_id)
        if customer["status"] == "closed":
            raise Conflict("this customer is closed and cannot receive money", param="id", code="customer_closed")
        row = {"id": new_id("cr"), "account_id": scope.account_id, "livemode": scope.livemode,
               "customer_id": customer_id, "transaction_id": transaction_id, "amount": minor, "currency": code,
               "entry_id": new_id("je"), "created": datetime.now(UTC)}
        if not await queries.insert_credit(row):
            raise Unprocessable("transaction was already processed", param="transaction_id",
                                code="transaction_already_processed")
        wallet = await ledger.wallet(scope, customer_id, code)
        funding = await ledger.merchant_account(scope, "funding", code)
        entry = await ledger.post(scope, "credit", [ledger.Leg(funding["id"], code, -minor),
                                                   ledger.Leg(wallet["id"], code, minor)],
                                  reference=transaction_id, entry_id=row["entry_id"])
        balance = entry.balance_after(wallet["id"])
        await emit(ctx, scope, "credit.created", "credit", row["id"], credit_data(row, balance))
        await effects.bind(step, "credit", row["id"])
    return row, balance


async def _credit_made(scope: Scope, credit_id: str) -> tuple[dict[str, Any], int]:
    """A committed credit and the wallet balance right after it."""
    row = await queries.get_credit(scope, credit_id)
    assert row is not None
    balance = await ledger_queries.balance_after_entry(scope, row["entry_id"], "customer_wallet")
    assert balance is not None
    return row, balance


async def balance(ctx: RequestContext, customer_id: str, at: Any = None) -> list[dict[str, Any]]:
    scope = ctx.require(read("customers"))
    when = parse_time(at, "at")
    if await queries.get_customer(scope, customer_id) is None:
        raise NotFound(f"no customer '{customer_id}'", param="id")
    return await ledger.balances(scope, customer_id, "customer_wallet", when)


async def balances_of(ctx: RequestContext, customer_ids: list[str]) -> list[list[dict[str, Any]]]:
    """The balance now of each customer, in the order asked: a customer's nested field (the caller read them)."""
    return await ledger.current_balances(ctx.require(read("customers")), customer_ids, "customer_wallet")


async def history(ctx: RequestContext, customer_id: str, limit: int, cursor: str | None, gte: Any = None,
                  lte: Any = None) -> Page[dict[str, Any]]:
    scope = ctx.require(read("customers"))
    after = decode_cursor(cursor)
    start, end = parse_time(gte, "created[gte]"), parse_time(lte, "created[lte]")
    if await queries.get_customer(scope, customer_id) is None:
        raise NotFound(f"no customer '{customer_id}'", param="id")
    rows = await ledger.history(scope, customer_id, "customer_wallet", after, limit, start, end)
    return Page.from_rows(rows, limit)


async def transfer(ctx: RequestContext, from_customer: Any, to_customer: Any, amount: Any, currency: Any,
                   to_currency: Any = None, description: Any = None, amount_decimal: Any = None) -> dict[str, Any]:
    """Move money between customers, converting at the account's FX rate when currencies differ."""
    scope = ctx.require(write("transfers"))
    for param, value in (("from_customer", from_customer), ("to_customer", to_customer)):
        if not isinstance(value, str) or not value.startswith("cus_") or len(value) > 40:
            raise InvalidRequest(f"{param} must be a customer id (cus_…)", param=param)
    code = currency_code(currency)
    target_code = code if to_currency is None else currency_code(to_currency, "to_currency")
    minor = minor_amount(amount, code, decimal_value=amount_decimal)
    text = _description(description)
    if from_customer == to_customer and code == target_code:
        raise InvalidRequest("to_customer must differ from from_customer", param="to_customer")
    rate_row = None
    to_amount = minor
    if target_code != code:
        rate_row = await fx.rate_for(scope, code, target_code)
        to_amount = fx.convert(minor, code, target_code, rate_row)
        if to_amount <= 0:
            raise InvalidRequest(f"amount is too small to convert to {target_code}", param="amount")
    step = effects.step("transfer", from_customer)
    async with db.transaction():
        if done := await effects.recall(step):  # this request's transfer committed before: return it
            made = await queries.get_transfer(scope, done["id"])
            assert made is not None
            return made
        found = await queries.lock_customers(scope, [from_customer, to_customer])
        for param, cid in (("from_customer", from_customer), ("to_customer", to_customer)):
            if cid not in found:
                raise NotFound(f"no customer '{cid}'", param=param)
        sender, receiver = found[from_customer], found[to_customer]
        if sender["status"] != "active":
            raise Conflict(f"customer {from_customer} is {sender['status']} and cannot send money",
                           param="from_customer", code=f"customer_{sender['status']}")
        if receiver["status"] == "closed":
            raise Conflict(f"customer {to_customer} is closed and cannot receive money", param="to_customer",
                           code="customer_closed")
        # New ledger accounts are created in a fixed order too, so two first-time transfers
        # in opposite directions cannot wait on each other's inserts.
        wallets = {pair: await ledger.wallet(scope, *pair)
                   for pair in sorted({(from_customer, code), (to_customer, target_code)})}
        source, target = wallets[(from_customer, code)], wallets[(to_customer, target_code)]
        row = {"id": new_id("tr"), "account_id": scope.account_id, "livemode": scope.livemode,
               "from_customer": from_customer, "to_customer": to_customer, "amount": minor, "currency": code,
               "to_amount": to_amount, "to_currency": target_code,
               "rate": str(fx.effective_rate(rate_row)) if rate_row else None, "entry_id": new_id("je"),
               "description": text, "created": datetime.now(UTC)}
        if rate_row is None:
            legs = [ledger.Leg(source["id"], code, -minor), ledger.Leg(target["id"], code, minor)]
        else:
            fx_accounts = {c: await ledger.merchant_account(scope, "fx", c) for c in sorted((code, target_code))}
            fx_from, fx_to = fx_accounts[code], fx_accounts[target_code]
            legs = [ledger.Leg(source["id"], code, -minor), ledger.Leg(fx_from["id"], code, minor),
                    ledger.Leg(fx_to["id"], target_code, -to_amount), ledger.Leg(target["id"], target_code, to_amount)]
        await ledger.post(scope, "transfer", legs, reference=row["id"], description=text, entry_id=row["entry_id"])
        await queries.insert_transfer(row)
        await emit(ctx, scope, "transfer.created", "transfer", row["id"], transfer_data(row))
        await effects.bind(step, "transfer", row["id"])
    return row


async def get_transfer(ctx: RequestContext, transfer_id: str) -> dict[str, Any]:
    scope = ctx.require(read("transfers"))
    row = await queries.get_transfer(scope, transfer_id)
    if row is None:
        raise NotFound(f"no transfer '{transfer_id}'", param="id")
    return row


async def list_transfers(ctx: RequestContext, limit: int, cursor: str | None,
                         customer: str | None = None) -> Page[dict[str, Any]]:
    scope = ctx.require(read("transfers"))
    return Page.from_rows(await queries.list_transfers(scope, decode_cursor(cursor), limit, customer), limit)
