"""Pages of payments: the public receipt, the Payments list and the Payment detail.

The list's rows come from one fragment (`payments/_row.html`); `GET
/payments/rows/{id}` renders a single row so a live stream can insert a new
payment at the top of `#payment-rows` without reloading.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get

from server import operations
from server.errors import InvalidRequest, NotFound, PaydeckError
from server.events import service as events
from server.events.pages import stream_url
from server.ledger.money import DIGITS, MAX_AMOUNT
from server.payments import receipts
from server.payments.rows import STATUSES
from server.permissions import read, write
from server.web.forms import submit
from server.web.pages import base_vars, dashboard_context, dashboard_get, dashboard_post, show
from server.web.render import render_page

FILTERS = ("status", "customer", "amount_gte", "amount_lte", "created_gte", "created_lte")


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


@dashboard_get("/payments")
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


@dashboard_get("/payments/rows/{pi_id:str}")
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


@dashboard_get("/payments/{pi_id:str}")
async def payment_page(request: Request, pi_id: str) -> Response:
    return await _detail(request, await dashboard_context(request), pi_id)


def _amount(form: dict[str, Any]) -> int | None:
    return _int(str(form.get("amount", "")).strip(), "amount")


def _reason(form: dict[str, Any]) -> str | None:
    return str(form.get("reason", "")).strip() or None


@dashboard_post("/payments/{pi_id:str}/refund")
async def payment_refund(request: Request, pi_id: str) -> Response:
    return await submit(request, "CreateRefund", lambda form: {
        "input": {"paymentIntent": pi_id, "amount": _amount(form), "reason": _reason(form)}},
        page=partial(_detail, request, pi_id=pi_id), then=_done(request, pi_id, "Refund made."))


@dashboard_post("/payments/{pi_id:str}/capture")
async def payment_capture(request: Request, pi_id: str) -> Response:
    return await submit(request, "CapturePaymentIntent", lambda form: {"id": pi_id, "amountToCapture": _amount(form)},
                        page=partial(_detail, request, pi_id=pi_id), then=_done(request, pi_id, "Payment captured."))


@dashboard_post("/payments/{pi_id:str}/cancel")
async def payment_cancel(request: Request, pi_id: str) -> Response:
    return await submit(request, "CancelPaymentIntent", {"id": pi_id}, page=partial(_detail, request, pi_id=pi_id),
                        then=_done(request, pi_id, "Authorization released."))


def _done(request: Request, pi_id: str, notice: str):
    """The payment's page again, saying what was done."""
    return lambda submitted: _detail(request, submitted.ctx, pi_id, done=notice)


HANDLERS = [receipt_page, payments_page, payment_row, payment_page, payment_refund, payment_capture, payment_cancel]
