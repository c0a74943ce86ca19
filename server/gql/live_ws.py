"""graphql-transport-ws at /graphql, purpose-built for many live subscribers.

Strawberry's WebSocket handler runs each subscription through a chain of async generators and extension hooks
per subscriber and event, and keeps a handler, an operation task, a Litestar WebSocket and per-operation
extensions for each connection: one process could not send 50,000 messages/s, nor hold 10,000 connections at
25 KiB each (BENCHMARKS.md "Scale-out"). This raw-ASGI handler takes a WebSocket on /graphql when the client
would get graphql-transport-ws from Strawberry (the first of its offered protocols that Strawberry speaks), and:

- speaks the protocol as Strawberry's handler does: the same origin check before accepting, the same
  connection_init authentication (server.gql.view.authenticate_websocket), messages, close codes and reasons
  (4400 bad message, 4401 subscribe before the ack, 4403 refused, 4408 no init within 60 s, 4409 duplicate id,
  4429 second init), ping/pong and complete;
- serves an eligible subscription (server.gql.live_plans: one directive-free `events` or `paymentUpdated` field)
  from the events hub with one small task, sending each event's payload serialised once per process;
- runs everything else (queries and mutations over the socket, other subscriptions, every error) through
  Strawberry's schema, so those results are exactly Strawberry's.

Per connection it keeps a slotted object and one task per live operation, nothing per event. When the process
drains, it closes every socket (1012, "service restart"), so clients reconnect to another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, cast

from graphql import ExecutionResult as CoreResult
from graphql import GraphQLError, GraphQLSyntaxError
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send, WebSocketCloseEvent
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.websocket_origin import is_same_origin
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types.execution import ExecutionResult, PreExecutionError

from server import health
from server.context import RequestContext
from server.events.hub import hub
from server.gql.live_plans import LivePlan, plan_for, serialise
from server.gql.view import GraphQLContext, ack_payload, authenticate_websocket
from server.permissions import read
from server.schema import schema
from server.settings import get_settings
from server.urls import remember_request

log = logging.getLogger(__name__)
PROTOCOL = "graphql-transport-ws"
STRAWBERRY_PROTOCOLS = (PROTOCOL, "graphql-ws")
INIT_WAIT_SECONDS = 60.0
MAX_OPERATIONS = 100  # Strawberry's max_subscriptions_per_connection
POLICY_VIOLATION = 1008
SERVICE_RESTART = 1012


class Stats:
    """Connections this process's live path has served (tests tell it from Strawberry's handler by it)."""

    connections = 0


def live_ws(app: ASGIApp) -> ASGIApp:
    """Middleware: graphql-transport-ws connections to /graphql are served here; everything else passes on."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.WEBSOCKET and scope["path"].rstrip("/") == "/graphql" and _ours(scope) \
                and get_settings().graphql_live_ws:
            Stats.connections += 1
            await Connection(scope, receive, send).run()
        else:
            await app(scope, receive, send)

    return middleware


def _ours(scope: Scope) -> bool:
    """Strawberry would pick graphql-transport-ws: the first offered protocol it speaks."""
    for offered in cast("list[str]", scope.get("subprotocols") or []):
        if offered in STRAWBERRY_PROTOCOLS:
            return offered == PROTOCOL
    return False


