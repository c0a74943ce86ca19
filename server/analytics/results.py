"""What the analytics service returns: typed, immutable, ready for REST (msgspec) and GraphQL alike.

Amounts are integers in minor units (Python ints: sums beyond 2^53 stay exact; JSON encoders must not
turn them into floats). `value` is over every currency (amounts converted to `currency`), `by_currency`
per currency; figures without a currency (customers, API) have an empty `by_currency`.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

# A figure's value: an int for amounts (minor units) and counts, a float for ratios and milliseconds. Declared
# as float (JSON "number", which includes integers) so the API's schema accepts both; never rounded.
Number = float | None


class Period(msgspec.Struct, frozen=True):
    """[start, end): UTC instants on 15-minute boundaries."""

    start: datetime
    end: datetime


class Window(msgspec.Struct, frozen=True):
    """A range to read: a named one resolved in a time zone (or the given start and end), with the chart
    interval that suits its length."""

    range: str | None  # today | last_7_days | last_4_weeks | last_12_months; None for a custom range
    timezone: str
    start: datetime
    end: datetime
    interval: str  # hour | day | week | month


class Figure(msgspec.Struct, frozen=True):
    value: Number
    by_currency: dict[str, Number] = {}


class MetricSummary(msgspec.Struct, frozen=True):
    metric: str
    unit: str  # amount | count | ratio | milliseconds
    current: Figure
    previous: Figure
    change: float | None  # (current − previous) ÷ |previous|; None when previous is 0 or undefined
    difference: Number  # current − previous


class Summary(msgspec.Struct, frozen=True):
    livemode: bool
    timezone: str
    currency: str  # what converted amounts are in
    compare: str  # previous_period | previous_year
    period: Period
    comparison: Period
    metrics: list[MetricSummary]
    unconverted_currencies: list[str]  # currencies without an FX rate to `currency`, left out of converted figures

    def metric(self, name: str) -> MetricSummary:
        return next(m for m in self.metrics if m.metric == name)


class Point(msgspec.Struct, frozen=True):
    start: datetime
    end: datetime
    values: dict[str, Figure]  # figure name -> figure


class Timeseries(msgspec.Struct, frozen=True):
    livemode: bool
    timezone: str
    currency: str
    interval: str  # hour | day | week | month, in `timezone`
    period: Period
    metrics: list[str]
    points: list[Point]
    unconverted_currencies: list[str]


class LatencyStats(msgspec.Struct, frozen=True):
    requests: int
    errors: int  # 4xx and 5xx
    error_rate: float | None
    p50: float | None  # milliseconds, within 1 % (server/analytics/histogram.py)
    p95: float | None
    p99: float | None


class GroupStats(msgspec.Struct, frozen=True):
    group: str  # an endpoint group ("POST /v1/payment_intents/{id}/confirm") or an API key id ('' = dashboard)
    current: LatencyStats
    previous: LatencyStats | None


class ApiBreakdown(msgspec.Struct, frozen=True):
    livemode: bool
    group_by: str  # endpoint | api_key
    period: Period
    comparison: Period | None
    groups: list[GroupStats]  # most requested first


class CodeCount(msgspec.Struct, frozen=True):
    code: str
    count: int
    share: float  # of every code counted in the period


class TopCodes(msgspec.Struct, frozen=True):
    livemode: bool
    kind: str  # decline (payments) | error (API)
    period: Period
    total: int
    codes: list[CodeCount]
