"""REST: /v1/customers (with credits, balance, history) and /v1/transfers."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import Provide
from litestar.params import Parameter

from server.context import RequestContext
from server.customers import service, wallet
from server.customers.rows import CustomerChanges
from server.customers.serial import balance_change_json, credit_json, customer_json, transfer_json
from server.instants import parse_instant
from server.ledger.rows import Balance
from server.pagination import parse_limit
from server.rest import api_context, list_body

UNSET: Any = msgspec.UNSET


class CustomerCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Any = None
    name: Any = None
    metadata: Any = None


class CustomerUpdate(msgspec.Struct, forbid_unknown_fields=True):
    email: Any = UNSET
    name: Any = UNSET
    metadata: Any = UNSET
    status: Any = UNSET


class CreditCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: Any = None
    currency: Any = None
    transaction_id: Any = None
    amount_decimal: Any = None


class TransferCreate(msgspec.Struct, forbid_unknown_fields=True):
    from_customer: Any = None
    to_customer: Any = None
    amount: Any = None
    currency: Any = None
    to_currency: Any = None
    description: Any = None
    amount_decimal: Any = None


def balance_body(customer_id: str, rows: list[Balance], livemode: bool, at: str | None) -> dict[str, Any]:
    return {"object": "balance", "customer": customer_id, "livemode": livemode, "at": at,
            "available": [{"amount": r.available, "currency": r.currency} for r in rows],
            "pending": [{"amount": r.pending, "currency": r.currency} for r in rows]}


class CustomerController(Controller):
    path = "/v1/customers"
    tags = ["customers"]
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200, summary="Create a customer")
    async def create(self, ctx: RequestContext, data: CustomerCreate) -> dict[str, Any]:
        return customer_json(await service.create(ctx, data.email, data.name, data.metadata))

    @get("/", summary="List customers, newest first")
    async def list_(self, ctx: RequestContext, limit: str | None = None,
                    cursor: str | None = None, email: str | None = None,
                    status: str | None = None) -> dict[str, Any]:
        page = await service.list_customers(ctx, parse_limit(limit), cursor, email=email, status=status)
        return list_body(page, customer_json, "/v1/customers")

    @get("/{customer_id:str}", summary="Retrieve a customer")
    async def retrieve(self, ctx: RequestContext, customer_id: str) -> dict[str, Any]:
        return customer_json(await service.get(ctx, customer_id))

    @post("/{customer_id:str}", status_code=200, summary="Update a customer")
    async def update(self, ctx: RequestContext, customer_id: str, data: CustomerUpdate) -> dict[str, Any]:
        changes = CustomerChanges(email=data.email, name=data.name, metadata=data.metadata, status=data.status)
        return customer_json(await service.update(ctx, customer_id, changes))

    @delete("/{customer_id:str}", status_code=200, summary="Close a customer (needs a zero balance)")
    async def close(self, ctx: RequestContext, customer_id: str) -> dict[str, Any]:
        return customer_json(await service.close(ctx, customer_id))

    @post("/{customer_id:str}/credits", status_code=202, summary="Add money once per transaction_id")
    async def credit(self, ctx: RequestContext, customer_id: str, data: CreditCreate) -> dict[str, Any]:
        row, balance = await wallet.credit(ctx, customer_id, data.amount, data.currency, data.transaction_id,
                                           data.amount_decimal)
        return credit_json(row, balance)

    @get("/{customer_id:str}/balance", summary="Balance per currency, now or ?at=<time>")
    async def balance(self, ctx: RequestContext, customer_id: str, at: str | None = None) -> dict[str, Any]:
        rows = await wallet.balance(ctx, customer_id, at)
        when = parse_instant(at, "at")
        return balance_body(customer_id, rows, ctx.scope.livemode, when.isoformat() if when else None)

    @get("/{customer_id:str}/history", summary="Balance history, newest first")
    async def history(self, ctx: RequestContext, customer_id: str, limit: str | None = None,
                      cursor: str | None = None,
                      gte: str | None = Parameter(query="created[gte]", default=None, required=False),
                      lte: str | None = Parameter(query="created[lte]", default=None, required=False),
                      ) -> dict[str, Any]:
        page = await wallet.history(ctx, customer_id, parse_limit(limit), cursor, gte, lte)
        return list_body(page, balance_change_json, f"/v1/customers/{customer_id}/history")


class TransferController(Controller):
    path = "/v1/transfers"
    tags = ["transfers"]
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200, summary="Move money between customers (converting at the account's FX rates)")
    async def create(self, ctx: RequestContext, data: TransferCreate) -> dict[str, Any]:
        row = await wallet.transfer(ctx, data.from_customer, data.to_customer, data.amount, data.currency,
                                    data.to_currency, data.description, data.amount_decimal)
        return transfer_json(row)

    @get("/", summary="List transfers, newest first")
    async def list_(self, ctx: RequestContext, limit: str | None = None, cursor: str | None = None,
                    customer: str | None = None) -> dict[str, Any]:
        page = await wallet.list_transfers(ctx, parse_limit(limit), cursor, customer)
        return list_body(page, transfer_json, "/v1/transfers")

    @get("/{transfer_id:str}", summary="Retrieve a transfer")
    async def retrieve(self, ctx: RequestContext, transfer_id: str) -> dict[str, Any]:
        return transfer_json(await wallet.get_transfer(ctx, transfer_id))


__all__ = ["CustomerController", "TransferController"]
