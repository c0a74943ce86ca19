"""GraphQL types of analytics: the service's results (`results.py`) as Strawberry types.

A figure's `value` is a Float for every unit (what a chart plots); `exact` repeats amounts (minor units) and
counts as a 64-bit integer, because a Float is exact only up to 2^53.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from server.analytics import results as r
from server.ledger.types import Long


@strawberry.enum(description="A range ending now, starting at a local midnight of the chosen time zone.")
class AnalyticsRange(Enum):
    TODAY = "today"
    LAST_7_DAYS = "last_7_days"
    LAST_4_WEEKS = "last_4_weeks"
    LAST_12_MONTHS = "last_12_months"


@strawberry.enum(description="What a range is compared with.")
class AnalyticsCompare(Enum):
    PREVIOUS_PERIOD = "previous_period"
    PREVIOUS_YEAR = "previous_year"


@strawberry.enum(description="The local period each point of a time series covers.")
class AnalyticsInterval(Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@strawberry.enum(description="How API usage is broken down.")
class ApiUsageGroup(Enum):
    ENDPOINT = "endpoint"
    API_KEY = "api_key"


@strawberry.enum(description="Which codes to count.")
class CodeKind(Enum):
    DECLINE = "decline"
    ERROR = "error"


def _exact(value: r.Number) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@strawberry.type(description="A range read: its time zone, bounds (UTC) and the chart interval that suits it.")
class AnalyticsWindow:
    range: str | None = strawberry.field(description="The named range, or null for start and end given.")
    timezone: str = strawberry.field(description="The IANA time zone of local days, weeks and months.")
    start: datetime = strawberry.field(description="First instant (a 15-minute boundary).")
    end: datetime = strawberry.field(description="End, exclusive.")
    interval: str = strawberry.field(description="hour, day, week or month: what a chart of this range uses.")

    @classmethod
    def of(cls, w: r.Window) -> AnalyticsWindow:
        return cls(range=w.range, timezone=w.timezone, start=w.start, end=w.end, interval=w.interval)


@strawberry.type(description="[start, end) in UTC, on 15-minute boundaries.")
class AnalyticsPeriod:
    start: datetime = strawberry.field(description="First instant.")
    end: datetime = strawberry.field(description="End, exclusive.")

    @classmethod
    def of(cls, p: r.Period) -> AnalyticsPeriod:
        return cls(start=p.start, end=p.end)


@strawberry.type(description="A figure in one currency (amounts in its minor units).")
class CurrencyFigure:
    currency: str = strawberry.field(description="ISO 4217 code, upper case.")
    value: float | None = strawberry.field(description="The figure; null when undefined (a rate of nothing).")
    exact: Long | None = strawberry.field(  # type: ignore[valid-type]
        description="Amounts and counts as an exact integer; null for ratios.")


@strawberry.type(description="A figure over every currency (amounts converted) and per currency.")
class AnalyticsFigure:
    value: float | None = strawberry.field(
        description="Over every currency: counts and rates over all, amounts converted to the summary's currency "
                    "(minor units); milliseconds for latency; null when undefined.")
    exact: Long | None = strawberry.field(  # type: ignore[valid-type]
        description="`value` as an exact integer, for amounts and counts; null for ratios and milliseconds.")
    by_currency: list[CurrencyFigure] = strawberry.field(
        description="Per currency, unconverted; empty for figures without a currency (customers, API).")

    @classmethod
    def of(cls, f: r.Figure) -> AnalyticsFigure:
        return cls(value=f.value, exact=_exact(f.value),
                   by_currency=[CurrencyFigure(currency=c, value=v, exact=_exact(v))
                                for c, v in sorted(f.by_currency.items())])


@strawberry.type(description="One metric over the range and over the comparison period.")
class AnalyticsMetric:
    metric: str = strawberry.field(description="gross_volume, net_volume, fees, successful_payments, success_rate, "
                                               "…, api_latency_p99 (docs/analytics.md lists them).")
    unit: str = strawberry.field(description="amount (minor units), count, ratio (0–1) or milliseconds.")
    current: AnalyticsFigure = strawberry.field(description="Over the range.")
    previous: AnalyticsFigure = strawberry.field(description="Over the comparison period.")
    change: float | None = strawberry.field(
        description="(current − previous) ÷ |previous|; null when the previous value is 0 or undefined.")
    difference: float | None = strawberry.field(description="current − previous.")

    @classmethod
    def of(cls, m: r.MetricSummary) -> AnalyticsMetric:
        return cls(metric=m.metric, unit=m.unit, current=AnalyticsFigure.of(m.current),
                   previous=AnalyticsFigure.of(m.previous), change=m.change, difference=m.difference)


@strawberry.type(description="Every metric over a range against a comparison period.")
class AnalyticsSummary:
    timezone: str = strawberry.field(description="The time zone of local periods.")
    currency: str = strawberry.field(description="What converted amounts are in.")
    compare: str = strawberry.field(description="previous_period or previous_year.")
    period: AnalyticsPeriod = strawberry.field(description="The range read.")
    comparison: AnalyticsPeriod = strawberry.field(description="The period compared with.")
    metrics: list[AnalyticsMetric] = strawberry.field(description="Every metric, in a fixed order.")
    unconverted_currencies: list[str] = strawberry.field(
        description="Currencies without an FX rate to `currency`: left out of converted amounts.")

    @strawberry.field(description="One metric by name, or null for an unknown name.")
    def metric(self, name: str) -> AnalyticsMetric | None:
        return next((m for m in self.metrics if m.metric == name), None)

    @classmethod
    def of(cls, s: r.Summary) -> AnalyticsSummary:
        return cls(timezone=s.timezone, currency=s.currency, compare=s.compare, period=AnalyticsPeriod.of(s.period),
                   comparison=AnalyticsPeriod.of(s.comparison), metrics=[AnalyticsMetric.of(m) for m in s.metrics],
                   unconverted_currencies=list(s.unconverted_currencies))


@strawberry.type(description="One metric's figure in one period of a time series.")
class AnalyticsValue:
    metric: str = strawberry.field(description="The metric's name.")
    figure: AnalyticsFigure = strawberry.field(description="Its figure in the period.")


@strawberry.type(description="One local period of a time series.")
class AnalyticsPoint:
    start: datetime = strawberry.field(description="Start of the local period (clipped to the range).")
    end: datetime = strawberry.field(description="End, exclusive (clipped to the range).")
    values: list[AnalyticsValue] = strawberry.field(description="Each chosen metric, in the order asked.")


@strawberry.type(description="Chosen metrics per local hour, day, week or month.")
class AnalyticsTimeseries:
    timezone: str = strawberry.field(description="The time zone of the periods.")
    currency: str = strawberry.field(description="What converted amounts are in.")
    interval: str = strawberry.field(description="hour, day, week or month.")
    period: AnalyticsPeriod = strawberry.field(description="The range read.")
    metrics: list[str] = strawberry.field(description="The metrics of every point, in order.")
    points: list[AnalyticsPoint] = strawberry.field(description="One per local period, oldest first.")
    unconverted_currencies: list[str] = strawberry.field(description="Currencies left out of converted amounts.")

    @classmethod
    def of(cls, t: r.Timeseries) -> AnalyticsTimeseries:
        points = [AnalyticsPoint(start=p.start, end=p.end,
                                 values=[AnalyticsValue(metric=name, figure=AnalyticsFigure.of(p.values[name]))
                                         for name in t.metrics]) for p in t.points]
        return cls(timezone=t.timezone, currency=t.currency, interval=t.interval, period=AnalyticsPeriod.of(t.period),
                   metrics=list(t.metrics), points=points, unconverted_currencies=list(t.unconverted_currencies))


@strawberry.type(description="Requests, errors and latency percentiles of one endpoint group or key.")
class ApiUsageStats:
    requests: int = strawberry.field(description="Requests answered.")
    errors: int = strawberry.field(description="Answers with a 4xx or 5xx status.")
    error_rate: float | None = strawberry.field(description="errors ÷ requests; null without requests.")
    p50: float | None = strawberry.field(description="Median latency, ms (within 1 %).")
    p95: float | None = strawberry.field(description="95th percentile latency, ms.")
    p99: float | None = strawberry.field(description="99th percentile latency, ms.")

    @classmethod
    def of(cls, s: r.LatencyStats) -> ApiUsageStats:
        return cls(requests=s.requests, errors=s.errors, error_rate=s.error_rate, p50=s.p50, p95=s.p95, p99=s.p99)


@strawberry.type(description="One endpoint group (`POST /v1/payment_intents/{id}/confirm`) or API key.")
class ApiUsageGroupStats:
    group: str = strawberry.field(description="The endpoint group, or the API key id ('' for dashboard sessions).")
    current: ApiUsageStats = strawberry.field(description="Over the range.")
    previous: ApiUsageStats | None = strawberry.field(description="Over the comparison period, if compared.")


@strawberry.type(description="API usage per endpoint group or key, most requested first.")
class ApiUsage:
    group_by: str = strawberry.field(description="endpoint or api_key.")
    period: AnalyticsPeriod = strawberry.field(description="The range read.")
    comparison: AnalyticsPeriod | None = strawberry.field(description="The period compared with, if any.")
    groups: list[ApiUsageGroupStats] = strawberry.field(description="Most requested first.")

    @classmethod
    def of(cls, b: r.ApiBreakdown) -> ApiUsage:
        return cls(group_by=b.group_by, period=AnalyticsPeriod.of(b.period),
                   comparison=AnalyticsPeriod.of(b.comparison) if b.comparison else None,
                   groups=[ApiUsageGroupStats(group=g.group, current=ApiUsageStats.of(g.current),
                                              previous=ApiUsageStats.of(g.previous) if g.previous else None)
                           for g in b.groups])


@strawberry.type(description="One code and how often it occurred.")
class CodeCountStats:
    code: str = strawberry.field(description="A decline code (`insufficient_funds`) or an API error code.")
    count: int = strawberry.field(description="Occurrences in the range.")
    share: float = strawberry.field(description="Of every code counted in the range (0–1).")


@strawberry.type(description="The most frequent codes of a range.")
class TopCodes:
    kind: str = strawberry.field(description="decline (failed payments) or error (failed API requests).")
    period: AnalyticsPeriod = strawberry.field(description="The range read.")
    total: int = strawberry.field(description="Every code counted in the range.")
    codes: list[CodeCountStats] = strawberry.field(description="Most frequent first.")

    @classmethod
    def of(cls, c: r.TopCodes) -> TopCodes:
        return cls(kind=c.kind, period=AnalyticsPeriod.of(c.period), total=c.total,
                   codes=[CodeCountStats(code=x.code, count=x.count, share=x.share) for x in c.codes])
