"""Dashboard pages: the merchant's Balance, and FX rates under Settings."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response

from server.permissions import write
from server.web.forms import Variables, submit
from server.web.pages import dashboard_context, dashboard_get, dashboard_post, redirect, show


@dashboard_get("/balance")
async def balance_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    return await show(request, ctx, "BalancePage", "ledger/balance.html", "balance")


async def _fx(request: Request, ctx, status: int = 200, **extra) -> Response:
    return await show(request, ctx, "FxRatesPage", "ledger/fx_rates.html", "settings", status=status,
                      can_admin=ctx.can(write("settings")), **extra)


@dashboard_get("/settings/fx-rates")
async def fx_rates_page(request: Request) -> Response:
    return await _fx(request, await dashboard_context(request))


def _rate_input(form: dict[str, Any]) -> dict[str, Any]:
    try:
        spread = int(str(form.get("spread_bps", "0")).strip() or "0")
    except ValueError:
        spread = -1
    return {"input": {"base": str(form.get("base", "")), "quote": str(form.get("quote", "")),
                      "rate": str(form.get("rate", "")), "spreadBps": spread}}


@dashboard_post("/settings/fx-rates")
async def fx_rates_set(request: Request) -> Response:
    return await _change_rate(request, "SetFxRate", _rate_input)


@dashboard_post("/settings/fx-rates/delete")
async def fx_rates_delete(request: Request) -> Response:
    return await _change_rate(request, "DeleteFxRate",
                              lambda form: {"base": str(form.get("base", "")), "quote": str(form.get("quote", ""))})


async def _change_rate(request: Request, operation: str, variables: Variables) -> Response:
    return await submit(request, operation, variables, page=partial(_fx, request),
                        then=lambda _: redirect(request, "/settings/fx-rates"))


HANDLERS = [balance_page, fx_rates_page, fx_rates_set, fx_rates_delete]
