"""The dashboard's home: today's numbers and the live feed of events."""

from __future__ import annotations

from litestar import Request, Response

from server.events import service as events
from server.events.pages import stream_url
from server.permissions import read
from server.web.pages import dashboard_context, dashboard_get, show


@dashboard_get("/")
async def home(request: Request) -> Response:
    ctx = await dashboard_context(request)
    since = await events.stream_position(ctx)  # before the page's query: the live feed continues from here
    block = "today" if request.query_params.get("part") == "today" else None  # the numbers refresh themselves
    return await show(request, ctx, "HomePage", "accounts/home.html", "home",
                      {"withAnalytics": ctx.can(read("analytics")), "withBalance": ctx.can(read("balance"))},
                      block=block,
                      stream_url=stream_url([], since))


HANDLERS = [home]
