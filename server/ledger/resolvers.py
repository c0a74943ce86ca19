"""GraphQL queries and mutations of the ledger: FX rates."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from server.gql.common import Ok, ctx_of
from server.ledger import fx, service
from server.ledger import types as t


@strawberry.type
class LedgerQuery:
    @strawberry.field(description="The merchant's own ledger accounts in this mode (needs view_payments).")
    async def ledger_balances(self, info: Info) -> list[t.LedgerBalance]:
        rows = await service.merchant_balances(ctx_of(info))
        return [t.LedgerBalance(purpose=r.purpose, currency=r.currency, amount=r.balance) for r in rows]

    @strawberry.field(description="FX rates of this account and mode, used by cross-currency transfers.")
    async def fx_rates(self, info: Info) -> list[t.FxRate]:
        return [t.FxRate.from_row(r) for r in await fx.list_rates(ctx_of(info))]


@strawberry.type
class LedgerMutation:
    @strawberry.mutation(description="Set the rate of a currency pair (needs admin).")
    async def set_fx_rate(self, info: Info, input: t.SetFxRateInput) -> t.SetFxRateResult:
        row = await fx.set_rate(ctx_of(info), input.base, input.quote, input.rate, input.spread_bps)
        return t.FxRatePayload(fx_rate=t.FxRate.from_row(row))

    @strawberry.mutation(description="Remove the rate of a currency pair (needs admin).")
    async def delete_fx_rate(self, info: Info, base: str, quote: str) -> t.DeleteFxRateResult:
        await fx.delete_rate(ctx_of(info), base, quote)
        return Ok(ok=True)
