"""REST: /v1/reporting/report_runs (ask, retrieve, list, download) and /report_types; /v1/exports (CSV).

Files and exports are CSV streamed from PostgreSQL (`text/csv`, `Content-Disposition: attachment`), never
built in memory and never through GraphQL.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.response import Stream

from server.analytics.buckets import parse_time
from server.context import RequestContext
from server.errors import InvalidRequest
from server.pagination import decode_cursor, parse_limit
from server.reporting import service
from server.reporting.catalog import ReportType
from server.reporting.downloads import CSV, csv_response, log_filter
from server.reporting.serial import filename, run_json
from server.rest import api_context, list_body


class ReportParameters(msgspec.Struct, forbid_unknown_fields=True):
    """A time is a Unix timestamp, an ISO 8601 time with an offset, or a local date or time in `timezone`."""

    interval_start: int | str | None = None  # required: the service says so, naming it
    interval_end: int | str | None = None
    timezone: str | None = None  # IANA name; default: the account's
    currency: str | None = None  # ISO 4217; default: every currency


class ReportRunCreate(msgspec.Struct, forbid_unknown_fields=True):
    report_type: str
    parameters: ReportParameters


def _flag(raw: str | None, param: str) -> bool | None:
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise InvalidRequest(f"{param} must be true or false", param=param)


def _unknown(request: Request, allowed: set[str]) -> Any:
    query = request.query_params
    extra = sorted(set(query.keys()) - allowed)
    if extra:
        raise InvalidRequest(f"unknown query parameter '{extra[0][:60]}'", param=extra[0][:60])
    return query


def type_json(kind: ReportType) -> dict[str, Any]:
    return {"id": kind.name, "object": "reporting.report_type", "name": kind.title, "description": kind.description,
            "columns": list(kind.columns), "needs": kind.data.label}


class ReportRunController(Controller):
    path = "/v1/reporting"
    tags = ["reporting"]
    dependencies = {"ctx": Provide(api_context)}

    @post("/report_runs", status_code=200, summary="Ask for a report: a background job makes its CSV")
    async def create(self, ctx: RequestContext, data: ReportRunCreate) -> dict[str, Any]:
        parameters = {k: v for k, v in msgspec.structs.asdict(data.parameters).items() if v is not None}
        return run_json(await service.create(ctx, data.report_type, parameters))

    @get("/report_runs", summary="List report runs, newest first")
    async def list_runs(self, request: Request, ctx: RequestContext) -> dict[str, Any]:
        query = _unknown(request, {"limit", "cursor", "statements", "report_type"})
        page = await service.list_runs(ctx, parse_limit(query.get("limit")), decode_cursor(query.get("cursor")),
                                       statements=_flag(query.get("statements"), "statements"),
                                       report_type_name=query.get("report_type") or None)
        return list_body(page, run_json, "/v1/reporting/report_runs")

    @get("/report_runs/{run_id:str}", summary="Retrieve a report run: its status, progress and file")
    async def retrieve(self, ctx: RequestContext, run_id: str) -> dict[str, Any]:
        return run_json(await service.get(ctx, run_id))

    @get("/report_runs/{run_id:str}/file", summary="Download a succeeded run's CSV", media_type=CSV)
    async def download(self, ctx: RequestContext, run_id: str) -> Stream:
        run, chunks = await service.file(ctx, run_id)
        return csv_response(filename(run), chunks)

    @get("/report_types", summary="The report types and their CSV columns")
    async def types(self, ctx: RequestContext) -> dict[str, Any]:
        kinds = service.report_types(ctx)
        return {"object": "list", "url": "/v1/reporting/report_types", "data": [type_json(k) for k in kinds],
                "has_more": False, "next_cursor": None}


class ExportController(Controller):
    path = "/v1/exports"
    tags = ["exports"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/payment_intents", summary="Payment intents as CSV, oldest first (streamed)", media_type=CSV)
    async def payments(self, request: Request, ctx: RequestContext) -> Stream:
        query = _unknown(request, {"created[gte]", "created[lt]", "status", "currency", "timezone"})
        export = await service.export_payments(
            ctx, created_gte=parse_time(query.get("created[gte]"), "created[gte]"),
            created_lt=parse_time(query.get("created[lt]"), "created[lt]"), status=query.get("status") or None,
            currency=query.get("currency") or None, timezone=query.get("timezone") or None)
        return csv_response(export.filename, aiter(export.stream))

    @get("/request_logs", summary="API requests as CSV, oldest first (streamed; no bodies)", media_type=CSV)
    async def request_logs(self, request: Request, ctx: RequestContext) -> Stream:
        query = _unknown(request, {"created[gte]", "created[lt]", "status", "method", "path", "api_key",
                                   "timezone"})
        export = await service.export_request_logs(ctx, log_filter(query), timezone=query.get("timezone") or None)
        return csv_response(export.filename, aiter(export.stream))
