"""GraphQL: report runs and types (queries), and asking for a run (mutation). Files are downloaded over HTTP."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from server.gql.common import Connection, Edge, PageInfo, ctx_of, first_arg, one_or_none
from server.pagination import decode_cursor, encode_cursor
from server.reporting import service
from server.reporting import types as t


@strawberry.type
class ReportingQuery:
    @strawberry.field(description="Report runs of this mode, newest first; `statements` keeps only the monthly "
                                  "statements (true) or leaves them out (false).")
    async def report_runs(self, info: Info, first: int | None = None, after: str | None = None,
                          statements: bool | None = None, report_type: str | None = None) -> Connection[t.ReportRun]:
        page = await service.list_runs(ctx_of(info), first_arg(first), decode_cursor(after, "after"),
                                       statements=statements, report_type_name=report_type)
        nodes = [t.ReportRun.from_row(run) for run in page.items]
        return Connection(edges=[Edge(cursor=encode_cursor(run.id), node=node) for run, node in
                                 zip(page.items, nodes, strict=True)], nodes=nodes,
                          page_info=PageInfo(has_next_page=page.has_more, end_cursor=page.next_cursor))

    @strawberry.field(description="One report run of this mode.")
    async def report_run(self, info: Info, id: strawberry.ID) -> t.ReportRun | None:
        return await one_or_none(t.ReportRun.from_row, service.get(ctx_of(info), str(id)))

    @strawberry.field(description="The report types and their CSV columns.")
    def report_types(self, info: Info) -> list[t.ReportType]:
        return [t.ReportType.of(kind) for kind in service.report_types(ctx_of(info))]


@strawberry.type
class ReportingMutation:
    @strawberry.mutation(description="Ask for a report; a background job makes its CSV (follow `status`).")
    async def create_report_run(self, info: Info, input: t.CreateReportRunInput) -> t.CreateReportRunResult:
        parameters = {"interval_start": input.interval_start, "interval_end": input.interval_end,
                      "timezone": input.timezone, "currency": input.currency}
        run = await service.create(ctx_of(info), input.report_type,
                                   {k: v for k, v in parameters.items() if v is not None})
        return t.ReportRunPayload(report_run=t.ReportRun.from_row(run))
