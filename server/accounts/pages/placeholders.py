"""Pages of the areas still to come: each says what will be there."""

from __future__ import annotations

from litestar import Request, Response

from server.web.pages import dashboard_context, dashboard_get, show

PLACEHOLDERS = {
    "radar": ("Radar", "Fraud rules and the review queue arrive after payments."),
    "analytics": ("Analytics", "Charts of volume and API traffic arrive after payments."),
    "reports": ("Reports", "Monthly usage reports and CSV exports arrive after payments."),
}


def _placeholder(key: str):
    area, note = PLACEHOLDERS[key]

    @dashboard_get(f"/{key}", name=f"placeholder-{key}")
    async def handler(request: Request) -> Response:
        ctx = await dashboard_context(request)
        return await show(request, ctx, "LayoutPage", "placeholder.html", key, area=area, note=note)

    return handler


HANDLERS = [_placeholder(key) for key in PLACEHOLDERS]
