"""The Benchmarks page: where the seller stands in its cohort for each metric, with the privacy note."""

from __future__ import annotations

from litestar import Request, Response

from server.benchmarks import periods
from server.permissions import read
from server.web.pages import dashboard_context, dashboard_get, show


@dashboard_get("/benchmarks")
async def benchmarks_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    period = request.query_params.get("period") or None
    if period is not None:
        periods.parse(period)  # a bad month is the error page's 400, naming the field
    return await show(request, ctx, "BenchmarksPage", "benchmarks/page.html", "benchmarks",
                      variables={"period": period, "withBudget": ctx.can(read("privacy_budget"))},
                      asked=period)


HANDLERS = [benchmarks_page]
