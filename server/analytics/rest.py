"""REST: /v1/analytics/summary, /timeseries, /api_usage and /top_codes, over `server.analytics.service`.

Every route reads a range: `range` (today, last_7_days, last_4_weeks, last_12_months, in `timezone`) or
`start` and `end` (Unix seconds or ISO 8601). Unknown parameters are refused, naming them.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide

from server.analytics import service
from server.analytics.buckets import parse_time
from server.analytics.results import ApiBreakdown, Summary, Timeseries, TopCodes, Window
from server.context import RequestContext
from server.errors import InvalidRequest
from server.pagination import parse_limit
from server.rest import api_context

RANGE_PARAMS = {"range", "start", "end", "timezone"}
API_COMPARE = ("previous_period", "previous_year", "none")


def _params(request: Request, *allowed: str) -> Any:
    query = request.query_params
    unknown = sorted(set(query.keys()) - RANGE_PARAMS - set(allowed))
    if unknown:
        raise InvalidRequest(f"unknown query parameter '{unknown[0][:60]}'", param=unknown[0][:60])
    return query


def _text(query: Any, name: str) -> str | None:
    value = query.get(name)
    return value if value else None


async def _window(ctx: RequestContext, query: Any) -> Window:
    return await service.window(ctx, range=_text(query, "range"), start=parse_time(query.get("start"), "start"),
                                end=parse_time(query.get("end"), "end"), timezone=_text(query, "timezone"))


def _metrics(query: Any) -> list[str] | None:
    names = [n.strip() for value in query.getall("metrics", []) for n in value.split(",") if n.strip()]
    return names or None


class AnalyticsController(Controller):
    path = "/v1/analytics"
    tags = ["analytics"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/summary", summary="Every metric over a range, against the previous period or year")
    async def summary(self, request: Request, ctx: RequestContext) -> Summary:
        query = _params(request, "currency", "compare")
        window = await _window(ctx, query)
        return await service.summary(ctx, window.start, window.end, timezone=window.timezone,
                                     currency=_text(query, "currency"),
                                     compare=_text(query, "compare") or "previous_period")

    @get("/timeseries", summary="Chosen metrics per local hour, day, week or month")
    async def timeseries(self, request: Request, ctx: RequestContext) -> Timeseries:
        query = _params(request, "metrics", "interval", "currency", "endpoint", "api_key")
        window = await _window(ctx, query)
        return await service.timeseries(ctx, window.start, window.end, interval=_text(query, "interval")
                                        or window.interval, timezone=window.timezone, metrics=_metrics(query),
                                        currency=_text(query, "currency"), endpoint=_text(query, "endpoint"),
                                        api_key_id=_text(query, "api_key"))

    @get("/api_usage", summary="API requests, errors and latency percentiles per endpoint or API key")
    async def api_usage(self, request: Request, ctx: RequestContext) -> ApiBreakdown:
        query = _params(request, "group_by", "compare")
        window = await _window(ctx, query)
        compare = _text(query, "compare") or "previous_period"
        if compare not in API_COMPARE:
            raise InvalidRequest(f"compare must be {', '.join(API_COMPARE)}", param="compare")
        return await service.api_breakdown(ctx, window.start, window.end, group_by=_text(query, "group_by")
                                           or "endpoint", timezone=window.timezone,
                                           compare=None if compare == "none" else compare)

    @get("/top_codes", summary="The most frequent decline codes (payments) or error codes (API requests)")
    async def top_codes(self, request: Request, ctx: RequestContext) -> TopCodes:
        query = _params(request, "kind", "limit")
        window = await _window(ctx, query)
        return await service.top_codes(ctx, window.start, window.end, kind=_text(query, "kind") or "decline",
                                       limit=parse_limit(query.get("limit")))
