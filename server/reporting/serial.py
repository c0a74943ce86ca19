"""The one JSON shape of a report run: REST bodies, event snapshots and (through events) webhooks."""

from __future__ import annotations

from typing import Any

from server.analytics.buckets import zone
from server.reporting.rows import ReportRun
from server.urls import public_url


def file_path(run: ReportRun) -> str:
    return f"/v1/reporting/report_runs/{run.id}/file"


def _unix(value: Any) -> int | None:
    return int(value.timestamp()) if value is not None else None


def filename(run: ReportRun) -> str:
    """`balance.summary-20261001-20261101.csv` (local dates), or `statement-2026-10-balance.summary-live.csv`."""
    if run.statement_month is not None:
        return f"statement-{run.statement_month:%Y-%m}-{run.report_type}-{'live' if run.livemode else 'test'}.csv"
    tz = zone(run.timezone)
    return f"{run.report_type}-{run.interval_start.astimezone(tz):%Y%m%d}-{run.interval_end.astimezone(tz):%Y%m%d}.csv"


def run_json(run: ReportRun) -> dict[str, Any]:
    result = None
    if run.status == "succeeded":
        result = {"object": "file", "url": public_url() + file_path(run), "filename": filename(run),
                  "content_type": "text/csv", "rows": run.result_rows, "size": run.result_bytes}
    return {
        "id": run.id, "object": "reporting.report_run", "livemode": run.livemode, "report_type": run.report_type,
        "parameters": {"interval_start": _unix(run.interval_start), "interval_end": _unix(run.interval_end),
                       "timezone": run.timezone, "currency": run.currency.lower() if run.currency else None},
        "status": run.status, "error": run.error,
        "progress": {"rows_done": run.rows_done, "rows_total": run.rows_total},
        "result": result,
        "statement_month": f"{run.statement_month:%Y-%m}" if run.statement_month else None,
        "created": _unix(run.created), "started_at": _unix(run.started), "finished_at": _unix(run.finished),
    }
