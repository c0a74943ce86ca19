"""Dashboard pages: customers list with search, customer detail with balances, history, credit,
transfer and close forms. Data comes from stored GraphQL operations."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get, post

from server import operations
from server.context import RequestContext
from server.errors import InvalidRequest, NotFound
from server.ledger.money import currency_code, minor_amount
from server.permissions import write
from server.web.pages import dashboard_context, form_data, guarded, mutation_error, redirect, show

STATUS_OF = {"resource_missing": 404, "conflict": 409, "customer_closed": 409, "customer_suspended": 409,
             "balance_not_zero": 409, "insufficient_funds": 402, "transaction_already_processed": 422}


def _rights(ctx: RequestContext) -> dict[str, Any]:
    return {"can_manage": ctx.can(write("customers")), "can_transfer": ctx.can(write("transfers"))}


@get("/customers", include_in_schema=False)
@guarded
async def customers_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    params = request.query_params
    variables = {"after": params.get("after"), "search": params.get("q") or None,
                 "status": params.get("status") or None}
    return await show(request, ctx, "CustomersPage", "customers/list.html", "customers", variables,
                      block="rows" if params.get("after") else None, q=params.get("q", ""),
                      status_filter=params.get("status", ""), **_rights(ctx))


@post("/customers", include_in_schema=False)
@guarded
async def customers_create(request: Request) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    data = {"email": str(form.get("email", "")).strip() or None, "name": str(form.get("name", "")).strip()}
    result = (await operations.run("CreateCustomer", ctx, {"input": data}))["createCustomer"]
    if error := mutation_error(result):
        return await show(request, ctx, "CustomersPage", "customers/list.html", "customers", {}, status=400,
                          error=error, q="", status_filter="", **_rights(ctx))
    return redirect(request, f"/customers/{result['customer']['id']}")


async def _detail(request: Request, ctx, customer_id: str, status: int = 200, **extra: Any) -> Response:
    after = request.query_params.get("after") if request.method == "GET" else None
    data = await operations.run("CustomerPage", ctx, {"id": customer_id, "after": after})
    if data["customer"] is None:
        raise NotFound(f"no customer '{customer_id}' in this mode")
    return await show(request, ctx, "CustomerPage", "customers/detail.html", "customers",
                      {"id": customer_id, "after": after}, block="history_rows" if after else None,
                      status=status, tx_suggestion=f"dash_{secrets.token_hex(6)}", **_rights(ctx), **extra)


@get("/customers/{customer_id:str}", include_in_schema=False)
@guarded
async def customer_page(request: Request, customer_id: str) -> Response:
    return await _detail(request, await dashboard_context(request), customer_id)


def _amount(form: dict[str, Any], currency: str) -> int:
    """The form takes a decimal in major units ("12.50"), checked against the currency's exponent."""
    return minor_amount(None, currency, decimal_value=str(form.get("amount", "")).strip())


async def _mutate(request: Request, customer_id: str, operation: str, build) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    try:
        result = next(iter((await operations.run(operation, ctx, {"input": build(form)})).values()))
        error = mutation_error(result)
    except InvalidRequest as exc:
        result, error = {}, {"message": exc.message, "code": exc.code, "field": exc.param}
    if error:
        return await _detail(request, ctx, customer_id, status=STATUS_OF.get(error["code"], 400), error=error)
    return await _detail(request, ctx, customer_id, done=operation)


@post("/customers/{customer_id:str}/credit", include_in_schema=False)
@guarded
async def customer_credit(request: Request, customer_id: str) -> Response:
    def build(form: dict[str, Any]) -> dict[str, Any]:
        currency = currency_code(form.get("currency"))
        return {"customerId": customer_id, "currency": currency, "amount": _amount(form, currency),
                "transactionId": str(form.get("transaction_id", "")).strip()}

    return await _mutate(request, customer_id, "CreditCustomer", build)


@post("/customers/{customer_id:str}/transfer", include_in_schema=False)
@guarded
async def customer_transfer(request: Request, customer_id: str) -> Response:
    def build(form: dict[str, Any]) -> dict[str, Any]:
        currency = currency_code(form.get("currency"))
        to_currency = str(form.get("to_currency", "")).strip() or None
        return {"fromCustomer": customer_id, "toCustomer": str(form.get("to_customer", "")).strip(),
                "currency": currency, "amount": _amount(form, currency), "toCurrency": to_currency,
                "description": str(form.get("description", "")) or None}

    return await _mutate(request, customer_id, "CreateTransfer", build)


@post("/customers/{customer_id:str}/close", include_in_schema=False)
@guarded
async def customer_close(request: Request, customer_id: str) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    result = (await operations.run("CloseCustomer", ctx, {"id": customer_id}))["closeCustomer"]
    if error := mutation_error(result):
        return await _detail(request, ctx, customer_id, status=STATUS_OF.get(error["code"], 400), error=error)
    return redirect(request, f"/customers/{customer_id}")


HANDLERS = [customers_page, customers_create, customer_page, customer_credit, customer_transfer, customer_close]
