"""Dashboard pages: customers list with search, customer detail with balances, history, credit,
transfer and close forms. Data comes from stored GraphQL operations."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Any

from litestar import Request, Response

from server import operations
from server.context import RequestContext
from server.errors import NotFound
from server.ledger.money import currency_code, minor_amount
from server.permissions import write
from server.web.forms import Variables, submit
from server.web.pages import dashboard_context, dashboard_get, dashboard_post, redirect, show


def _rights(ctx: RequestContext) -> dict[str, Any]:
    return {"can_manage": ctx.can(write("customers")), "can_transfer": ctx.can(write("transfers"))}


@dashboard_get("/customers")
async def customers_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    params = request.query_params
    variables = {"after": params.get("after"), "search": params.get("q") or None,
                 "status": params.get("status") or None}
    return await show(request, ctx, "CustomersPage", "customers/list.html", "customers", variables,
                      block="rows" if params.get("after") else None, q=params.get("q", ""),
                      status_filter=params.get("status", ""), **_rights(ctx))


@dashboard_post("/customers")
async def customers_create(request: Request) -> Response:
    return await submit(request, "CreateCustomer", lambda form: {"input": {
        "email": str(form.get("email", "")).strip() or None, "name": str(form.get("name", "")).strip()}},
        page=partial(_create_failed, request),
        then=lambda created: redirect(request, f"/customers/{created.result['customer']['id']}"))


async def _create_failed(request: Request, ctx, status: int, **extra: Any) -> Response:
    """The list, unfiltered, with the create form's error."""
    return await show(request, ctx, "CustomersPage", "customers/list.html", "customers", {}, status=status,
                      q="", status_filter="", **_rights(ctx), **extra)


async def _detail(request: Request, ctx, customer_id: str, status: int = 200, **extra: Any) -> Response:
    after = request.query_params.get("after") if request.method == "GET" else None
    data = await operations.run("CustomerPage", ctx, {"id": customer_id, "after": after})
    if data["customer"] is None:
        raise NotFound(f"no customer '{customer_id}' in this mode")
    return await show(request, ctx, "CustomerPage", "customers/detail.html", "customers",
                      {"id": customer_id, "after": after}, block="history_rows" if after else None,
                      status=status, tx_suggestion=f"dash_{secrets.token_hex(6)}", **_rights(ctx), **extra)


@dashboard_get("/customers/{customer_id:str}")
async def customer_page(request: Request, customer_id: str) -> Response:
    return await _detail(request, await dashboard_context(request), customer_id)


def _amount(form: dict[str, Any], currency: str) -> int:
    """The form takes a decimal in major units ("12.50"), checked against the currency's exponent."""
    return minor_amount(None, currency, decimal_value=str(form.get("amount", "")).strip())


async def _mutate(request: Request, customer_id: str, operation: str, variables: Variables) -> Response:
    return await submit(request, operation, variables, page=partial(_detail, request, customer_id=customer_id),
                        then=lambda done: _detail(request, done.ctx, customer_id, done=operation))


@dashboard_post("/customers/{customer_id:str}/credit")
async def customer_credit(request: Request, customer_id: str) -> Response:
    def build(form: dict[str, Any]) -> dict[str, Any]:
        currency = currency_code(form.get("currency"))
        return {"input": {"customerId": customer_id, "currency": currency, "amount": _amount(form, currency),
                          "transactionId": str(form.get("transaction_id", "")).strip()}}

    return await _mutate(request, customer_id, "CreditCustomer", build)


@dashboard_post("/customers/{customer_id:str}/transfer")
async def customer_transfer(request: Request, customer_id: str) -> Response:
    def build(form: dict[str, Any]) -> dict[str, Any]:
        currency = currency_code(form.get("currency"))
        to_currency = str(form.get("to_currency", "")).strip() or None
        return {"input": {"fromCustomer": customer_id, "toCustomer": str(form.get("to_customer", "")).strip(),
                          "currency": currency, "amount": _amount(form, currency), "toCurrency": to_currency,
                          "description": str(form.get("description", "")) or None}}

    return await _mutate(request, customer_id, "CreateTransfer", build)


@dashboard_post("/customers/{customer_id:str}/close")
async def customer_close(request: Request, customer_id: str) -> Response:
    return await submit(request, "CloseCustomer", {"id": customer_id},
                        page=partial(_detail, request, customer_id=customer_id),
                        then=lambda _: redirect(request, f"/customers/{customer_id}"))


HANDLERS = [customers_page, customers_create, customer_page, customer_credit, customer_transfer, customer_close]
