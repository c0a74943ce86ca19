"""Typed rows of benchmarks: one Struct per table (one field per column), and the month's inputs as queried."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec


class BenchmarkPeriod(msgspec.Struct, kw_only=True):
    id: str
    livemode: bool
    period: date  # the month's first day
    policy: dict[str, Any]  # the ReleasePolicy in force, as released
    computed_at: datetime


class BenchmarkRelease(msgspec.Struct, kw_only=True):
    id: str
    livemode: bool
    period: date
    category: str
    region: str
    kind: str  # "count" or a metric name
    status: str
    size_bucket: str | None
    p25: float | None
    p50: float | None
    p75: float | None
    epsilon: float
    reason: str
    created: datetime

    def quantiles(self) -> dict[float, float]:
        """alpha -> released value, for the quantiles this release has."""
        found = {0.25: self.p25, 0.5: self.p50, 0.75: self.p75}
        return {alpha: value for alpha, value in found.items() if value is not None}


class BenchmarkSellerValue(msgspec.Struct, kw_only=True):
    id: int
    account_id: str
    livemode: bool
    period: date
    metric: str
    value: float | None
    release_id: str


class PrivacyBudgetEntry(msgspec.Struct, kw_only=True):
    id: int
    account_id: str
    livemode: bool
    period: date
    release_id: str
    epsilon: float
    created: datetime


class BudgetLine(msgspec.Struct, kw_only=True):
    """A ledger entry with the release it paid for."""

    id: int
    period: date
    release_id: str
    epsilon: float
    created: datetime
    category: str
    region: str
    kind: str
    status: str


# --- a month's inputs --------------------------------------------------------------------------


class ActiveSeller(msgspec.Struct, kw_only=True):
    """An account that created at least one payment intent in the month, as its settings stand."""

    account_id: str
    category: str
    country: str
    created: int


class SellerSettings(msgspec.Struct, kw_only=True):
    category: str
    country: str


class CurrencyTotals(msgspec.Struct, kw_only=True):
    """A seller's month in one currency, summed from the daily analytics rollups."""

    account_id: str
    currency: str
    attempts: int
    succeeded: int
    gross: Decimal
    refunds: int


class Gross(msgspec.Struct, kw_only=True):
    account_id: str
    currency: str
    gross: Decimal


class DisputeCount(msgspec.Struct, kw_only=True):
    account_id: str
    disputed: int


class UsdRate(msgspec.Struct, kw_only=True):
    account_id: str
    base: str
    quote: str
    rate: str
