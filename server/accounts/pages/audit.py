"""The audit log: security-relevant actions, newest first."""

from __future__ import annotations

from litestar import Request, Response

from server.web.pages import dashboard_context, dashboard_get, show


@dashboard_get("/audit")
async def audit_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    after = request.query_params.get("after")
    return await show(request, ctx, "AuditPage", "accounts/audit.html", "audit", {"after": after},
                      block="rows" if after else None)


HANDLERS = [audit_page]
