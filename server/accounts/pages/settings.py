"""The Settings page: the account's details, pricing and log retention, and deleting test data."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response

from server.accounts import business
from server.errors import InvalidRequest
from server.permissions import write
from server.web.forms import submit
from server.web.pages import dashboard_context, dashboard_get, dashboard_post, redirect, show

# Form field -> AccountSettingsInput field; the whole numbers among them.
FIELDS = {"name": "name", "category": "category", "country": "country", "default_currency": "defaultCurrency",
          "timezone": "timezone", "fee_percent_bps": "feePercentBps", "fee_fixed_minor": "feeFixedMinor",
          "dispute_fee_minor": "disputeFeeMinor", "log_retention_days": "logRetentionDays"}
WHOLE_NUMBERS = ("fee_percent_bps", "fee_fixed_minor", "dispute_fee_minor", "log_retention_days")


async def _settings(request: Request, ctx, status: int = 200, **extra: Any) -> Response:
    return await show(request, ctx, "SettingsPage", "accounts/settings.html", "settings", status=status,
                      can_admin=ctx.can(write("settings")), categories=business.CATEGORIES,
                      countries=business.countries(), regions=business.REGIONS, **extra)


@dashboard_get("/settings")
async def settings_page(request: Request) -> Response:
    return await _settings(request, await dashboard_context(request),
                           saved=request.query_params.get("saved") == "1")


def _settings_input(form: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, gql_name in FIELDS.items():
        if field not in form:
            continue
        raw = str(form[field]).strip()
        if field in WHOLE_NUMBERS:
            try:
                values[gql_name] = int(raw)
            except ValueError:
                raise InvalidRequest(f"{field} must be a whole number", param=field) from None
        else:
            values[gql_name] = raw
    return {"input": values}


@dashboard_post("/settings")
async def settings_submit(request: Request) -> Response:
    return await submit(request, "UpdateAccountSettings", _settings_input, page=partial(_settings, request),
                        then=lambda _: redirect(request, "/settings?saved=1"))


@dashboard_post("/settings/delete-test-data")
async def settings_delete_test_data(request: Request) -> Response:
    return await submit(request, "DeleteTestData", lambda form: {"confirm": str(form.get("confirm", ""))},
                        page=partial(_settings, request),
                        then=lambda done: _settings(request, done.ctx, deleted=done.result["deleted"]))


HANDLERS = [settings_page, settings_submit, settings_delete_test_data]
