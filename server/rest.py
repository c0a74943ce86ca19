"""What every /v1 controller shares: the API-key context, JSON shapes of lists."""

from __future__ import annotations

from typing import Any

from litestar import Request

from server.auth import build_context
from server.context import RequestContext
from server.errors import AuthenticationFailed, ErrorCode
from server.pagination import Page


async def api_context(request: Request) -> RequestContext:
    """/v1 is for API keys: `Authorization: Bearer sk_…`.

    The idempotency middleware may already have resolved the context; it is reused.
    """
    ctx = request.scope.get("state", {}).get("paydeck_ctx") or await build_context(request)
    if not ctx.principal.is_key:
        raise AuthenticationFailed(
            "no API key given: send 'Authorization: Bearer <secret key>' (keys are on the dashboard's API keys page)",
            code=ErrorCode.API_KEY_MISSING,
        )
    return ctx


def list_body(page: Page[Any], convert, url: str) -> dict[str, Any]:
    return {"object": "list", "url": url, "data": [convert(item) for item in page.items],
            "has_more": page.has_more, "next_cursor": page.next_cursor}
