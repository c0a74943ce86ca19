"""FX rates set by the account's admins (no live rates) and conversion with a spread."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

from server import db
from server.audit import service as audit
from server.context import RequestContext, Scope
from server.errors import ErrorCode, InvalidRequest, NotFound
from server.ledger import queries
from server.ledger.money import currency_code, exponent
from server.ledger.rows import FxRate
from server.permissions import read, write

MAX_SPREAD_BPS = 5000


def effective_rate(row: FxRate) -> Decimal:
    """The rate a customer gets: the operator's rate less the spread."""
    return Decimal(row.rate) * (Decimal(10_000 - row.spread_bps) / Decimal(10_000))


def convert(amount: int, from_currency: str, to_currency: str, row: FxRate) -> int:
    """`amount` minor units of `from_currency` in minor units of `to_currency`, rounded down."""
    major = Decimal(amount).scaleb(-exponent(from_currency))
    converted = (major * effective_rate(row)).scaleb(exponent(to_currency))
    return int(converted.to_integral_value(rounding=ROUND_DOWN))


async def rate_for(scope: Scope, base: str, quote: str) -> FxRate:
    row = await queries.fx_rate(scope, base, quote)
    if row is None:
        raise InvalidRequest(f"no FX rate from {base} to {quote}; an admin sets rates under Settings",
                             param="to_currency", code=ErrorCode.FX_RATE_MISSING)
    return row


def _rate(value: object) -> str:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidRequest("rate must be a positive decimal such as \"0.9132\"", param="rate") from None
    if not number.is_finite() or number <= 0 or number > Decimal(10) ** 9:
        raise InvalidRequest("rate must be a positive decimal such as \"0.9132\"", param="rate")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int), "a finite decimal has an integer exponent"
    if -exponent > 12:
        raise InvalidRequest("rate may have at most 12 decimals", param="rate")
    return format(number.normalize(), "f")


async def list_rates(ctx: RequestContext) -> list[FxRate]:
    return await queries.fx_rates(ctx.require(read("customers")))


async def set_rate(ctx: RequestContext, base: str, quote: str, rate: object, spread_bps: int) -> FxRate:
    scope = ctx.require(write("settings"))
    base, quote = currency_code(base, "base"), currency_code(quote, "quote")
    if base == quote:
        raise InvalidRequest("base and quote must differ", param="quote")
    if not isinstance(spread_bps, int) or not 0 <= spread_bps <= MAX_SPREAD_BPS:
        raise InvalidRequest(f"spread_bps must be an integer between 0 and {MAX_SPREAD_BPS}", param="spread_bps")
    clean = _rate(rate)
    async with db.transaction():
        row = await queries.upsert_fx_rate(scope, base, quote, clean, spread_bps)
        await audit.record(ctx, scope.account_id, "fx_rate.set", "fx_rate", row.id,
                           {"base": base, "quote": quote, "rate": clean, "spread_bps": spread_bps}, scope.livemode)
    return row


async def delete_rate(ctx: RequestContext, base: str, quote: str) -> None:
    scope = ctx.require(write("settings"))
    base, quote = currency_code(base, "base"), currency_code(quote, "quote")
    async with db.transaction():
        if not await queries.delete_fx_rate(scope, base, quote):
            raise NotFound(f"no FX rate from {base} to {quote}", param="quote")
        await audit.record(ctx, scope.account_id, "fx_rate.deleted", "fx_rate", f"{base}/{quote}", {},
                           scope.livemode)
