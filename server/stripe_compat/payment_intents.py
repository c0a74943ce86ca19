"""/stripe/v1/payment_intents: create, retrieve, update, confirm, capture, cancel, list, in Stripe's shapes.

Confirm takes `payment_method` (one of Stripe's test tokens, `server.stripe_compat.cards`) or
`payment_method_data[card][…]`; `confirm=true` on create confirms at once, as with Stripe. A declined card is
Stripe's 402 `card_error` (`card_declined` with the `decline_code`), carrying the payment intent.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide

from server.context import RequestContext
from server.customers import service as customers
from server.customers.serial import customer_json
from server.errors import ErrorCode, InvalidRequest, PaydeckError
from server.payments import service
from server.payments.rows import PaymentIntent
from server.payments.serial import intent_json
from server.rest import api_context
from server.stripe_compat import cards, lists, params, shapes

EXPANDABLE = ("latest_charge", "customer")
CARD: params.Spec = {"number": None, "exp_month": None, "exp_year": None, "cvc": None}
CONFIRM: params.Spec = {"payment_method": None, "payment_method_data": {"type": None, "card": CARD},
                        "return_url": None, "client_secret": None, "expand": params.ANY}
CREATE: params.Spec = {"amount": None, "currency": None, "customer": None, "description": None,
                       "metadata": params.ANY, "capture_method": None, "confirm": None,
                       "payment_method_types": params.ANY, "automatic_payment_methods": {"enabled": None},
                       **CONFIRM}
UPDATE: params.Spec = {"description": None, "metadata": params.ANY, "expand": params.ANY}


class CardDeclined(PaydeckError):
    """Stripe's answer to a declined confirmation: 402 `card_error`, with the intent as it now is."""

    status = 402
    type = "card_error"
    code = ErrorCode.CARD_DECLINED


def expansions(data: dict[str, Any], prefix: str = "") -> list[str]:
    wanted = [name.removeprefix(prefix) for name in params.strings(data, "expand") or []]
    for name in wanted:
        if name not in EXPANDABLE:
            raise InvalidRequest(f"This property cannot be expanded ({prefix}{name}); Paydeck expands "
                                 f"{', '.join(prefix + e for e in EXPANDABLE)}", param="expand",
                                 code=ErrorCode.PARAMETER_INVALID)
    return wanted


async def body(ctx: RequestContext, pi: PaymentIntent, expand: list[str]) -> dict[str, Any]:
    own = intent_json(pi, with_secret=ctx.principal.key_kind != "publishable")
    shaped = shapes.payment_intent(own, pi.processor_charge_id)
    if "latest_charge" in expand and pi.processor_charge_id:
        shaped["latest_charge"] = shapes.charge(own, pi.processor_charge_id)
    if "customer" in expand and pi.customer_id:
        shaped["customer"] = shapes.customer(customer_json(await customers.get(ctx, pi.customer_id)))
    return shaped


def card_of(data: dict[str, Any], livemode: bool) -> dict[str, Any]:
    method = data.get("payment_method_data")
    token = params.string(data, "payment_method")
    if token and method:
        raise InvalidRequest("send payment_method or payment_method_data, not both", param="payment_method")
    if token:
        return cards.from_token(token, livemode)
    if isinstance(method, dict) and isinstance(method.get("card"), dict):
        if method.get("type", "card") != "card":
            raise InvalidRequest("Paydeck takes cards only: payment_method_data[type] must be card",
                                 param="payment_method_data[type]", code=ErrorCode.PARAMETER_INVALID)
        return method["card"]
    raise InvalidRequest("Missing required param: payment_method (a test token such as pm_card_visa, or "
                         "payment_method_data[card])", param="payment_method", code=ErrorCode.PARAMETER_MISSING)


