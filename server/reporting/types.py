"""GraphQL types of reporting: report runs (their files are downloaded over HTTP, never through GraphQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from server.gql.common import IdempotencyKeyError, ValidationError
from server.ledger.types import Long
from server.reporting.catalog import ReportType as CatalogType
from server.reporting.rows import ReportRun as RunRow
from server.reporting.serial import file_path, filename
from server.urls import public_url


@strawberry.type(description="A kind of report: what it holds and its CSV columns.")
class ReportType:
    id: str = strawberry.field(description="`balance.summary`, `balance_change_from_activity.itemized`, "
                                           "`payments.itemized` or `usage.monthly`.")
    name: str = strawberry.field(description="For people.")
    description: str = strawberry.field(description="What it holds.")
    columns: list[str] = strawberry.field(description="The CSV's columns, in order.")
    needs: str = strawberry.field(description="The right its data needs besides `reports` (e.g. `balance:read`).")

    @classmethod
    def of(cls, kind: CatalogType) -> ReportType:
        return cls(id=kind.name, name=kind.title, description=kind.description, columns=list(kind.columns),
                   needs=kind.data.label)


@strawberry.type(description="What a report covers: [intervalStart, intervalEnd) in a time zone, maybe one currency.")
class ReportParameters:
    interval_start: datetime = strawberry.field(description="First instant.")
    interval_end: datetime = strawberry.field(description="End, exclusive.")
    timezone: str = strawberry.field(description="IANA zone of local times and months in the file.")
    currency: str | None = strawberry.field(description="Only this currency; null: every currency.")


@strawberry.type(description="How far a pending run has come.")
class ReportProgress:
    rows_done: Long = strawberry.field(description="Rows written so far.")  # type: ignore[valid-type]
    rows_total: Long | None = strawberry.field(  # type: ignore[valid-type]
        description="Rows the report will have, once counted.")

    @strawberry.field(description="rowsDone ÷ rowsTotal (0–1), when known.")
    def fraction(self) -> float | None:
        return min(1.0, self.rows_done / self.rows_total) if self.rows_total else None


@strawberry.type(description="The CSV file of a succeeded run.")
class ReportFile:
    url: str = strawberry.field(description="Download it with an API key: GET this URL (text/csv).")
    path: str = strawberry.field(description="The URL's path, `/v1/reporting/report_runs/{id}/file`.")
    filename: str = strawberry.field(description="A name to save it under.")
    rows: Long = strawberry.field(description="Rows, without the header.")  # type: ignore[valid-type]
    size: Long = strawberry.field(description="Bytes.")  # type: ignore[valid-type]


@strawberry.type(description="A report asked for: pending until a background job makes its CSV, then succeeded "
                             "(with a file) or failed (with the reason).")
class ReportRun:
    id: strawberry.ID = strawberry.field(description="`frr_…`")
    livemode: bool = strawberry.field(description="The mode whose data it holds.")
    report_type: str = strawberry.field(description="Its report type's id.")
    parameters: ReportParameters = strawberry.field(description="What it covers.")
    status: str = strawberry.field(description="pending, succeeded or failed.")
    error: str | None = strawberry.field(description="Why it failed.")
    progress: ReportProgress = strawberry.field(description="Rows written so far, of how many.")
    result: ReportFile | None = strawberry.field(description="Its file, once succeeded.")
    statement_month: str | None = strawberry.field(
        description="`2026-10` for a monthly statement (made by itself when the month closed); null otherwise.")
    created: datetime = strawberry.field(description="When it was asked for.")
    started_at: datetime | None = strawberry.field(description="When a worker first took it.")
    finished_at: datetime | None = strawberry.field(description="When it succeeded or failed.")

    @classmethod
    def from_row(cls, run: RunRow) -> ReportRun:
        result = None
        if run.status == "succeeded":
            result = ReportFile(url=public_url() + file_path(run), path=file_path(run), filename=filename(run),
                                rows=run.result_rows or 0, size=run.result_bytes or 0)
        return cls(id=strawberry.ID(run.id), livemode=run.livemode, report_type=run.report_type,
                   parameters=ReportParameters(interval_start=run.interval_start, interval_end=run.interval_end,
                                               timezone=run.timezone, currency=run.currency),
                   status=run.status, error=run.error,
                   progress=ReportProgress(rows_done=run.rows_done, rows_total=run.rows_total), result=result,
                   statement_month=f"{run.statement_month:%Y-%m}" if run.statement_month else None,
                   created=run.created, started_at=run.started, finished_at=run.finished)


@strawberry.input(description="A report to run. Times: a Unix timestamp, an ISO 8601 time with an offset, or a "
                              "local date or time (`2026-10-01`) in `timezone`.")
class CreateReportRunInput:
    report_type: str = strawberry.field(description="A report type's id (see `reportTypes`).")
    interval_start: str = strawberry.field(description="First instant.")
    interval_end: str = strawberry.field(description="End, exclusive; not in the future.")
    timezone: str | None = strawberry.field(default=None, description="IANA zone; default: the account's.")
    currency: str | None = strawberry.field(default=None, description="Only this currency; default: every one.")


@strawberry.type(description="The run asked for; it is pending until a background job has made its file.")
class ReportRunPayload:
    report_run: ReportRun = strawberry.field(description="The new run.")


CreateReportRunResult = Annotated[ReportRunPayload | ValidationError | IdempotencyKeyError,
                                  strawberry.union("CreateReportRunResult")]