class Connection:
    """One graphql-transport-ws connection: its state and its operations (a task each)."""

    __slots__ = ("acked", "closed", "context", "ctx", "init_received", "operations", "receive", "scope", "send")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope, self.receive, self.send = scope, receive, send
        self.init_received = self.acked = self.closed = False
        self.ctx: RequestContext | None = None
        self.context: GraphQLContext | None = None  # Strawberry's, made when an operation first needs it
        self.operations: dict[Any, asyncio.Task[None]] = {}

    async def run(self) -> None:
        if (await self.receive())["type"] != "websocket.connect":
            return
        if not _origin_allowed(self.scope):
            await self.send(_close_event(POLICY_VIOLATION, ""))  # before accepting: the handshake's HTTP 403
            return
        await self.send({"type": "websocket.accept", "subprotocol": PROTOCOL, "headers": []})
        _open.add(self)
        _watch_drain()
        try:  # read here, not in a method of its own: one coroutine frame less for as long as the socket lives
            if await self._initialised():
                while await self._on(await self.receive()):
                    pass  # no message is held between two: a held connection keeps none of what it was sent
        finally:
            _open.discard(self)
            self.closed = True
            await self._end_operations()

    async def _initialised(self) -> bool:
        """Messages until connection_init (within INIT_WAIT_SECONDS, else 4408); False when the socket is over."""
        deadline = asyncio.get_running_loop().time() + INIT_WAIT_SECONDS
        while not self.init_received:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await self.receive()
            except TimeoutError:
                await self.close(4408, "Connection initialisation timeout")
                return False
            if not await self._on(message):
                return False
        return True

    async def _on(self, message: ReceiveMessage) -> bool:
        """Handle one received message; False when the connection is over."""
        if message["type"] == "websocket.disconnect":
            return False
        text = message.get("text")
        # A binary frame; Strawberry's Litestar adapter takes an empty text for one, too.
        if not isinstance(text, str) or not text:
            await self.close(4400, "WebSocket message type must be text")
            return False
        try:
            data = json.loads(text)
        except ValueError:
            await self.close(4400, "WebSocket message must be valid JSON")
            return False
        await self._handle(data)
        return not self.closed

    async def _handle(self, message: Any) -> None:
        try:
            if not isinstance(message, dict):
                raise KeyError("type")
            kind = message["type"]
            if kind == "connection_init":
                await self._init(message)
            elif kind == "ping":
                await self.send_json({"type": "pong"})
            elif kind == "pong":
                pass
            elif kind == "subscribe":
                await self._subscribe(message)
            elif kind == "complete":
                self._cancel(message["id"])
            else:
                await self.close(4400, f"Unknown message type: {kind}")
        except (KeyError, TypeError):
            await self.close(4400, "Failed to parse message")

    async def _init(self, message: dict[str, Any]) -> None:
        payload = message.get("payload", {})
        if not isinstance(payload, dict):
            await self.close(4400, "Invalid connection init payload")
            return
        if self.init_received:
            await self.close(4429, "Too many initialisation requests")
            return
        self.init_received = True
        try:
            self.ctx = await authenticate_websocket(ASGIConnection(self.scope), payload)
        except ConnectionRejectionError:
            await self.close(4403, "Forbidden")
            return
        await self.send_json({"type": "connection_ack", "payload": ack_payload(self.ctx)})
        self.acked = True

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if not self.acked or self.ctx is None:
            await self.close(4401, "Unauthorized")
            return
        op_id = message["id"]
        if op_id in self.operations:
            await self.close(4409, f"Subscriber for {op_id} already exists")
            return
        if len(self.operations) >= MAX_OPERATIONS:
            await self.send_json({"id": op_id, "type": "error",
                                  "payload": [GraphQLError("Subscription limit reached").formatted]})
            return
        payload = message["payload"]
        query, variables, name = payload["query"], payload.get("variables"), payload.get("operationName")
        plan = plan_for(query, name, variables) if self.ctx.can(read("events")) else None
        work = self._live(op_id, plan) if plan is not None else self._strawberry(op_id, query, variables, name)
        self.operations[op_id] = asyncio.create_task(work)

    async def _live(self, op_id: Any, plan: LivePlan) -> None:
        """Events from the hub, each payload serialised once per process; complete when the hub ends it."""
        assert self.ctx is not None
        prefix = '{"id":' + json.dumps(op_id) + ',"type":"next","payload":'
        async with hub().subscribe(self.ctx.scope, plan.types) as subscriber:
            async for message in subscriber:
                try:  # the frame is a temporary: the connection keeps no text between events
                    sent = await self.send_text(prefix + await plan.payload(message) + "}")
                except Exception as exc:  # as Strawberry: the error as a result, then the stream ends
                    log.exception("a live subscription failed on event %s", message.id)
                    await self.send_json({"id": op_id, "type": "next", "payload": json.loads(
                        serialise(CoreResult(data=None, errors=[_as_graphql_error(exc)])))})
                    break
                if not sent:
                    return
        await self._finish(op_id, {"id": op_id, "type": "complete"})

    async def _strawberry(self, op_id: Any, query: Any, variables: Any, name: Any) -> None:
        """Any other operation, run by Strawberry's schema and sent as its graphql-transport-ws handler does."""
        remember_request(self.scope)  # this task's own context: links in results name the host asked
        try:
            source = await schema.stream(query, variable_values=variables, context_value=self._context(),
                                         operation_name=name)
            async with contextlib.aclosing(source):
                first = True
                async for result in source:
                    if first and isinstance(result, PreExecutionError):
                        await self._refuse(op_id, result.errors or [])
                        return
                    if not isinstance(result, ExecutionResult):
                        await self._finish(op_id, {"id": op_id, "type": "error", "payload": [GraphQLError(
                            "Incremental delivery is not supported over graphql-transport-ws").formatted]})
                        return
                    await self.send_json({"id": op_id, "type": "next", "payload": _next_payload(result)})
                    first = False
            await self._finish(op_id, {"id": op_id, "type": "complete"})
        except Exception:  # logged, and the operation completes, as in Strawberry's handler
            log.exception("a GraphQL operation over the WebSocket failed")
            await self._finish(op_id, {"id": op_id, "type": "complete"})

    async def _refuse(self, op_id: Any, errors: list[GraphQLError]) -> None:
        """An operation that could not start: a syntax error or no operation type closes the socket, as
        Strawberry's handler does; other errors are the operation's `error` message."""
        reason = _close_reason(errors[0]) if errors else None
        if reason is not None:
            self._forget(op_id)
            await self.close(4400, reason)
            return
        await self._finish(op_id, {"id": op_id, "type": "error", "payload": [e.formatted for e in errors]})

    def _context(self) -> GraphQLContext:
        if self.context is None:
            assert self.ctx is not None
            self.context = GraphQLContext(ctx=self.ctx)
        return self.context

    def _forget(self, op_id: Any) -> None:
        """De-register the finishing operation (its id may be reused at once), unless it was replaced."""
        if self.operations.get(op_id) is asyncio.current_task():
            del self.operations[op_id]

    async def _finish(self, op_id: Any, message: dict[str, Any]) -> None:
        self._forget(op_id)
        await self.send_json(message)

    def _cancel(self, op_id: Any) -> None:
        task = self.operations.pop(op_id, None)
        if task is not None:
            task.cancel()

    async def _end_operations(self) -> None:
        tasks = list(self.operations.values())
        self.operations.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:  # each leaves the hub in its own clean-up
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task

    async def send_json(self, message: dict[str, Any]) -> bool:
        return await self.send_text(json.dumps(message, separators=(",", ":")))

    async def send_text(self, text: str) -> bool:
        """False once the socket is closed or gone."""
        if self.closed:
            return False
        try:
            await self.send({"type": "websocket.send", "text": text, "bytes": None})
        except OSError:  # uvicorn's ClientDisconnected: the client left
            self.closed = True
            return False
        return True

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            await self.send(_close_event(code, reason))


