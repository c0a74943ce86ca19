"""/stripe/v1/refunds, /stripe/v1/balance and /stripe/v1/balance_transactions, in Stripe's shapes."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide

from server.context import RequestContext
from server.customers.serial import balance_change_json
from server.ledger import service as ledger
from server.payments import refunds
from server.payments.serial import refund_json
from server.rest import api_context
from server.stripe_compat import lists, params, shapes

REFUND: params.Spec = {"payment_intent": None, "amount": None, "reason": None, "expand": params.ANY}


def refund(row: Any) -> dict[str, Any]:
    return shapes.refund(refund_json(row))


class RefundController(Controller):
    path = "/refunds"
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200)
    async def create(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), REFUND)
        pi_id = params.string(data, "payment_intent", required=True)
        return refund(await refunds.create(ctx, pi_id, params.integer(data, "amount"), params.string(data, "reason")))

    @get("/")
    async def list_(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), {**lists.LIST_PARAMS, "payment_intent": None})
        pi_id = params.string(data, "payment_intent")

        async def fetch(limit: int, after: str | None) -> Any:
            return await refunds.list_refunds(ctx, limit, after, pi_id)

        return await lists.page(data, fetch, refund, "/v1/refunds")

    @get("/{refund_id:str}")
    async def retrieve(self, ctx: RequestContext, request: Request, refund_id: str) -> dict[str, Any]:
        params.take(await params.read(request), {"expand": params.ANY})
        return refund(await refunds.get(ctx, refund_id))


class BalanceController(Controller):
    path = "/balance"
    dependencies = {"ctx": Provide(api_context)}

    @get("/")
    async def retrieve(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        params.take(await params.read(request), {"expand": params.ANY})
        available = [{"amount": a.amount, "currency": a.currency} for a in await ledger.available_balance(ctx)]
        return shapes.balance(available, ctx.scope.livemode)


class BalanceTransactionController(Controller):
    path = "/balance_transactions"
    dependencies = {"ctx": Provide(api_context)}

    @get("/")
    async def list_(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), lists.LIST_PARAMS)

        async def fetch(limit: int, after: str | None) -> Any:
            return await ledger.merchant_history(ctx, limit, after)

        return await lists.page(data, fetch, lambda row: shapes.balance_transaction(balance_change_json(row)),
                                "/v1/balance_transactions")
