"""The read side of analytics: summaries, time series, API usage and top codes, from the rollups only.

Every function takes the request context (its scope is the account and mode; `view_analytics`, or a
key's `analytics: read`), a range [start, end) of aware datetimes, and where it matters an IANA time
zone (default: the account's) and the currency converted amounts are reported in (default: the
account's default currency). Ranges are widened to whole 15-minute buckets (an `end` of "now"
includes the bucket in progress). Intervals are local: a day in Europe/Berlin is 23, 24 or 25 hours,
an hour in Asia/Kathmandu starts at a quarter past in UTC. Figures and conversion: `figures.py`.

The cost of a call depends on the number of rows covering the range (`levels.py`: whole UTC days inside,
hours and quarter hours at the edges), not on the number of payments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from server import clock
from server.accounts import queries as account_queries
from server.analytics import buckets, figures, histogram, levels, queries
from server.analytics.api_metrics import API_METRICS, ERROR_CODES_COLUMN
from server.analytics.buckets import RANGE_INTERVALS, Compare, Interval, Range
from server.analytics.metrics import NO_CURRENCY
from server.analytics.results import (
    ApiBreakdown,
    CodeCount,
    Figure,
    GroupStats,
    LatencyStats,
    MetricSummary,
    Period,
    Point,
    Summary,
    Timeseries,
    TopCodes,
    Window,
)
from server.context import RequestContext, Scope
from server.errors import InvalidRequest
from server.ledger import queries as ledger_queries
from server.ledger.money import currency_code
from server.pagination import MAX_LIMIT
from server.permissions import read

MAX_POINTS = 2000  # a year of days, or 83 days of hours
MAX_RANGE = timedelta(days=3 * 366 + 1)  # a comparison with the previous year of a two-year range
MAX_CODES = MAX_LIMIT
API_GROUPS = {"endpoint": "endpoint", "api_key": "api_key_id"}
DECLINE_COLUMN = "decline_codes"
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)
# Custom ranges are charted by the finest interval that keeps a chart readable.
AUTO_INTERVALS = ((timedelta(days=3), Interval.HOUR), (timedelta(days=93), Interval.DAY),
                  (timedelta(days=731), Interval.WEEK))


@dataclass(frozen=True)
class Frame:
    """Who asks, about what: the scope, the zone of intervals, the currency of converted amounts."""

    scope: Scope
    zone: ZoneInfo
    zone_name: str
    currency: str
    rates: Mapping[str, Decimal]


async def _frame(ctx: RequestContext, timezone: str | None, currency: str | None) -> Frame:
    return await _frame_of(ctx.require(read("analytics")), timezone, currency)


async def _frame_of(scope: Scope, timezone: str | None, currency: str | None) -> Frame:
    account = await account_queries.account(scope.account_id) or {}
    zone_name = timezone or account.get("timezone") or "UTC"
    target = currency_code(currency or account.get("default_currency") or "USD")
    rates = figures.mid_rates(await ledger_queries.fx_rates(scope), target)
    return Frame(scope, buckets.zone(zone_name), zone_name, target, rates)


async def window(ctx: RequestContext, *, range: str | None = None, start: datetime | None = None,
                 end: datetime | None = None, timezone: str | None = None, now: datetime | None = None) -> Window:
    """What to read: a named range ending now, in `timezone` (default: the account's), or [start, end), where a
    time without a time zone (a date, say) is local to `timezone`.

    Exactly one of `range` and the pair `start`, `end` is given; the answer names the chart interval that
    suits the range (by hour for today, by day for weeks, by month for a year).
    """
    scope = ctx.require(read("analytics"))
    if timezone is None:
        account = await account_queries.account(scope.account_id) or {}
        timezone = account.get("timezone") or "UTC"
    tz = buckets.zone(timezone)
    if range is not None:
        if start is not None or end is not None:
            raise InvalidRequest("give either range or start and end, not both", param="range")
        try:
            name = Range(range)
        except ValueError:
            raise InvalidRequest(f"range must be one of {', '.join(Range)}", param="range") from None
        first, last = buckets.named_range(name, tz, now or clock.now())
        return Window(name.value, timezone, first, last, RANGE_INTERVALS[name].value)
    if start is None or end is None:
        param = "start" if start is None else "end"
        raise InvalidRequest(f"{param} is required (or give a range: {', '.join(Range)})", param=param)
    period = _period(buckets.localize(start, tz, "start"), buckets.localize(end, tz, "end"))
    interval = next((i for length, i in AUTO_INTERVALS if period.end - period.start <= length), Interval.MONTH)
    return Window(None, timezone, period.start, period.end, interval.value)


def _period(start: datetime, end: datetime) -> Period:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise InvalidRequest(f"{name} must be a time with a time zone", param=name)
        if not EARLIEST <= value < LATEST:
            raise InvalidRequest(f"{name} must be between 1970 and 2999 (UTC)", param=name)
    start, end = buckets.floor(start), buckets.ceil(end)
    if end <= start:
        raise InvalidRequest("end must be after start", param="end")
    if end - start > MAX_RANGE:
        raise InvalidRequest("a range is at most three years", param="end")
    return Period(start, end)


# --- summary -----------------------------------------------------------------------------------------


@dataclass
class _Sums:
    """Everything summed over one period: payment columns per currency, API columns, latency."""

    by_currency: dict[str, dict[str, int]]
    api: dict[str, Any]
    _converted: tuple[dict[str, int], list[str]] | None = None
    _everything: dict[str, int] | None = None

    def converted(self, frame: Frame) -> tuple[dict[str, int], list[str]]:
        """Column sums over the currencies with a rate, amounts converted (once per period)."""
        if self._converted is None:
            self._converted = figures.converted_totals(self.by_currency, frame.currency, frame.rates)
        return self._converted

    def everything(self) -> dict[str, int]:
        if self._everything is None:
            self._everything = figures.all_totals(self.by_currency)
        return self._everything


async def _sums(scope: Scope, period: Period, *, api: bool = True) -> _Sums:
    """The period's column sums; the API's (counts and the latency histogram) only when `api` figures are asked."""
    parts = levels.segments(period.start, period.end)
    by_currency = {r["currency"]: {k: int(v) for k, v in r.items() if k != "currency"}
                   for r in await queries.totals(scope, parts)}
    if not api:
        return _Sums(by_currency, {})
    api_rows = await queries.api_totals(scope, parts)
    api_sums: dict[str, Any] = {m.column: int(api_rows[0][m.column]) if api_rows else 0 for m in API_METRICS}
    api_sums["latency"] = histogram.from_rows((r["hbucket"], r["n"])
                                              for r in await queries.api_latency(scope, parts))
    return _Sums(by_currency, api_sums)


def _figure(figure: figures.Figure, sums: _Sums, frame: Frame) -> tuple[Figure, list[str]]:
    if figure.api:
        return Figure(figure.compute(sums.api)), []
    per_currency = {c: figure.compute(t) for c, t in sorted(sums.by_currency.items())
                    if c != NO_CURRENCY and any(t.get(col) for col in figure.columns)}
    totals, missing = sums.converted(frame) if figure.uses_amounts else (sums.everything(), [])
    return Figure(figure.compute(totals), per_currency), missing


def _change(current: figures.Number, previous: figures.Number) -> tuple[float | None, figures.Number]:
    if current is None or previous is None:
        return None, None
    difference = current - previous
    return (difference / abs(previous) if previous else None), difference


async def summary(ctx: RequestContext, start: datetime, end: datetime, *, timezone: str | None = None,
                  currency: str | None = None, compare: str = Compare.PREVIOUS_PERIOD,
                  only: Collection[str] | None = None) -> Summary:
    """Every figure over [start, end) and over the comparison period, with the change; `only` those named, when
    the caller shows a few (Home shows four payment figures: it need not read the API's latency histograms,
    whose cost grows with the day's requests)."""
    frame = await _frame(ctx, timezone, currency)
    how = _compare(compare)
    period = _period(start, end)
    comparison = Period(*buckets.comparison_range(period.start, period.end, frame.zone, how))
    chosen = [f for f in figures.FIGURES.values() if only is None or f.name in only]
    api = any(f.api for f in chosen)
    now, before = await _sums(frame.scope, period, api=api), await _sums(frame.scope, comparison, api=api)
    metrics: list[MetricSummary] = []
    missing: set[str] = set()
    for figure in chosen:
        current, gaps_now = _figure(figure, now, frame)
        previous, gaps_before = _figure(figure, before, frame)
        missing.update(gaps_now, gaps_before)
        change, difference = _change(current.value, previous.value)
        metrics.append(MetricSummary(figure.name, figure.unit, current, previous, change, difference))
    return Summary(frame.scope.livemode, frame.zone_name, frame.currency, how.value, period, comparison, metrics,
                   sorted(missing))


def _compare(value: str) -> Compare:
    try:
        return Compare(value)
    except ValueError:
        raise InvalidRequest("compare must be previous_period or previous_year", param="compare") from None


# --- time series -------------------------------------------------------------------------------------


async def timeseries(ctx: RequestContext, start: datetime, end: datetime, *, interval: str = Interval.DAY,
                     timezone: str | None = None, metrics: Sequence[str] | None = None, currency: str | None = None,
                     endpoint: str | None = None, api_key_id: str | None = None) -> Timeseries:
    """The chosen figures per local hour, day, week or month of [start, end).

    `endpoint` / `api_key_id` narrow the API figures to one endpoint group or key.
    """
    return await _timeseries(await _frame(ctx, timezone, currency), start, end, interval, metrics, endpoint,
                             api_key_id)


async def timeseries_of(scope: Scope, start: datetime, end: datetime, *, interval: str, timezone: str,
                        metrics: Sequence[str], currency: str | None = None) -> Timeseries:
    """`timeseries` of a scope whose reader was checked already (a report run, checked when it was asked for)."""
    return await _timeseries(await _frame_of(scope, timezone, currency), start, end, interval, metrics, None, None)


async def _timeseries(frame: Frame, start: datetime, end: datetime, interval: str, metrics: Sequence[str] | None,
                      endpoint: str | None, api_key_id: str | None) -> Timeseries:
    period = _period(start, end)
    step = _interval(interval)
    chosen = _metrics(metrics)
    starts = buckets.period_starts(period.start, period.end, frame.zone, step)
    if len(starts) > MAX_POINTS:
        raise InvalidRequest(f"at most {MAX_POINTS} points: choose a longer interval or a shorter range",
                             param="interval")
    sums = await _sums_by_period(frame.scope, period, starts, endpoint, api_key_id)
    ends = [*starts[1:], period.end]
    points, missing = [], set()
    for index, (first, last) in enumerate(zip(starts, ends, strict=True), start=1):
        values = {}
        for name in chosen:
            figure, gaps = _figure(figures.FIGURES[name], sums[index], frame)
            values[name] = figure
            missing.update(gaps)
        points.append(Point(max(first, period.start), min(last, period.end), values))
    return Timeseries(frame.scope.livemode, frame.zone_name, frame.currency, step.value, period, list(chosen),
                      points, sorted(missing))


def _interval(value: str) -> Interval:
    try:
        return Interval(value)
    except ValueError:
        raise InvalidRequest("interval must be hour, day, week or month", param="interval") from None


def _metrics(names: Sequence[str] | None) -> list[str]:
    if not names:
        return list(figures.FIGURES)
    unknown = [n for n in names if n not in figures.FIGURES]
    if unknown:
        raise InvalidRequest(f"unknown metric '{unknown[0][:60]}'; known: {', '.join(figures.FIGURES)}",
                             param="metrics")
    return list(dict.fromkeys(names))


async def _sums_by_period(scope: Scope, period: Period, starts: list[datetime], endpoint: str | None,
                          api_key_id: str | None) -> dict[int, _Sums]:
    empty_api = {m.column: 0 for m in API_METRICS}
    sums: defaultdict[int, _Sums] = defaultdict(lambda: _Sums({}, {**empty_api, "latency": {}}))
    parts = levels.segments(period.start, period.end, starts)
    for row in await queries.totals(scope, parts, starts):
        sums[row["period"]].by_currency[row["currency"]] = {
            k: int(v) for k, v in row.items() if k not in ("period", "currency")}
    for row in await queries.api_totals(scope, parts, starts=starts, endpoint=endpoint, api_key_id=api_key_id):
        sums[row["period"]].api.update({m.column: int(row[m.column]) for m in API_METRICS})
    for row in await queries.api_latency(scope, parts, starts=starts, endpoint=endpoint, api_key_id=api_key_id):
        latency = sums[row["period"]].api["latency"]
        latency[int(row["hbucket"])] = latency.get(int(row["hbucket"]), 0) + int(row["n"])
    return sums


# --- API usage ---------------------------------------------------------------------------------------


async def api_breakdown(ctx: RequestContext, start: datetime, end: datetime, *, group_by: str = "endpoint",
                        timezone: str | None = None, compare: str | None = Compare.PREVIOUS_PERIOD) -> ApiBreakdown:
    """Requests, errors and latency percentiles per endpoint group (or per key), most requested first."""
    frame = await _frame(ctx, timezone, None)
    if group_by not in API_GROUPS:
        raise InvalidRequest("group_by must be endpoint or api_key", param="group_by")
    period = _period(start, end)
    comparison = (Period(*buckets.comparison_range(period.start, period.end, frame.zone, _compare(compare)))
                  if compare else None)
    current = await _group_stats(frame.scope, period, API_GROUPS[group_by])
    previous = await _group_stats(frame.scope, comparison, API_GROUPS[group_by]) if comparison else {}
    groups = [GroupStats(name, stats, previous.get(name) if comparison else None)
              for name, stats in sorted(current.items(), key=lambda kv: (-kv[1].requests, kv[0]))]
    return ApiBreakdown(frame.scope.livemode, group_by, period, comparison, groups)


async def _group_stats(scope: Scope, period: Period, column: str) -> dict[str, LatencyStats]:
    parts = levels.segments(period.start, period.end)
    counts = {r["grp"]: r for r in await queries.api_totals(scope, parts, group=column)}
    latency: dict[str, histogram.Histogram] = defaultdict(dict)
    for row in await queries.api_latency(scope, parts, group=column):
        latency[row["grp"]][int(row["hbucket"])] = int(row["n"])
    out = {}
    for name, row in counts.items():
        errors = int(row["status_4xx"]) + int(row["status_5xx"])
        merged = latency.get(name, {})
        out[name] = LatencyStats(int(row["requests"]), errors, figures.ratio(errors, int(row["requests"])),
                                 histogram.quantile(merged, 0.50), histogram.quantile(merged, 0.95),
                                 histogram.quantile(merged, 0.99))
    return out


# --- top codes ---------------------------------------------------------------------------------------


async def top_codes(ctx: RequestContext, start: datetime, end: datetime, *, kind: str = "decline",
                    limit: int = 10) -> TopCodes:
    """The most frequent decline codes (failed payments) or error codes (failed API requests)."""
    scope = ctx.require(read("analytics"))
    if kind not in ("decline", "error"):
        raise InvalidRequest("kind must be decline or error", param="kind")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CODES:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_CODES}", param="limit")
    period = _period(start, end)
    column = DECLINE_COLUMN if kind == "decline" else ERROR_CODES_COLUMN
    rows = await queries.top_codes(scope, levels.segments(period.start, period.end), column, limit)
    total = int(rows[0]["total"]) if rows else 0
    codes = [CodeCount(r["code"], int(r["n"]), int(r["n"]) / total) for r in rows]
    return TopCodes(scope.livemode, kind, period, total, codes)