def _close_event(code: int, reason: str) -> WebSocketCloseEvent:
    return {"type": "websocket.close", "code": code, "reason": reason}


def _origin_allowed(scope: Scope) -> bool:
    """Strawberry's check before accepting (no `allowed_origins` configured): no Origin, or the same origin.
    Read from the raw headers: Litestar's Headers would be kept in the scope for the connection's life."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    return _header(scope, b"sec-fetch-site") == "same-origin" or is_same_origin(origin, _header(scope, b"host"))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _close_reason(error: GraphQLError) -> str | None:
    if isinstance(error, GraphQLSyntaxError):
        return error.message
    if isinstance(error.original_error, CannotGetOperationTypeError):
        return error.original_error.as_http_error_reason()
    return None


def _next_payload(result: ExecutionResult) -> dict[str, Any]:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


def _as_graphql_error(exc: Exception) -> GraphQLError:
    return exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)


_open: set[Connection] = set()  # this process's accepted connections, closed when it drains
_watcher: asyncio.Task[None] | None = None


def _watch_drain() -> None:
    global _watcher
    if _watcher is None or _watcher.done() or _watcher.get_loop() is not asyncio.get_running_loop():
        _watcher = asyncio.create_task(_close_on_drain(), name="graphql-ws-drain")


async def _close_on_drain() -> None:
    """While the process drains, close every socket (and any that opens meanwhile): clients reconnect to another
    process. The hub ends the live operations at the same moment."""
    while _open:
        await health.draining.wait()
        for connection in list(_open):
            await connection.close(SERVICE_RESTART, "service restart")
        while health.draining.is_set() and _open:  # noqa: ASYNC110 - an Event cannot await being cleared
            await asyncio.sleep(0.5)
