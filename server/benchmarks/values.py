"""One seller's month in numbers, and the value it contributes to each benchmark metric.

Pure: the queries (`queries.py`) read what a month holds per seller; `values()` turns it into
exactly one value per metric (None where the metric is not defined for the seller this month,
which leaves the seller out of that metric's release). Clipping to the metric's bounds happens in
the mechanism, so the value kept here is the seller's own exact figure, shown back to it.

| metric | value | undefined when |
|---|---|---|
| conversion_rate | succeeded ÷ payment intents created | nothing created |
| authorization_rate | succeeded ÷ confirmed (analytics' "attempts") | nothing confirmed |
| average_order_value_usd | USD gross volume ÷ succeeded payments | nothing succeeded with a rate to USD |
| refund_rate | refunds made this month ÷ payments that succeeded | nothing succeeded |
| dispute_rate | disputed payments ÷ succeeded payments | nothing succeeded |
| volume_growth_mom | this month's USD gross volume ÷ last month's − 1 | last month had no volume |

Amounts become US dollars with the seller's own FX table (operator rates, no spread) exactly as
the Analytics page converts them (`server.analytics.figures`); a currency without a rate to USD is
left out of both order value and growth, for both months alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from server.analytics.figures import convert

USD = "USD"


@dataclass
class SellerMonth:
    """What one seller's month (and the month before, for growth) holds."""

    account_id: str
    category: str
    country: str
    created: int = 0  # payment intents created
    confirmed: int = 0  # sent to the processor (analytics' "attempts")
    succeeded: int = 0
    refunds: int = 0  # refunds created this month
    disputed: int = 0  # payments created this month that were disputed
    gross: dict[str, int] = field(default_factory=dict)  # currency -> succeeded volume, minor units
    succeeded_in: dict[str, int] = field(default_factory=dict)  # currency -> succeeded payments
    previous_gross: dict[str, int] = field(default_factory=dict)  # currency -> last month's volume
    rates: Mapping[str, Decimal] = field(default_factory=dict)  # currency -> rate into USD


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _usd_cents(amounts: Mapping[str, int], rates: Mapping[str, Decimal]) -> int:
    return sum(convert(amount, currency, USD, rates[currency])
               for currency, amount in amounts.items() if currency in rates)


def average_order_value_usd(month: SellerMonth) -> float | None:
    convertible = {c: n for c, n in month.succeeded_in.items() if c in month.rates and n}
    if not convertible:
        return None
    cents = _usd_cents({c: month.gross.get(c, 0) for c in convertible}, month.rates)
    return cents / 100 / sum(convertible.values())


def volume_growth(month: SellerMonth) -> float | None:
    before = _usd_cents(month.previous_gross, month.rates)
    if before <= 0:
        return None
    return _usd_cents(month.gross, month.rates) / before - 1


def values(month: SellerMonth) -> dict[str, float | None]:
    """metric name -> the seller's exact value this month (None: not defined, not contributed)."""
    return {
        "conversion_rate": _ratio(month.succeeded, month.created),
        "authorization_rate": _ratio(month.succeeded, month.confirmed),
        "average_order_value_usd": average_order_value_usd(month),
        "refund_rate": _ratio(month.refunds, month.succeeded),
        "dispute_rate": _ratio(month.disputed, month.succeeded),
        "volume_growth_mom": volume_growth(month),
    }
