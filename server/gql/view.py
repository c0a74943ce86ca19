"""GraphQL over HTTP and WebSocket at /graphql, and GraphiQL served with vendored assets."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.types import Scope as ASGIScope
from strawberry.exceptions import ConnectionRejectionError
from strawberry.litestar import make_graphql_controller
from strawberry.litestar.controller import BaseContext

from server import sessions
from server.auth import build_context, context_for_websocket
from server.context import RequestContext
from server.errors import PaydeckError
from server.schema import schema
from server.web.render import render_page


class GraphQLContext(BaseContext, kw_only=True):
    """Strawberry's Litestar context, carrying our RequestContext."""

    ctx: RequestContext
    connection_params: Any = None


async def graphql_context(scope: ASGIScope) -> GraphQLContext:
    connection: ASGIConnection = ASGIConnection(scope)
    if scope["type"] == "websocket":
        return GraphQLContext(ctx=RequestContext(request=connection))
    resolved = scope.get("state", {}).get("paydeck_ctx")  # set by the idempotency middleware
    return GraphQLContext(ctx=resolved or await build_context(connection))


_Base = make_graphql_controller(schema, path="/graphql", context_getter=graphql_context,
                                multipart_uploads_enabled=False, keep_alive=True, keep_alive_interval=15)


class GraphQLController(_Base):  # type: ignore[misc,valid-type]
    def parse_json(self, data: str | bytes) -> Any:
        # Strawberry assumes an object (or a batch list); a JSON scalar would crash it with a 500.
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "the request body must be a JSON object with a \"query\" string")
        return parsed

    async def render_graphql_ide(self, request: Request[Any, Any, Any]) -> Response[str]:
        session = await sessions.load(request.cookies.get(sessions.COOKIE))
        return render_page(request, "graphiql.html", {"csrf_token": session.csrf if session else ""})

    async def on_ws_connect(self, context: GraphQLContext) -> Any:
        connection = context.ctx.request
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        uses_cookie = not any(k in params for k in ("Authorization", "authorization", "apiKey"))
        if uses_cookie and not _same_origin(connection):
            raise ConnectionRejectionError({"message": "cross-origin subscription with a session cookie"})
        try:
            resolved = await context_for_websocket(connection, params)
        except PaydeckError as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from None
        if not resolved.authenticated:
            raise ConnectionRejectionError({"message": "authentication required: send an API key in "
                                            "connection_init ({\"Authorization\": \"Bearer sk_…\"}) or log in"})
        context.ctx = resolved
        return {"accountId": resolved.scope.account_id, "livemode": resolved.scope.livemode}


def _same_origin(connection: ASGIConnection) -> bool:
    origin = connection.headers.get("origin")
    if origin is None:
        return True  # not a browser
    host = connection.headers.get("host", "")
    return origin.split("://", 1)[-1] == host
