"""The Analytics page: a range against the previous period, tiles with the change, charts (uPlot) and API usage.

Filters live in the URL (`range`, `from`, `to`, `compare`, `currency`, `interval`). The range is resolved
first (`AnalyticsWindow`), so every figure on the page reads the same [start, end). The charts' data is in
the page as JSON (`<script type="application/json" class="chart-data">`), in minor units, drawn by
`web/static/analytics.js`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response

from server import operations
from server.analytics.buckets import Range
from server.errors import InvalidRequest
from server.ledger.money import currency_code, exponent
from server.web.pages import base_vars, dashboard_context, dashboard_get, show
from server.web.render import render_page

RANGES = [("today", "Today"), ("last_7_days", "Last 7 days"), ("last_4_weeks", "Last 4 weeks"),
          ("last_12_months", "Last 12 months"), ("custom", "Custom")]
DEFAULT_RANGE = "last_12_months"
# The page's own choice where the API's default would be coarse: a year by week shows the demo's 90 days.
PAGE_INTERVALS = {"last_12_months": "week"}
INTERVALS = ("hour", "day", "week", "month")
COMPARES = (("previous_period", "Previous period"), ("previous_year", "Previous year"))

# (metric, label) of each tile, in order.
TILES = [("gross_volume", "Gross volume"), ("net_volume", "Net volume"), ("successful_payments", "Successful payments"),
         ("success_rate", "Success rate"), ("average_order_value", "Average order"), ("fees", "Fees"),
         ("refund_volume", "Refunds"), ("refund_rate", "Refund rate"), ("dispute_rate", "Dispute rate"),
         ("new_customers", "New customers"), ("api_requests", "API requests"), ("api_error_rate", "API error rate"),
         ("api_latency_p95", "API latency p95")]


@dataclass(frozen=True)
class Chart:
    """One chart of the page: a title, a kind (line or bars) and its series of metrics (metric, label)."""

    key: str
    title: str
    kind: str
    unit: str
    metrics: list[tuple[str, str]]
    section: str = "payments"


CHARTS = [
    Chart("volume", "Gross and net volume", "line", "amount", [("gross_volume", "Gross"), ("net_volume", "Net")]),
    Chart("payments", "Successful payments", "bars", "count", [("successful_payments", "Successful"),
                                                              ("failed_payments", "Failed")]),
    Chart("refunds", "Refunds", "bars", "amount", [("refund_volume", "Refunded")]),
    Chart("customers", "New customers", "bars", "count", [("new_customers", "New customers")]),
    Chart("api-requests", "API requests", "bars", "count", [("api_requests", "Requests"), ("api_errors", "Errors")],
          "api"),
    Chart("api-error-rate", "API error rate", "line", "ratio", [("api_error_rate", "Error rate")], "api"),
    Chart("api-latency", "API latency", "line", "milliseconds", [("api_latency_p50", "p50"),
                                                                 ("api_latency_p95", "p95"),
                                                                 ("api_latency_p99", "p99")], "api"),
]
# Figures of no currency: the same in the per-currency views.
WITHOUT_CURRENCY = {"new_customers"}
# A rise in these is bad news: their change is shown in red.
LOWER_IS_BETTER = {"refund_volume", "refund_rate", "dispute_rate", "fees", "api_error_rate", "api_latency_p95"}
SERIES_METRICS = list(dict.fromkeys(m for chart in CHARTS for m, _ in chart.metrics))


def _filters(params: Any) -> dict[str, str]:
    names = ("range", "from", "to", "compare", "currency", "interval")
    f = {k: str(params.get(k) or "").strip() for k in names}
    f["range"] = f["range"] or DEFAULT_RANGE
    f["compare"] = f["compare"] or "previous_period"
    return f


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date (YYYY-MM-DD)", param=name) from None


def _window_variables(f: dict[str, str]) -> dict[str, Any]:
    """The range as the window field takes it: a named range, or local dates (`to` inclusive)."""
    if f["range"] == "custom":
        first, last = _day(f["from"], "from"), _day(f["to"], "to")
        if last < first:
            raise InvalidRequest("to must not be before from", param="to")
        return {"range": None, "start": first.isoformat() + "T00:00:00",
                "end": (last + timedelta(days=1)).isoformat() + "T00:00:00"}
    if f["range"] not in {r.value for r in Range}:
        raise InvalidRequest("unknown range", param="range")
    return {"range": f["range"].upper(), "start": None, "end": None}


def _checked(f: dict[str, str]) -> None:
    if f["compare"] not in dict(COMPARES):
        raise InvalidRequest("compare must be previous_period or previous_year", param="compare")
    if f["interval"] and f["interval"] not in INTERVALS:
        raise InvalidRequest("interval must be hour, day, week or month", param="interval")
    if f["currency"]:
        f["currency"] = currency_code(f["currency"])


def _value(figure: dict[str, Any], currency: str | None, unit: str, metric: str) -> Any:
    """The figure over every currency (amounts converted), or in one currency: nothing of it is 0, and a rate
    of nothing is undefined (None). Figures without a currency (customers, API) are the same in every view."""
    if currency is None or metric in WITHOUT_CURRENCY or metric.startswith("api_"):
        return figure["value"]
    found = next((c for c in figure["byCurrency"] if c["currency"] == currency), None)
    if found:
        return found["value"]
    return None if unit in ("ratio", "milliseconds") else 0


def _chart(chart: Chart, series: dict[str, Any], currency: str | None, shown_in: str) -> dict[str, Any]:
    by_metric: dict[str, list[Any]] = {m: [] for m, _ in chart.metrics}
    for point in series["points"]:
        figures = {v["metric"]: v["figure"] for v in point["values"]}
        for metric in by_metric:
            by_metric[metric].append(_value(figures[metric], currency, chart.unit, metric))
    return {"key": chart.key, "title": chart.title, "section": chart.section, "kind": chart.kind, "unit": chart.unit,
            "currency": shown_in,
            "exponent": exponent(shown_in), "interval": series["interval"], "timezone": series["timezone"],
            "x": [p["start"] for p in series["points"]],
            "series": [{"metric": m, "label": label, "values": by_metric[m]} for m, label in chart.metrics]}


def _currencies(summary: dict[str, Any]) -> list[str]:
    seen = {c["currency"] for m in summary["metrics"] for side in ("current", "previous")
            for c in m[side]["byCurrency"]}
    return sorted(seen)


def _tiles(summary: dict[str, Any], currency: str | None) -> list[dict[str, Any]]:
    metrics = {m["metric"]: m for m in summary["metrics"]}
    tiles = []
    for name, label in TILES:
        m = metrics[name]
        per_currency = currency is not None and not name.startswith("api_") and name not in WITHOUT_CURRENCY
        now = _value(m["current"], currency, m["unit"], name)
        before = _value(m["previous"], currency, m["unit"], name)
        change = m["change"] if not per_currency else (
            (now - before) / abs(before) if isinstance(now, int | float) and isinstance(before, int | float) and before
            else None)
        tiles.append({"metric": name, "label": label, "unit": m["unit"], "current": now, "previous": before,
                      "change": change})
    return tiles


@dashboard_get("/analytics")
async def analytics_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    f = _filters(request.query_params)
    try:
        _checked(f)
        found = await operations.run("AnalyticsWindow", ctx, _window_variables(f))
    except InvalidRequest as exc:
        return await show(request, ctx, "LayoutPage", "analytics/analytics.html", "analytics", status=400,
                          f=f, ranges=RANGES, compares=COMPARES, intervals=INTERVALS,
                          error={"message": exc.message, "field": exc.param})
    window = found["analytics"]["window"]
    interval = f["interval"] or PAGE_INTERVALS.get(f["range"], window["interval"])
    variables = {"start": window["start"], "end": window["end"], "timezone": window["timezone"],
                 "compare": f["compare"].upper(), "interval": interval.upper(), "metrics": SERIES_METRICS}
    data = await operations.run("AnalyticsPage", ctx, variables)
    return render_page(request, "analytics/analytics.html",
                       {**data, **base_vars(ctx, data, "analytics"), **_parts(data, f), "f": f, "ranges": RANGES,
                        "compares": COMPARES, "intervals": INTERVALS, "window": window, "interval": interval})


def _parts(data: dict[str, Any], f: dict[str, str]) -> dict[str, Any]:
    """Tiles, charts and the currency choices, from the operation's data."""
    summary, series = data["analytics"]["summary"], data["analytics"]["timeseries"]
    currency = f["currency"] or None
    shown_in = currency or summary["currency"]
    zone = ZoneInfo(summary["timezone"])
    return {"tiles": _tiles(summary, currency), "shown_in": shown_in, "currencies": _currencies(summary),
            "charts": [_chart(c, series, currency, shown_in) for c in CHARTS], "lower_is_better": LOWER_IS_BETTER,
            "period_text": _span(summary["period"], zone), "comparison_text": _span(summary["comparison"], zone)}


def _span(period: dict[str, str], zone: ZoneInfo) -> str:
    """"1 Mar 2026 00:00 – 30 Nov 2026 14:15" in local time (the end is exclusive)."""
    start, end = (datetime.fromisoformat(period[k]).astimezone(zone) for k in ("start", "end"))
    return f"{start:%-d %b %Y %H:%M} – {end:%-d %b %Y %H:%M}"


HANDLERS = [analytics_page]
