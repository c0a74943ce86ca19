"""REST: GET /v1/benchmarks and GET /v1/benchmarks/privacy_budget."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide

from server.benchmarks import service
from server.benchmarks.results import benchmarks_json, budget_json
from server.context import RequestContext
from server.errors import InvalidRequest
from server.rest import api_context

PARAMS = {"period"}


def _period(request: Request) -> str | None:
    unknown = sorted(set(request.query_params.keys()) - PARAMS)
    if unknown:
        raise InvalidRequest(f"unknown query parameter '{unknown[0]}'", param=unknown[0])
    return request.query_params.get("period")


class BenchmarkController(Controller):
    path = "/v1/benchmarks"
    tags = ["benchmarks"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/", summary="The seller's benchmarks for a released month")
    async def retrieve(self, request: Request, ctx: RequestContext) -> dict[str, Any]:
        return benchmarks_json(await service.benchmarks(ctx, _period(request)))

    @get("/privacy_budget", summary="The account's privacy budget ledger for a released month")
    async def privacy_budget(self, request: Request, ctx: RequestContext) -> dict[str, Any]:
        return budget_json(await service.privacy_budget(ctx, _period(request)))
