"""GraphQL queries of seller benchmarks: thin, over `server.benchmarks.service`."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from server.benchmarks import service
from server.benchmarks import types as t
from server.gql.common import ctx_of, one_or_none


@strawberry.type
class BenchmarkQuery:
    @strawberry.field(description="The seller's benchmarks for a released month (YYYY-MM; default the latest): "
                                  "its cohort's differentially private quartiles, its own value and position "
                                  "(needs view_analytics). Null when that month was not released.")
    async def benchmarks(self, info: Info, period: str | None = None) -> t.Benchmarks | None:
        return await one_or_none(t.Benchmarks.of, service.benchmarks(ctx_of(info), period))

    @strawberry.field(description="The account's privacy budget ledger for a month (YYYY-MM; default the latest "
                                  "released): which release spent what on its data (needs admin).")
    async def privacy_budget(self, info: Info, period: str | None = None) -> t.PrivacyBudget:
        return t.PrivacyBudget.of(await service.privacy_budget(ctx_of(info), period))

    @strawberry.field(description="The privacy parameters (k, ε, the monthly cap) and every metric's clipping "
                                  "bounds, as releases are made now (needs view_analytics).")
    def benchmark_policy(self, info: Info) -> t.BenchmarkPolicy:
        return t.BenchmarkPolicy.of(service.policy(ctx_of(info)))
