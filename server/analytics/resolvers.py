"""GraphQL: `analytics { window summary timeseries apiUsage topCodes }`, over `server.analytics.service`.

Every field reads a range: `range` (in `timezone`, default the account's) or `start` and `end`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from server.analytics import service
from server.analytics import types as t
from server.analytics.results import Window
from server.gql.common import ctx_of
from server.permissions import read


def _asked_metrics(info: Info) -> set[str] | None:
    """The metric names a summary's selection asks for through `metric(name:)`, or None when it reads `metrics`
    (every one) or names one in a way not known before running (then every figure is computed)."""
    names: set[str] = set()

    def walk(selections: list[Any]) -> bool:
        for sel in selections:
            if isinstance(sel, SelectedField):
                if sel.name == "metrics":
                    return False
                if sel.name == "metric":
                    name = sel.arguments.get("name")
                    if not isinstance(name, str):
                        return False
                    names.add(name)
            elif not walk(sel.selections):  # a fragment, spread or inline
                return False
        return True

    return names if all(walk(field.selections) for field in info.selected_fields) else None


async def _window(info: Info, range: t.AnalyticsRange | None, start: datetime | None, end: datetime | None,
                  timezone: str | None) -> Window:
    return await service.window(ctx_of(info), range=range.value if range else None, start=start, end=end,
                                timezone=timezone)


@strawberry.type(description="Usage analytics of the current account and mode, from rollups kept within a second "
                             "of each commit. Each field reads `range` or `start` and `end`.")
class Analytics:
    @strawberry.field(description="The bounds and chart interval of a range (a named range resolved now).")
    async def window(self, info: Info, range: t.AnalyticsRange | None = None, start: datetime | None = None,
                     end: datetime | None = None, timezone: str | None = None) -> t.AnalyticsWindow:
        return t.AnalyticsWindow.of(await _window(info, range, start, end, timezone))

    @strawberry.field(description="Every metric over the range, against the previous period or the previous year.")
    async def summary(self, info: Info, range: t.AnalyticsRange | None = None, start: datetime | None = None,
                      end: datetime | None = None, timezone: str | None = None, currency: str | None = None,
                      compare: t.AnalyticsCompare = t.AnalyticsCompare.PREVIOUS_PERIOD) -> t.AnalyticsSummary:
        w = await _window(info, range, start, end, timezone)
        return t.AnalyticsSummary.of(await service.summary(ctx_of(info), w.start, w.end, timezone=w.timezone,
                                                           currency=currency, compare=compare.value,
                                                           only=_asked_metrics(info)))

    @strawberry.field(description="Chosen metrics (default: all) per local period; `interval` defaults to the "
                                  "range's own. `endpoint` / `apiKey` narrow the API metrics.")
    async def timeseries(self, info: Info, range: t.AnalyticsRange | None = None, start: datetime | None = None,
                         end: datetime | None = None, timezone: str | None = None,
                         interval: t.AnalyticsInterval | None = None, metrics: list[str] | None = None,
                         currency: str | None = None, endpoint: str | None = None,
                         api_key: str | None = None) -> t.AnalyticsTimeseries:
        w = await _window(info, range, start, end, timezone)
        series = await service.timeseries(ctx_of(info), w.start, w.end, interval=interval.value if interval
                                          else w.interval, timezone=w.timezone, metrics=metrics, currency=currency,
                                          endpoint=endpoint, api_key_id=api_key)
        return t.AnalyticsTimeseries.of(series)

    @strawberry.field(description="Requests, error rate and latency p50/p95/p99 per endpoint group or API key; "
                                  "`compare: null` for no comparison.")
    async def api_usage(self, info: Info, range: t.AnalyticsRange | None = None, start: datetime | None = None,
                        end: datetime | None = None, timezone: str | None = None,
                        group_by: t.ApiUsageGroup = t.ApiUsageGroup.ENDPOINT,
                        compare: t.AnalyticsCompare | None = t.AnalyticsCompare.PREVIOUS_PERIOD) -> t.ApiUsage:
        w = await _window(info, range, start, end, timezone)
        usage = await service.api_breakdown(ctx_of(info), w.start, w.end, group_by=group_by.value,
                                            timezone=w.timezone, compare=compare.value if compare else None)
        return t.ApiUsage.of(usage)

    @strawberry.field(description="The most frequent decline codes (failed payments) or API error codes.")
    async def top_codes(self, info: Info, range: t.AnalyticsRange | None = None, start: datetime | None = None,
                        end: datetime | None = None, timezone: str | None = None,
                        kind: t.CodeKind = t.CodeKind.DECLINE, limit: int = 10) -> t.TopCodes:
        w = await _window(info, range, start, end, timezone)
        return t.TopCodes.of(await service.top_codes(ctx_of(info), w.start, w.end, kind=kind.value, limit=limit))


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(description="Usage analytics: summaries against a previous period, time series, API usage "
                                  "and top codes (needs view_analytics, or `analytics: read` on a restricted key).")
    def analytics(self, info: Info) -> Analytics:
        ctx_of(info).require(read("analytics"))
        return Analytics()
