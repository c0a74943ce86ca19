"""GraphQL types of the ledger: the Long scalar for minor units, money, FX rates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, NewType

import strawberry

from server.gql.common import NotFoundError, Ok, ValidationError
from server.ledger import fx, rows


def _parse_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("Long must be an integer")
    if not -(2**63) <= value < 2**63:
        raise ValueError("Long must fit in 64 bits")
    return value


# A scalar made by strawberry.scalar() is not a type to mypy: fields typed `Long` carry
# `# type: ignore[valid-type]` for this reason (moving to StrawberryConfig.scalar_map would remove them).
Long = strawberry.scalar(NewType("Long", int), serialize=int, parse_value=_parse_long,
                         description="A 64-bit integer: amounts in a currency's minor unit (cents, yen, fils).")


@strawberry.type(description="An amount in a currency's minor unit.")
class Money:
    amount: Long = strawberry.field(description="Minor units (e.g. cents).")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="ISO 4217 code, upper case.")


@strawberry.type(description="One of the merchant's ledger accounts: its purpose, currency and balance.")
class LedgerBalance:
    purpose: str = strawberry.field(description="merchant_balance, fees, processor_clearing, funding, fx, …")
    currency: str = strawberry.field(description="ISO 4217 code.")
    amount: Long = strawberry.field(description="Balance in minor units.")  # type: ignore[valid-type]


@strawberry.type(description="A conversion rate the account's admins set; transfers use it less the spread.")
class FxRate:
    base: str = strawberry.field(description="Currency converted from.")
    quote: str = strawberry.field(description="Currency converted to.")
    rate: str = strawberry.field(description="Units of quote per unit of base, as a decimal string.")
    spread_bps: int = strawberry.field(description="Spread kept on conversions, in basis points.")
    effective_rate: str = strawberry.field(description="The rate customers get: rate × (1 − spread).")
    updated: datetime = strawberry.field(description="When it was last set.")

    @classmethod
    def from_row(cls, row: rows.FxRate) -> FxRate:
        return cls(base=row.base, quote=row.quote, rate=row.rate, spread_bps=row.spread_bps,
                   effective_rate=format(fx.effective_rate(row).normalize(), "f"), updated=row.updated)


@strawberry.input(description="Set (or replace) the rate of one currency pair.")
class SetFxRateInput:
    base: str = strawberry.field(description="Currency converted from.")
    quote: str = strawberry.field(description="Currency converted to.")
    rate: str = strawberry.field(description="Units of quote per unit of base, e.g. \"0.9132\".")
    spread_bps: int = strawberry.field(default=0, description="Spread in basis points (0–5000).")


@strawberry.type(description="The rate after the change.")
class FxRatePayload:
    fx_rate: FxRate = strawberry.field(description="The rate.")


SetFxRateResult = Annotated[FxRatePayload | ValidationError, strawberry.union("SetFxRateResult")]
DeleteFxRateResult = Annotated[Ok | ValidationError | NotFoundError, strawberry.union("DeleteFxRateResult")]
