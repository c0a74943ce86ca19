"""Dashboard pages: the merchant's Balance, and FX rates under Settings."""

from __future__ import annotations

from litestar import Request, Response, get, post

from server import operations
from server.permissions import write
from server.web.pages import dashboard_context, form_data, guarded, mutation_error, redirect, show


@get("/balance", include_in_schema=False)
@guarded
async def balance_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    return await show(request, ctx, "BalancePage", "ledger/balance.html", "balance")


async def _fx(request: Request, ctx, status: int = 200, **extra) -> Response:
    return await show(request, ctx, "FxRatesPage", "ledger/fx_rates.html", "settings", status=status,
                      can_admin=ctx.can(write("settings")), **extra)


@get("/settings/fx-rates", include_in_schema=False)
@guarded
async def fx_rates_page(request: Request) -> Response:
    return await _fx(request, await dashboard_context(request))


@post("/settings/fx-rates", include_in_schema=False)
@guarded
async def fx_rates_set(request: Request) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    try:
        spread = int(str(form.get("spread_bps", "0")).strip() or "0")
    except ValueError:
        spread = -1
    data = {"base": str(form.get("base", "")), "quote": str(form.get("quote", "")),
            "rate": str(form.get("rate", "")), "spreadBps": spread}
    result = (await operations.run("SetFxRate", ctx, {"input": data}))["setFxRate"]
    if error := mutation_error(result):
        return await _fx(request, ctx, status=400, error=error)
    return redirect(request, "/settings/fx-rates")


@post("/settings/fx-rates/delete", include_in_schema=False)
@guarded
async def fx_rates_delete(request: Request) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    result = (await operations.run("DeleteFxRate", ctx, {"base": str(form.get("base", "")),
                                                          "quote": str(form.get("quote", ""))}))["deleteFxRate"]
    if error := mutation_error(result):
        return await _fx(request, ctx, status=404 if error["code"] == "resource_missing" else 400, error=error)
    return redirect(request, "/settings/fx-rates")


HANDLERS = [balance_page, fx_rates_page, fx_rates_set, fx_rates_delete]
