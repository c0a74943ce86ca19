"""REST: GET /v1/account, the smallest proof that a key works."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.di import Provide

from server.accounts import service
from server.accounts.business import region_of
from server.context import RequestContext
from server.rest import api_context


def account_json(row: dict[str, Any], livemode: bool) -> dict[str, Any]:
    return {
        "id": row["id"], "object": "account", "name": row["name"], "category": row["category"],
        "country": row["country"], "region": region_of(row["country"]), "default_currency": row["default_currency"],
        "timezone": row["timezone"],
        "pricing": {"fee_percent_bps": row["fee_percent_bps"], "fee_fixed_minor": row["fee_fixed_minor"],
                    "dispute_fee_minor": row["dispute_fee_minor"]},
        "log_retention_days": row["log_retention_days"], "livemode": livemode,
        "created": int(row["created"].timestamp()),
    }


class AccountController(Controller):
    path = "/v1/account"
    tags = ["account"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/", summary="Retrieve the account of the key")
    async def retrieve(self, ctx: RequestContext) -> dict[str, Any]:
        return account_json(await service.account_for(ctx), ctx.scope.livemode)
