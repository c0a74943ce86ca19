"""REST: /v1/payment_intents, /v1/refunds, /v1/receipts, /v1/balance."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.openapi.spec import OpenAPIType
from litestar.params import KwargDefinition, Parameter

from server.context import RequestContext
from server.instants import parse_instant
from server.ledger import service as ledger
from server.ledger.money import MAX_AMOUNT, amount_filter
from server.pagination import decode_cursor, parse_limit
from server.payments import receipts, refunds, service
from server.payments.rows import PaymentIntent
from server.payments.serial import intent_json, refund_json
from server.rest import api_context, list_body

# Amounts arrive untyped and are checked by server.ledger.money (strict: no "2000", no 2000.0), which
# names the field in its 400; the schema still says what is accepted.
Amount = Annotated[Any, KwargDefinition(schema_extra={"type": OpenAPIType.INTEGER, "format": "int64"}, ge=1,
                                        le=MAX_AMOUNT, description="Minor units of the currency (e.g. cents).")]


class IntentCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: Amount
    currency: str
    customer: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    capture_method: str | None = None


class CardInput(msgspec.Struct, forbid_unknown_fields=True):
    number: str
    exp_month: int
    exp_year: int
    cvc: str


class IntentConfirm(msgspec.Struct, forbid_unknown_fields=True):
    card: CardInput
    client_secret: str | None = None


class IntentCapture(msgspec.Struct, forbid_unknown_fields=True):
    amount_to_capture: Amount = None


class IntentCancel(msgspec.Struct, forbid_unknown_fields=True):
    cancellation_reason: str | None = None


class RefundCreate(msgspec.Struct, forbid_unknown_fields=True):
    payment_intent: str
    amount: Amount = None
    reason: str | None = None


def _card(card: CardInput) -> dict[str, object]:
    return {"number": card.number, "exp_month": card.exp_month, "exp_year": card.exp_year, "cvc": card.cvc}


async def intent_body(ctx: RequestContext, pi: PaymentIntent) -> dict[str, Any]:
    body = intent_json(pi, with_secret=not (ctx.principal.key_kind == "publishable"))
    receipt = None
    if pi.status == "succeeded":
        (receipt,) = await receipts.of_intents(ctx.scope, [pi.id])
    body["receipt"] = ({"id": receipt.id, "number": receipt.number, "url": receipts.url_of(receipt.token)}
                       if receipt else None)
    return body


class PaymentIntentController(Controller):
    path = "/v1/payment_intents"
    tags = ["payment intents"]
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200, summary="Create a payment intent")
    async def create(self, ctx: RequestContext, data: IntentCreate) -> dict[str, Any]:
        row = await service.create(ctx, data.amount, data.currency, customer=data.customer,
                                   description=data.description, metadata=data.metadata,
                                   capture_method=data.capture_method)
        return await intent_body(ctx, row)

    @get("/", summary="List payment intents, newest first")
    async def list_(self, ctx: RequestContext, limit: str | None = None, cursor: str | None = None,
                    status: str | None = None, customer: str | None = None,
                    created_gte: str | None = Parameter(query="created[gte]", default=None, required=False),
                    created_lte: str | None = Parameter(query="created[lte]", default=None, required=False),
                    amount_gte: str | None = Parameter(query="amount[gte]", default=None, required=False),
                    amount_lte: str | None = Parameter(query="amount[lte]", default=None, required=False),
                    ) -> dict[str, Any]:
        page = await service.list_intents(
            ctx, parse_limit(limit), decode_cursor(cursor), status=status, customer=customer,
            created_gte=parse_instant(created_gte, "created[gte]"),
            created_lte=parse_instant(created_lte, "created[lte]"),
            amount_gte=amount_filter(amount_gte, "amount[gte]"), amount_lte=amount_filter(amount_lte, "amount[lte]"))
        return list_body(page, intent_json, "/v1/payment_intents")

    @get("/{pi_id:str}", summary="Retrieve a payment intent")
    async def retrieve(self, ctx: RequestContext, pi_id: str) -> dict[str, Any]:
        return await intent_body(ctx, await service.get(ctx, pi_id))

    @post("/{pi_id:str}/confirm", status_code=200,
          summary="Confirm with card details (secret key, or publishable key + client_secret)")
    async def confirm(self, ctx: RequestContext, pi_id: str, data: IntentConfirm) -> dict[str, Any]:
        return await intent_body(ctx, await service.confirm(ctx, pi_id, _card(data.card), data.client_secret))

    @post("/{pi_id:str}/capture", status_code=200, summary="Capture an authorized payment, fully or partly")
    async def capture(self, ctx: RequestContext, pi_id: str, data: IntentCapture | None = None) -> dict[str, Any]:
        amount = data.amount_to_capture if data else None
        return await intent_body(ctx, await service.capture(ctx, pi_id, amount))

    @post("/{pi_id:str}/cancel", status_code=200, summary="Cancel a payment intent")
    async def cancel(self, ctx: RequestContext, pi_id: str, data: IntentCancel | None = None) -> dict[str, Any]:
        return await intent_body(ctx, await service.cancel(ctx, pi_id, data.cancellation_reason if data else None))


class RefundController(Controller):
    path = "/v1/refunds"
    tags = ["refunds"]
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200, summary="Refund a payment, fully or partly")
    async def create(self, ctx: RequestContext, data: RefundCreate) -> dict[str, Any]:
        return refund_json(await refunds.create(ctx, data.payment_intent, data.amount, data.reason))

    @get("/{refund_id:str}", summary="Retrieve a refund")
    async def retrieve(self, ctx: RequestContext, refund_id: str) -> dict[str, Any]:
        return refund_json(await refunds.get(ctx, refund_id))


class ReceiptController(Controller):
    path = "/v1/receipts"
    tags = ["receipts"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/{receipt_id:str}", summary="Retrieve a receipt (served from a cache)")
    async def retrieve(self, ctx: RequestContext, request: Request, receipt_id: str) -> dict[str, Any]:
        data, _ = await receipts.get(ctx, receipt_id)
        return data


class BalanceController(Controller):
    path = "/v1/balance"
    tags = ["balance"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/", summary="The merchant's available balance per currency")
    async def retrieve(self, ctx: RequestContext) -> dict[str, Any]:
        available = await ledger.available_balance(ctx)
        return {"object": "balance", "available": available, "pending": [], "livemode": ctx.scope.livemode}


CONTROLLERS = [PaymentIntentController, RefundController, ReceiptController, BalanceController]
