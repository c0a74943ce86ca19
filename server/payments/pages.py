"""Pages of payments: the public receipt, the Payments list and the Payment detail.

The list's rows come from one fragment (`payments/_row.html`); `GET
/payments/rows/{id}` renders a single row so a live stream can insert a new
payment at the top of `#payment-rows` without reloading.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post

from server import operations
from server.errors import InvalidRequest, NotFound, PaydeckError
from server.events import service as events
from server.events.pages import stream_url
from server.ledger.money import DIGITS, MAX_AMOUNT
from server.payments import receipts
from server.permissions import read, write
from server.web.pages import base_vars, dashboard_context, form_data, guarded, mutation_error, show
from server.web.render import render_page

STATUSES = ("requires_payment_method", "processing", "requires_capture", "succeeded", "failed", "canceled")
FILTERS = ("status", "customer", "amount_gte", "amount_lte", "created_gte", "created_lte")
STATUS_OF = {"resource_missing": 404, "payment_intent_unexpected_state": 409,
             "payment_intent_action_in_progress": 409}


@get("/receipts/{token:str}", include_in_schema=False)
async def receipt_page(request: Request, token: str) -> Response:
    try:
        data, cached = await receipts.public(token)
    except PaydeckError:
        return Response("<!doctype html><title>Not found</title><p>No such receipt.</p>", status_code=404,
                        media_type="text/html")
    data = {**data, "date_text": datetime.fromtimestamp(data["date"], UTC).strftime("%B %d, %Y")}
    return render_page(request, "payments/receipt.html", {"r": data},
                       headers={"X-Receipt-Cache": "hit" if cached else "miss", "Cache-Control": "private, max-age=60",
                                "Referrer-Policy": "no-referrer"})


def _int(value: str, name: str) -> int | None:
    if not value:
        return None
    if not DIGITS.fullmatch(value) or int(value) > MAX_AMOUNT:
        raise InvalidRequest(f"{name} must be a whole number of minor units, at most {MAX_AMOUNT}", param=name)
    return int(value)


def _date(value: str, name: str, end: bool = False) -> str | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date (YYYY-MM-DD)", param=name) from None
    return (day.replace(hour=23, minute=59, second=59) if end else day).isoformat()


@get("/payments", include_in_schema=False)
@guarded
async def payments_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    params = request.query_params
    f = {k: str(params.get(k) or "").strip() for k in FILTERS}
    extra: dict[str, Any] = {}
    if not any(f.values()) and not params.get("after"):
        # Read before the page's query, so the live rows continue exactly from what is shown.
        since = await events.stream_position(ctx)
        extra["live_url"] = stream_url(["payment_intent.*", "charge.*"], since, view="payments")
    try:
        variables = {"after": params.get("after") or None, "status": f["status"] or None,
                     "customer": f["customer"] or None, "amountGte": _int(f["amount_gte"], "amount_gte"),
                     "amountLte": _int(f["amount_lte"], "amount_lte"),
                     "createdGte": _date(f["created_gte"], "created_gte"),
                     "createdLte": _date(f["created_lte"], "created_lte", end=True)}
        if variables["status"] and variables["status"] not in STATUSES:
            raise InvalidRequest("unknown status", param="status")
    except InvalidRequest as exc:
        variables = {"after": None}
        extra = {"error": {"message": exc.message, "field": exc.param}}
    return await show(request, ctx, "PaymentsPage", "payments/list.html", "payments", variables,
                      block="rows" if params.get("after") else None, statuses=STATUSES, f=f,
                      filtered=any(f.values()), after=params.get("after"),
                      query=urlencode({k: v for k, v in f.items() if v}), **extra)


@get("/payments/rows/{pi_id:str}", include_in_schema=False)
@guarded
async def payment_row(request: Request, pi_id: str) -> Response:
    """One row of the list, for live insertion."""
    ctx = await dashboard_context(request)
    data = await operations.run("PaymentRow", ctx, {"id": pi_id})
    if data["paymentIntent"] is None:
        raise NotFound(f"no payment '{pi_id}' in this mode")
    return render_page(request, "payments/_row.html", {"p": data["paymentIntent"]})


async def _detail(request: Request, ctx, pi_id: str, status: int = 200, **extra: Any) -> Response:
    variables = {"id": pi_id, "objectId": pi_id, "withLogs": ctx.can(read("request_logs")),
                 "withWebhooks": ctx.can(read("webhook_endpoints"))}
    data = await operations.run("PaymentPage", ctx, variables)
    if data["paymentIntent"] is None:
        raise NotFound(f"no payment '{pi_id}' in this mode")
    return render_page(request, "payments/detail.html",
                       {**data, **base_vars(ctx, data, "payments"), "pi": data["paymentIntent"],
                        "can_refund": ctx.can(write("refunds")), "can_capture": ctx.can(write("payment_intents")),
                        **extra}, status=status)


@get("/payments/{pi_id:str}", include_in_schema=False)
@guarded
async def payment_page(request: Request, pi_id: str) -> Response:
    return await _detail(request, await dashboard_context(request), pi_id)


def _form_vars(form: dict[str, Any]) -> dict[str, Any]:
    return {"_amount": _int(str(form.get("amount", "")).strip(), "amount"),
            "_reason": str(form.get("reason", "")).strip() or None}


@post("/payments/{pi_id:str}/refund", include_in_schema=False)
@guarded
async def payment_refund(request: Request, pi_id: str) -> Response:
    return await _refund_or_capture(request, pi_id, "refund")


@post("/payments/{pi_id:str}/capture", include_in_schema=False)
@guarded
async def payment_capture(request: Request, pi_id: str) -> Response:
    return await _refund_or_capture(request, pi_id, "capture")


@post("/payments/{pi_id:str}/cancel", include_in_schema=False)
@guarded
async def payment_cancel(request: Request, pi_id: str) -> Response:
    return await _refund_or_capture(request, pi_id, "cancel")


async def _refund_or_capture(request: Request, pi_id: str, action: str) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    try:
        values = _form_vars(form)
    except InvalidRequest as exc:
        return await _detail(request, ctx, pi_id, status=400, error={"message": exc.message, "field": exc.param})
    variables: dict[str, Any]
    if action == "refund":
        name, variables, done = "CreateRefund", {"input": {"paymentIntent": pi_id, "amount": values["_amount"],
                                                           "reason": values["_reason"]}}, "Refund made."
    elif action == "capture":
        name, variables, done = "CapturePaymentIntent", {"id": pi_id, "amountToCapture": values["_amount"]}, \
            "Payment captured."
    else:
        name, variables, done = "CancelPaymentIntent", {"id": pi_id}, "Authorization released."
    result = next(iter((await operations.run(name, ctx, variables)).values()))
    if error := mutation_error(result):
        return await _detail(request, ctx, pi_id, status=STATUS_OF.get(error["code"], 400), error=error)
    return await _detail(request, ctx, pi_id, done=done)


HANDLERS = [receipt_page, payments_page, payment_row, payment_page, payment_refund, payment_capture, payment_cancel]
