"""GraphQL over HTTP and WebSocket at /graphql, and GraphiQL served with vendored assets."""

from __future__ import annotations

from typing import Any

import msgspec
from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import Scope as ASGIScope
from strawberry.exceptions import ConnectionRejectionError
from strawberry.litestar import make_graphql_controller
from strawberry.litestar.controller import BaseContext

from server import db, sessions, textcheck
from server.auth import build_context, context_for_websocket
from server.context import RequestContext
from server.errors import ErrorCode, InvalidRequest, PaydeckError
from server.gql.loaders import Loaders
from server.schema import schema
from server.web.render import render_page


class GraphQLContext(BaseContext, kw_only=True):
    """Strawberry's Litestar context, carrying our RequestContext."""

    ctx: RequestContext
    loaders: Loaders | None = None  # per HTTP request; none on a WebSocket (see loaders_of)
    connection_params: Any = None


async def graphql_context(scope: ASGIScope) -> GraphQLContext:
    connection: ASGIConnection = ASGIConnection(scope)
    if scope["type"] == ScopeType.WEBSOCKET:
        return GraphQLContext(ctx=RequestContext(request=connection))
    ctx = scope.get("state", {}).get("paydeck_ctx") or await build_context(connection)  # idempotency sets it
    return GraphQLContext(ctx=ctx, loaders=Loaders(ctx))


_Base = make_graphql_controller(schema, path="/graphql", context_getter=graphql_context,
                                multipart_uploads_enabled=False, keep_alive=True, keep_alive_interval=15)


class GraphQLController(_Base):  # type: ignore[misc,valid-type]  # a class Strawberry makes at run time
    def parse_json(self, data: str | bytes) -> Any:
        """The request body (POST) or the `variables` parameter (GET): JSON, not too deep, an object or a batch."""
        if not data.strip():
            raise InvalidRequest("the request body is empty: send a JSON object with a \"query\" string", param="body",
                                 code=ErrorCode.PARAMETER_INVALID)
        try:
            parsed = msgspec.json.decode(data)
        except RecursionError:
            raise InvalidRequest(f"the JSON sent is nested too deeply: at most {textcheck.MAX_JSON_DEPTH} levels of "
                                 "objects and arrays are accepted", param="body",
                                 code=ErrorCode.PARAMETER_INVALID) from None
        except (msgspec.DecodeError, UnicodeDecodeError):
            raise InvalidRequest("the JSON sent is not valid JSON", param="body",
                                 code=ErrorCode.PARAMETER_INVALID) from None
        textcheck.check_tree(parsed, text=False)
        # Strawberry assumes an object (or a batch list); a JSON scalar would crash it with a 500.
        if not isinstance(parsed, dict | list):
            raise InvalidRequest("the request body must be a JSON object with a \"query\" string", param="body",
                                 code=ErrorCode.PARAMETER_INVALID)
        return parsed

    async def execute_operation(self, **kwargs: Any) -> Any:
        requests = kwargs["request_data"] if isinstance(kwargs["request_data"], list) else [kwargs["request_data"]]
        for data in requests:
            if data.protocol == "http" and is_subscription(data.query, data.operation_name):
                raise InvalidRequest("subscriptions are served over a WebSocket at /graphql (graphql-transport-ws), "
                                     "not over HTTP", param="query", code=ErrorCode.PARAMETER_INVALID)
        reads_only = db.routes_reads() and all(
            operation_type(data.query, data.operation_name) is OperationType.QUERY for data in requests)
        with db.replica_reads(reads_only):  # a query may read a replica (server.replicas.router)
            return await super().execute_operation(**kwargs)

    async def execute_request(self, request: Request[Any, Any, Any], context: Any, root_value: Any) -> Response[Any]:
        """Strawberry's refusals (no query, a mutation over GET...) in the one JSON error shape, not plain text."""
        try:
            return await self.run(request, context=context, root_value=root_value)
        except HTTPException as exc:
            error = PaydeckError(exc.reason, param=_param_named_in(exc.reason), code=ErrorCode.of_http(exc.status_code))
            error.status = exc.status_code
            raise error from None

    async def render_graphql_ide(self, request: Request[Any, Any, Any]) -> Response[str]:
        session = await sessions.load(request.cookies.get(sessions.COOKIE))
        return render_page(request, "graphiql.html", {"csrf_token": session.csrf if session else ""})

    async def on_ws_connect(self, context: GraphQLContext) -> Any:
        context.ctx = await authenticate_websocket(context.ctx.request, context.connection_params)
        return ack_payload(context.ctx)


async def authenticate_websocket(connection: ASGIConnection, connection_params: Any) -> RequestContext:
    """Who a graphql-transport-ws connection_init speaks for; ConnectionRejectionError (close 4403) if no one.

    Shared by Strawberry's WebSocket handler and server.gql.live_ws, so both accept and refuse alike."""
    params = connection_params if isinstance(connection_params, dict) else {}
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
    return resolved


def ack_payload(ctx: RequestContext) -> dict[str, Any]:
    """connection_ack's payload: the account and mode the connection is scoped to."""
    return {"accountId": ctx.scope.account_id, "livemode": ctx.scope.livemode}


def is_subscription(query: str | None, operation_name: str | None) -> bool:
    if not query or "subscription" not in query:
        return False
    return operation_type(query, operation_name) is OperationType.SUBSCRIPTION


def operation_type(query: str | None, operation_name: str | None) -> OperationType | None:
    """What the document's chosen operation is; None when it cannot be told (Strawberry reports why)."""
    if not query:
        return None
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return None
    return operation.operation if operation is not None else None


def _param_named_in(reason: str) -> str | None:
    for name in ("query", "variables", "extensions", "operationName"):
        if f"`{name}`" in reason or f" {name} " in f" {reason.lower()} ":
            return name
    return None


def _same_origin(connection: ASGIConnection) -> bool:
    origin = connection.headers.get("origin")
    if origin is None:
        return True  # not a browser
    host = connection.headers.get("host", "")
    return origin.split("://", 1)[-1] == host
