"""Pages of Radar: rules with a backtest, the review queue, value lists, explanations, a test payment.

Data comes from stored operations (graphql/operations/radar/); forms go through `submit`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response

from server import operations
from server.context import RequestContext
from server.errors import InvalidRequest, NotFound
from server.ledger.money import currency_code, minor_amount
from server.payments.cards import TEST_CARDS
from server.permissions import write
from server.web.forms import submit
from server.web.pages import base_vars, dashboard_context, dashboard_get, dashboard_post, redirect, show
from server.web.render import render_page

BACKTEST_DAYS = (1, 7, 30, 90)


def _rights(ctx: RequestContext) -> dict[str, Any]:
    return {"can_manage": ctx.can(write("radar")), "can_review": ctx.can(write("reviews")),
            "can_pay": ctx.can(write("payment_intents")) and not ctx.scope.livemode}


def _days(value: Any) -> int:
    text = str(value or "30").strip()
    if not text.isdigit() or int(text) not in BACKTEST_DAYS:
        raise InvalidRequest(f"days must be one of {', '.join(map(str, BACKTEST_DAYS))}", param="days")
    return int(text)


async def _radar(request: Request, ctx: RequestContext, status: int = 200, **extra: Any) -> Response:
    params = request.query_params if request.method == "GET" else {}
    rule = str(params.get("backtest") or "").strip()
    try:
        days = _days(params.get("days"))
    except InvalidRequest as exc:
        rule, days, extra["error"] = "", 30, {"message": exc.message, "field": exc.param}
    variables = {"backtest": rule, "days": days, "withBacktest": bool(rule)}
    return await show(request, ctx, "RadarPage", "radar/radar.html", "radar", variables, status=status,
                      tried=rule, days=days, day_choices=BACKTEST_DAYS, test_cards=TEST_CARDS, **_rights(ctx),
                      **extra)


@dashboard_get("/radar")
async def radar_page(request: Request) -> Response:
    return await _radar(request, await dashboard_context(request))


def _page(request: Request):
    return partial(_radar, request)


def _back(request: Request, notice: str):
    return lambda done: _radar(request, done.ctx, done=notice)


@dashboard_post("/radar/rules")
async def rule_create(request: Request) -> Response:
    return await submit(request, "CreateRadarRule", lambda form: {"input": {
        "rule": str(form.get("rule", "")).strip(), "shadow": form.get("shadow") == "on"}},
        page=_page(request), then=lambda _: redirect(request, "/radar#rules"))


@dashboard_post("/radar/rules/{rule_id:str}/shadow")
async def rule_shadow(request: Request, rule_id: str) -> Response:
    return await submit(request, "UpdateRadarRule", lambda form: {
        "id": rule_id, "input": {"shadow": form.get("shadow") == "true"}},
        page=_page(request), then=lambda _: redirect(request, "/radar#rules"))


@dashboard_post("/radar/rules/{rule_id:str}/delete")
async def rule_delete(request: Request, rule_id: str) -> Response:
    return await submit(request, "DeleteRadarRule", {"id": rule_id}, page=_page(request),
                        then=lambda _: redirect(request, "/radar#rules"))


@dashboard_post("/radar/reviews/{review_id:str}/approve")
async def review_approve(request: Request, review_id: str) -> Response:
    return await submit(request, "ApproveReview", {"id": review_id}, page=_page(request),
                        then=_back(request, "Review approved: the payment stands."))


@dashboard_post("/radar/reviews/{review_id:str}/refund")
async def review_refund(request: Request, review_id: str) -> Response:
    return await submit(request, "RefundReview", lambda form: {"id": review_id,
                                                               "asFraud": form.get("as_fraud") == "true"},
                        page=_page(request), then=lambda done: _radar(
                            request, done.ctx, done="Refunded as fraud: the card is on the block list."
                            if done.form.get("as_fraud") == "true" else "Refunded."))


@dashboard_post("/radar/lists")
async def list_create(request: Request) -> Response:
    return await submit(request, "CreateRadarValueList", lambda form: {"input": {
        "alias": str(form.get("alias", "")).strip(), "name": str(form.get("name", "")).strip(),
        "itemType": str(form.get("item_type", "")).strip() or None}},
        page=_page(request), then=lambda done: redirect(request, f"/radar/lists/{done.result['valueList']['id']}"))


async def _list(request: Request, ctx: RequestContext, list_id: str, status: int = 200, **extra: Any) -> Response:
    after = request.query_params.get("after") if request.method == "GET" else None
    data = await operations.run("RadarListPage", ctx, {"id": list_id, "after": after})
    if data["radarValueList"] is None:
        raise NotFound(f"no value list '{list_id}' in this mode")
    return render_page(request, "radar/list.html", {**data, **base_vars(ctx, data, "radar"),
                                                    "vl": data["radarValueList"], **_rights(ctx), **extra},
                       status=status)


@dashboard_get("/radar/lists/{list_id:str}")
async def list_page(request: Request, list_id: str) -> Response:
    return await _list(request, await dashboard_context(request), list_id)


@dashboard_post("/radar/lists/{list_id:str}/items")
async def item_create(request: Request, list_id: str) -> Response:
    return await submit(request, "CreateRadarValueListItem", lambda form: {"input": {
        "valueList": list_id, "value": str(form.get("value", "")).strip()}},
        page=partial(_list, request, list_id=list_id), then=lambda _: redirect(request, f"/radar/lists/{list_id}"))


@dashboard_post("/radar/lists/{list_id:str}/items/{item_id:str}/delete")
async def item_delete(request: Request, list_id: str, item_id: str) -> Response:
    return await submit(request, "DeleteRadarValueListItem", {"id": item_id},
                        page=partial(_list, request, list_id=list_id),
                        then=lambda _: redirect(request, f"/radar/lists/{list_id}"))


@dashboard_post("/radar/lists/{list_id:str}/delete")
async def list_delete(request: Request, list_id: str) -> Response:
    return await submit(request, "DeleteRadarValueList", {"id": list_id},
                        page=partial(_list, request, list_id=list_id), then=lambda _: redirect(request, "/radar"))


@dashboard_get("/radar/evaluations/{evaluation_id:str}")
async def evaluation_page(request: Request, evaluation_id: str) -> Response:
    ctx = await dashboard_context(request)
    data = await operations.run("RadarEvaluationPage", ctx, {"id": evaluation_id})
    if data["riskEvaluation"] is None:
        raise NotFound(f"no decision '{evaluation_id}' in this mode")
    return render_page(request, "radar/evaluation.html", {**data, **base_vars(ctx, data, "radar"),
                                                          "e": data["riskEvaluation"]})


@dashboard_post("/radar/try")
async def try_payment(request: Request) -> Response:
    def build(form: dict[str, Any]) -> dict[str, Any]:
        currency = currency_code(form.get("currency"))
        return {"input": {"amount": minor_amount(None, currency, decimal_value=str(form.get("amount", "")).strip()),
                          "currency": currency, "cardNumber": str(form.get("card_number", "")).strip(),
                          "email": str(form.get("email", "")).strip() or None,
                          "ipAddress": str(form.get("ip_address", "")).strip() or None}}

    return await submit(request, "CreateTestPayment", build, page=_page(request),
                        then=lambda done: redirect(request, f"/payments/{done.result['paymentIntent']['id']}"))


HANDLERS = [radar_page, rule_create, rule_shadow, rule_delete, review_approve, review_refund, list_create, list_page,
            item_create, item_delete, list_delete, evaluation_page, try_payment]