async def confirm_with(ctx: RequestContext, pi_id: str, data: dict[str, Any], expand: list[str]) -> dict[str, Any]:
    card = card_of(data, ctx.scope.livemode)
    try:
        pi = await service.confirm(ctx, pi_id, card, params.string(data, "client_secret"))
    except InvalidRequest as exc:
        if exc.param and exc.param.startswith("card["):  # the service names its own field: name Stripe's
            exc.param = "payment_method_data[card]" + exc.param.removeprefix("card")
        raise
    shaped = await body(ctx, pi, expand)
    if pi.status == "failed":
        raise CardDeclined(pi.failure_message or "Your card was declined.", param="payment_method",
                           extra={"decline_code": pi.failure_code, "payment_intent": shaped,
                                  "payment_method": {"id": shaped["payment_method"], "object": "payment_method",
                                                     "type": "card"}})
    return shaped


def _payment_method_types(data: dict[str, Any]) -> None:
    kinds = params.strings(data, "payment_method_types")
    if kinds is not None and kinds != ["card"]:
        raise InvalidRequest("Paydeck takes cards only: payment_method_types must be [card]",
                             param="payment_method_types", code=ErrorCode.PARAMETER_INVALID)


class PaymentIntentController(Controller):
    path = "/payment_intents"
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200)
    async def create(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), CREATE)
        expand = expansions(data)
        _payment_method_types(data)
        pi = await service.create(ctx, params.integer(data, "amount", required=True),
                                  params.string(data, "currency", required=True),
                                  customer=params.string(data, "customer"),
                                  description=params.string(data, "description"), metadata=params.metadata(data),
                                  capture_method=params.string(data, "capture_method"))
        if params.boolean(data, "confirm"):
            return await confirm_with(ctx, pi.id, data, expand)
        return await body(ctx, pi, expand)

    @get("/")
    async def list_(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), {**lists.LIST_PARAMS, "customer": None})
        expand = expansions(data, "data.")
        customer = params.string(data, "customer")

        async def fetch(limit: int, after: str | None) -> Any:
            return await service.list_intents(ctx, limit, after, customer=customer)

        page = await lists.page(data, fetch, lambda pi: pi, "/v1/payment_intents")
        page["data"] = [await body(ctx, pi, expand) for pi in page["data"]]
        return page

    @get("/{pi_id:str}")
    async def retrieve(self, ctx: RequestContext, request: Request, pi_id: str) -> dict[str, Any]:
        data = params.take(await params.read(request), {"expand": params.ANY, "client_secret": None})
        return await body(ctx, await service.get(ctx, pi_id), expansions(data))

    @post("/{pi_id:str}", status_code=200)
    async def update(self, ctx: RequestContext, request: Request, pi_id: str) -> dict[str, Any]:
        data = params.take(await params.read(request), UPDATE)
        metadata = None
        if "metadata" in data:
            current = (await service.get(ctx, pi_id)).metadata if data["metadata"] == "" else {}
            metadata = params.metadata_changes(data, current)
        pi = await service.update(ctx, pi_id, description=params.string(data, "description"), metadata=metadata)
        return await body(ctx, pi, expansions(data))

    @post("/{pi_id:str}/confirm", status_code=200)
    async def confirm(self, ctx: RequestContext, request: Request, pi_id: str) -> dict[str, Any]:
        data = params.take(await params.read(request), CONFIRM)
        return await confirm_with(ctx, pi_id, data, expansions(data))

    @post("/{pi_id:str}/capture", status_code=200)
    async def capture(self, ctx: RequestContext, request: Request, pi_id: str) -> dict[str, Any]:
        data = params.take(await params.read(request), {"amount_to_capture": None, "expand": params.ANY})
        pi = await service.capture(ctx, pi_id, params.integer(data, "amount_to_capture"))
        return await body(ctx, pi, expansions(data))

    @post("/{pi_id:str}/cancel", status_code=200)
    async def cancel(self, ctx: RequestContext, request: Request, pi_id: str) -> dict[str, Any]:
        data = params.take(await params.read(request), {"cancellation_reason": None, "expand": params.ANY})
        pi = await service.cancel(ctx, pi_id, params.string(data, "cancellation_reason"))
        return await body(ctx, pi, expansions(data))
