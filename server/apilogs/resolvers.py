"""GraphQL queries of the API request log."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from server.apilogs import service
from server.apilogs import types as t
from server.apilogs.filters import LogFilter
from server.gql.common import Connection, connection, ctx_of, first_arg, one_or_none
from server.permissions import read


def _filter(value: t.ApiRequestFilter | None) -> LogFilter:
    return value.to_filter() if value else LogFilter()


@strawberry.type
class ApiLogQuery:
    @strawberry.field(description="API requests of the current account and mode, newest first; `query` searches "
                                  "request ids, paths, operation names, error messages and bodies.")
    async def api_requests(self, info: Info, filter: t.ApiRequestFilter | None = None, query: str | None = None,
                           first: int | None = None, after: str | None = None) -> Connection[t.ApiRequest]:
        page = await service.search(ctx_of(info), _filter(filter), query, first_arg(first), after)
        return connection(page, t.ApiRequest.from_row)

    @strawberry.field(description="One API request by its request id (`req_…`).")
    async def api_request(self, info: Info, id: strawberry.ID) -> t.ApiRequest | None:
        return await one_or_none(t.ApiRequest.from_row, service.get(ctx_of(info), str(id)))

    @strawberry.field(description="Requests and errors per minute (or longer buckets for long ranges).")
    async def api_request_series(self, info: Info, filter: t.ApiRequestFilter | None = None,
                                 query: str | None = None, since: datetime | None = None,
                                 until: datetime | None = None) -> t.ApiRequestSeries:
        result = await service.series(ctx_of(info), _filter(filter), query, since, until)
        return t.ApiRequestSeries(bucket_seconds=result.bucket_seconds,
                                  points=[t.ApiRequestPoint(**p) for p in result.points])

    @strawberry.field(description="The search engine in use and its indexing lag.")
    async def api_request_search_status(self, info: Info) -> t.ApiRequestSearchStatus:
        ctx_of(info).require(read(service.RESOURCE))
        lag = await service.engine().lag()
        return t.ApiRequestSearchStatus(engine=lag["engine"], lag_records=lag["lag_records"],
                                        lag_seconds=lag["lag_seconds"])
