"""The Reports page: run a report, watch its progress, download its CSV; monthly statements; CSV exports.

A pending run's row polls `/reports/runs/{id}` every second (htmx) until it has succeeded or failed. Files
and exports stream straight from PostgreSQL (`service.file`, `service.export_*`), never through GraphQL;
everything shown on the page comes from stored operations.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar import Request, Response
from litestar.response import Stream

from server import clock, operations
from server.analytics.buckets import parse_time, zone
from server.context import RequestContext
from server.errors import InvalidRequest, NotFound
from server.reporting import service
from server.reporting.downloads import csv_response, log_filter
from server.reporting.serial import filename
from server.web.forms import submit
from server.web.pages import base_vars, dashboard_context, dashboard_get, dashboard_post, redirect
from server.web.render import render_page

PERIODS = [("last_month", "Last month"), ("this_month", "This month so far"), ("last_7_days", "Last 7 days"),
           ("custom", "Custom dates")]


def _date(form: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(str(form.get(name) or "").strip())
    except ValueError:
        raise InvalidRequest(f"{name} must be a date (YYYY-MM-DD)", param=name) from None


def interval(form: dict[str, Any], now: datetime) -> tuple[str, str]:
    """The form's period as the run's interval: local dates (a whole day or month in the run's zone), or now."""
    tz = zone(str(form.get("timezone") or "UTC"), "timezone")
    today = now.astimezone(tz).date()
    this_month = today.replace(day=1)
    period = form.get("period") or "last_month"
    if period == "last_month":
        return (this_month - timedelta(days=1)).replace(day=1).isoformat(), this_month.isoformat()
    if period == "this_month":
        return this_month.isoformat(), now.astimezone(UTC).isoformat()
    if period == "last_7_days":
        return (today - timedelta(days=7)).isoformat(), today.isoformat()
    if period == "custom":
        first, last = _date(form, "from"), _date(form, "to")
        end = (last + timedelta(days=1)).isoformat() if last < today else now.astimezone(UTC).isoformat()
        return first.isoformat(), end
    raise InvalidRequest("unknown period", param="period")


def _variables(form: dict[str, Any]) -> dict[str, Any]:
    start, end = interval(form, clock.now())
    return {"input": {"reportType": str(form.get("report_type") or ""), "intervalStart": start, "intervalEnd": end,
                      "timezone": str(form.get("timezone") or "").strip() or None,
                      "currency": str(form.get("currency") or "").strip() or None}}


async def _page(request: Request, ctx: RequestContext, status: int = 200, **extra: Any) -> Response:
    data = await operations.run("ReportsPage", ctx)
    return render_page(request, "reporting/reports.html",
                       {**data, **base_vars(ctx, data, "reports"), "periods": PERIODS,
                        "statements": _statements(data["statements"]["nodes"]), **extra}, status=status)


def _statements(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statement runs grouped by month, newest first: [{month, runs: {report type: run}}]."""
    months: dict[str, dict[str, Any]] = {}
    for run in runs:
        months.setdefault(run["statementMonth"], {})[run["reportType"]] = run
    return [{"month": m, "label": datetime.strptime(m, "%Y-%m").strftime("%B %Y"), "runs": months[m]}
            for m in sorted(months, reverse=True)]


@dashboard_get("/reports")
async def reports_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    return await _page(request, ctx, form={})


@dashboard_post("/reports")
async def create_report(request: Request) -> Response:
    return await submit(request, "CreateReportRun", _variables,
                        page=lambda ctx, status, error, form: _page(request, ctx, status=status, error=error,
                                                                    form=form),
                        then=lambda _: redirect(request, "/reports"))


@dashboard_get("/reports/runs/{run_id:str}")
async def report_run_row(request: Request, run_id: str) -> Response:
    """One run's row: a pending run's row asks for itself again every second, until it is done."""
    ctx = await dashboard_context(request)
    data = await operations.run("ReportRunRow", ctx, {"id": run_id})
    if data["reportRun"] is None:
        raise NotFound(f"no report run '{run_id[:60]}' in this mode")
    return render_page(request, "reporting/_run.html", {"run": data["reportRun"]})


@dashboard_get("/reports/runs/{run_id:str}/download")
async def download_report(request: Request, run_id: str) -> Stream:
    ctx = await dashboard_context(request)
    run, chunks = await service.file(ctx, run_id)
    return csv_response(filename(run), chunks)


def _days(query: Any) -> tuple[datetime | None, datetime | None]:
    """`from` and `to` (local dates, both included), or the API's `created[gte]` and `created[lt]`."""
    if query.get("from") or query.get("to"):
        first = _date(query, "from") if query.get("from") else None
        last = _date(query, "to") if query.get("to") else None
        return (datetime.combine(first, datetime.min.time()) if first else None,
                datetime.combine(last + timedelta(days=1), datetime.min.time()) if last else None)
    return parse_time(query.get("created[gte]"), "created[gte]"), parse_time(query.get("created[lt]"), "created[lt]")


@dashboard_get("/payments/export.csv")
async def export_payments(request: Request) -> Stream:
    """Payments as CSV: `from`/`to` (days in the account's zone, both included) and `status`."""
    ctx = await dashboard_context(request)
    gte, lt = _days(request.query_params)
    export = await service.export_payments(ctx, created_gte=gte, created_lt=lt,
                                           status=request.query_params.get("status") or None)
    return csv_response(export.filename, aiter(export.stream))


@dashboard_get("/logs/export.csv")
async def export_request_logs(request: Request) -> Stream:
    """API requests as CSV: `from`/`to` (days) or `created[gte]`/`created[lt]`, and the log's status, method,
    path and key filters (not its text search)."""
    ctx = await dashboard_context(request)
    gte, lt = _days(request.query_params)
    f = log_filter({k: v for k, v in request.query_params.items() if k not in ("created[gte]", "created[lt]")})
    export = await service.export_request_logs(ctx, replace(f, since=gte, until=lt))
    return csv_response(export.filename, aiter(export.stream))


HANDLERS = [reports_page, create_report, report_run_row, download_report, export_payments, export_request_logs]
