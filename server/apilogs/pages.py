"""The API logs page: search and filters in the URL, infinite scroll, detail, live tail (SSE), chart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from jinja2_fragments import render_block
from litestar import Request, Response

from server import clock, db, operations
from server.apilogs import tail
from server.context import RequestContext
from server.errors import InvalidRequest
from server.events import limits, sse
from server.instants import parse_instant
from server.permissions import read
from server.web.pages import dashboard_context, dashboard_get, show
from server.web.render import env

PRESETS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(hours=24),
           "7d": timedelta(days=7), "30d": timedelta(days=30)}
FILTER_PARAMS = ("q", "status", "method", "path", "key", "error_type", "idempotency_key", "source", "object",
                 "range", "from", "to")


def _when(raw: str, name: str) -> datetime:
    when = parse_instant(raw, name)
    assert when is not None, "callers pass a value"
    return when


def parse_filters(params: Any) -> tuple[dict[str, Any], str | None, datetime, datetime, dict[str, str]]:
    """GraphQL filter, search text, chart range and the raw values (to refill the form and build links)."""
    raw = {k: str(params.get(k) or "").strip() for k in FILTER_PARAMS}
    raw["range"] = raw["range"] or "24h"
    now = clock.now()
    if raw["range"] == "custom":
        since = _when(raw["from"], "from") if raw["from"] else now - PRESETS["24h"]
        until = _when(raw["to"], "to") if raw["to"] else now
    else:
        since, until = now - PRESETS.get(raw["range"], PRESETS["24h"]), now + timedelta(minutes=1)
    flt: dict[str, Any] = {"createdGte": since.isoformat(), "createdLt": until.isoformat()}
    if raw["status"]:
        flt["status"] = [s.strip() for s in raw["status"].split(",") if s.strip()]
    for form_name, gql_name in (("method", "method"), ("path", "pathPrefix"), ("key", "apiKeyId"),
                                ("error_type", "errorType"), ("idempotency_key", "idempotencyKey"),
                                ("source", "source"), ("object", "objectId")):
        if raw[form_name]:
            flt[gql_name] = raw[form_name].upper() if form_name == "method" else raw[form_name]
    return flt, raw["q"] or None, since, until, {k: v for k, v in raw.items() if v}


def _query_string(raw: dict[str, str], **extra: str) -> str:
    return urlencode({**raw, **extra})


@dashboard_get("/logs")
async def logs_page(request: Request) -> Response:
    return await _logs(request, request.query_params.get("tail") == "1")


async def _logs(request: Request, tail: bool) -> Response:
    ctx = await dashboard_context(request)
    raw = {k: str(request.query_params.get(k) or "").strip() for k in FILTER_PARAMS}
    try:
        flt, query, since, until, raw = parse_filters(request.query_params)
        after = request.query_params.get("after")
        if after:  # infinite scroll: the next rows only
            data = await operations.run("LogsRows", ctx, {"filter": flt, "query": query, "after": after})
            body = render_block(env, "apilogs/logs.html", "rows", request=request, apiRequests=data["apiRequests"],
                                qs=_query_string(raw), raw=raw)
            return Response(body, media_type="text/html")
        return await show(request, ctx, "LogsPage", "apilogs/logs.html", "logs",
                          {"filter": flt, "query": query, "since": since.isoformat(), "until": until.isoformat()},
                          block="results", raw=raw, qs=_query_string(raw), tail=tail,
                          tail_qs=_query_string(raw, tail="1"), presets=list(PRESETS))
    except InvalidRequest as exc:
        # A filter the search refuses: the page again, the filters as typed, the reason where results go.
        return await show(request, ctx, "LayoutPage", "apilogs/logs.html", "logs", block="results", status=400,
                          error={"message": exc.message, "field": exc.param}, raw=raw, qs="", tail=False,
                          tail_qs="", presets=list(PRESETS))


@dashboard_get("/logs/{log_id:str}")
async def log_detail(request: Request, log_id: str) -> Response:
    ctx = await dashboard_context(request)
    data = await operations.run("ApiRequestDetail", ctx, {"id": log_id})
    status = 200 if data["apiRequest"] else 404
    return await show(request, ctx, "ApiRequestDetail", "apilogs/detail.html", "logs", {"id": log_id},
                      block="detail", status=status)


def _matches(item: dict[str, Any], raw: dict[str, str]) -> bool:
    """The live tail applies the structured filters (not the search text) to each new record."""
    if raw.get("method") and item["method"] != raw["method"].upper():
        return False
    if raw.get("path") and not item["path"].startswith(raw["path"]):
        return False
    if raw.get("source") and item["source"] != raw["source"]:
        return False
    if raw.get("key") and item.get("api_key_id") != raw["key"]:
        return False
    if raw.get("error_type") and item.get("error_type") != raw["error_type"]:
        return False
    if raw.get("status"):
        wanted = [s.strip().lower() for s in raw["status"].split(",")]
        code = str(item["status"])
        if not any(w == code or (w.endswith("xx") and w[0] == code[0]) for w in wanted):
            return False
    return True


@dashboard_get("/logs/tail")
async def logs_tail(request: Request) -> Response:
    """The logs page with the live tail on (opened as a page rather than by an EventSource)."""
    return await _logs(request, tail=True)


@sse.live_route("/logs/tail", event_stream_only=True)
async def open_tail(request: Request) -> AsyncIterator[bytes]:
    """Server-sent events: one `log` event (a table row) per new record of this account and mode.

    A live connection like the events stream (server/apilogs/tail.py), served by server.events.sse's lean path
    to a client that accepts `text/event-stream`: capped per process (503 + Retry-After), kept alive, resumed
    after `Last-Event-ID`.
    """
    ctx = await dashboard_context(request)
    scope = ctx.require(read("request_logs"))
    flt, _, _, _, raw = parse_filters(request.query_params)
    limits.live.admit()  # a full process answers 503 with Retry-After; the browser retries (elsewhere)
    feed_tail = tail.Tail(tail.channel_of(scope.account_id, scope.livemode), lambda item: _matches(item, raw))
    last_event_id = sse.last_event_id(request)
    return tail.stream(feed_tail, lambda: _missed_rows(ctx, flt, last_event_id), _render_live_row)


async def _missed_rows(ctx: RequestContext, flt: dict[str, Any], last_event_id: str | None) -> list[tuple[str, str]]:
    """The rows a resumed tail may have missed (id, html), oldest first: the page prepends each in turn."""
    since, now = tail.resume_since(last_event_id), clock.now()
    if since is None or since > now:
        return []
    window = {**flt, "createdGte": since.isoformat(), "createdLt": (now + timedelta(minutes=1)).isoformat()}
    try:
        # The primary: rows flushed while the client was away were published before it came back, so a replica
        # that has not replayed them yet would leave a gap nothing fills.
        with db.replica_reads(False):
            data = await operations.run("LogsRows", ctx, {"filter": window, "query": None})
    except InvalidRequest:  # filters the page refuses (it shows why); the live rows still follow them
        return []
    template = env.get_template("apilogs/row.html")
    return [(row["id"], template.render(r=row, live=True)) for row in reversed(data["apiRequests"]["nodes"])]


def _render_live_row(item: dict[str, Any]) -> str:
    return env.get_template("apilogs/row.html").render(
        r={**item, "startedAt": item["started_at"], "durationMs": item["duration_ms"],
           "operationName": item["operation_name"], "errorType": item["error_type"]}, live=True)


HANDLERS = [logs_tail, logs_page, log_detail]
