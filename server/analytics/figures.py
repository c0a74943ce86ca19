"""The figures the service reports, each a formula over summed rollup columns, and currency conversion.

A figure is computed three ways from the same formula: per currency (over that currency's sums), and
over every currency (counts and rates over all of them; anything involving an amount over the
currencies that can be converted, amounts converted first). Formulas:

| figure | formula |
|---|---|
| gross_volume | gross_amount |
| net_volume | net_amount − refund_amount − dispute_amount (kept after fees, refunds, disputes) |
| fees | fee_amount |
| payment_attempts, successful_payments, failed_payments, canceled_payments | attempts, succeeded, failed, canceled |
| success_rate | succeeded ÷ (succeeded + failed): of the payments that got an answer from the card |
| average_order_value | gross_amount ÷ succeeded, rounded half to even |
| refunds / refund_volume / refund_rate | refund_count / refund_amount / refund_count ÷ succeeded |
| disputes / dispute_volume / dispute_rate | dispute_count / dispute_amount / dispute_count ÷ succeeded |
| new_customers, credits, credit_volume, transfers, transfer_volume | the column |
| api_requests, api_errors | requests; status_4xx + status_5xx |
| api_error_rate | api_errors ÷ api_requests |
| api_latency_p50 / p95 / p99 | quantiles of the merged latency histogram, milliseconds (within 1 %) |

Conversion: an amount in currency C becomes `round_half_even(amount × rate)` minor units of the target,
where the rate is the account's FX rate (mode of the data) from C to the target as stored now — the
operator's rate without the customer spread, the inverse of the target→C rate when only that one is
set. So converted history moves when an admin changes a rate: it answers "what is it worth at today's
rate", and the per-currency figures never change. A currency without a rate is left out of converted
figures and listed in `unconverted_currencies`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from server.analytics import histogram
from server.analytics.metrics import NO_CURRENCY, Unit, scalar_columns
from server.ledger.money import exponent
from server.ledger.rows import FxRate

Totals = Mapping[str, Any]  # column -> summed value (the latency column: a histogram)
Number = int | float | None


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def average(total: int, count: int) -> int | None:
    if not count:
        return None
    return int((Decimal(total) / Decimal(count)).to_integral_value(rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str  # "amount" | "count" | "ratio" | "milliseconds"
    compute: Callable[[Totals], Number]
    columns: tuple[str, ...]  # the summed columns it reads
    api: bool = False  # from analytics_api_rollups (no currency)

    @functools.cached_property
    def uses_amounts(self) -> bool:
        units = scalar_columns()
        return any(units.get(c) is Unit.AMOUNT for c in self.columns)


def _column(name: str, figure: str, unit: str = "count") -> Figure:
    return Figure(figure, unit, lambda t: int(t[name]), (name,))


def _quantile(q: float) -> Callable[[Totals], Number]:
    return lambda t: histogram.quantile(t["latency"], q)


PAYMENT_FIGURES: list[Figure] = [
    _column("gross_amount", "gross_volume", "amount"),
    Figure("net_volume", "amount", lambda t: int(t["net_amount"] - t["refund_amount"] - t["dispute_amount"]),
           ("net_amount", "refund_amount", "dispute_amount")),
    _column("fee_amount", "fees", "amount"),
    _column("attempts", "payment_attempts"),
    _column("succeeded", "successful_payments"),
    _column("failed", "failed_payments"),
    _column("canceled", "canceled_payments"),
    Figure("success_rate", "ratio", lambda t: ratio(t["succeeded"], t["succeeded"] + t["failed"]),
           ("succeeded", "failed")),
    Figure("average_order_value", "amount", lambda t: average(t["gross_amount"], t["succeeded"]),
           ("gross_amount", "succeeded")),
    _column("refund_count", "refunds"),
    _column("refund_amount", "refund_volume", "amount"),
    Figure("refund_rate", "ratio", lambda t: ratio(t["refund_count"], t["succeeded"]), ("refund_count", "succeeded")),
    _column("dispute_count", "disputes"),
    _column("dispute_amount", "dispute_volume", "amount"),
    Figure("dispute_rate", "ratio", lambda t: ratio(t["dispute_count"], t["succeeded"]),
           ("dispute_count", "succeeded")),
    _column("new_customers", "new_customers"),
    _column("credit_count", "credits"),
    _column("credit_amount", "credit_volume", "amount"),
    _column("transfer_count", "transfers"),
    _column("transfer_amount", "transfer_volume", "amount"),
]
API_FIGURES: list[Figure] = [
    Figure("api_requests", "count", lambda t: int(t["requests"]), ("requests",), api=True),
    Figure("api_errors", "count", lambda t: int(t["status_4xx"] + t["status_5xx"]), ("status_4xx", "status_5xx"),
           api=True),
    Figure("api_error_rate", "ratio", lambda t: ratio(t["status_4xx"] + t["status_5xx"], t["requests"]),
           ("requests", "status_4xx", "status_5xx"), api=True),
    Figure("api_latency_p50", "milliseconds", _quantile(0.50), ("latency",), api=True),
    Figure("api_latency_p95", "milliseconds", _quantile(0.95), ("latency",), api=True),
    Figure("api_latency_p99", "milliseconds", _quantile(0.99), ("latency",), api=True),
]
FIGURES: dict[str, Figure] = {f.name: f for f in [*PAYMENT_FIGURES, *API_FIGURES]}


# --- currencies ------------------------------------------------------------------------------------


def mid_rates(rows: Iterable[FxRate], target: str) -> dict[str, Decimal]:
    """currency -> rate into `target`, from the account's FX rate rows (operator rate, no spread)."""
    rates: dict[str, Decimal] = {target: Decimal(1)}
    inverse: dict[str, Decimal] = {}
    for row in rows:
        if row.quote == target and row.base != target:
            rates[row.base] = Decimal(row.rate)
        elif row.base == target and Decimal(row.rate) > 0:
            inverse[row.quote] = 1 / Decimal(row.rate)
    return {**inverse, **rates}


def convert(amount: int, currency: str, target: str, rate: Decimal) -> int:
    """`amount` minor units of `currency` in minor units of `target`, rounded half to even."""
    scaled = Decimal(amount) * rate * Decimal(10) ** (exponent(target) - exponent(currency))
    return int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))


def converted_totals(by_currency: Mapping[str, Totals], target: str,
                     rates: Mapping[str, Decimal]) -> tuple[dict[str, int], list[str]]:
    """Column sums over every currency that has a rate, amounts converted; and the currencies left out."""
    units = scalar_columns()
    out = {c: 0 for c in units}
    missing = []
    for currency, totals in by_currency.items():
        if currency == NO_CURRENCY:
            continue
        rate = rates.get(currency)
        if rate is None:
            if any(totals[c] for c in units):
                missing.append(currency)
            continue
        for column, unit in units.items():
            value = int(totals[column])
            out[column] += convert(value, currency, target, rate) if unit is Unit.AMOUNT else value
    return out, sorted(missing)


def all_totals(by_currency: Mapping[str, Totals]) -> dict[str, int]:
    """Column sums over every currency (amounts summed unconverted: only for figures without amounts)."""
    out = {c: 0 for c in scalar_columns()}
    for totals in by_currency.values():
        for column in out:
            out[column] += int(totals[column])
    return out


def zero_totals() -> dict[str, int]:
    return {c: 0 for c in scalar_columns()}
