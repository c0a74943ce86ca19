"""Server-sent events for the dashboard, driven by the events hub, served on a lean ASGI path.

A stream replays from the table after the client's position (the
`Last-Event-ID` the browser sends on reconnect, or the position the page was
rendered at), then follows the live fan-out; positions it has already sent
are skipped, so there is no gap and no duplicate (see hub.Subscriber).
Each message's frame (its HTML, as SSE bytes) is rendered once per process
and shared by every stream.

A stream lives for hours, so it is not served through the app's middleware
stack: every frame, context copy and send wrapper of that stack would be kept
for the connection's life and run for every event it writes (~5 KiB and most
of the per-event cost, BENCHMARKS.md "Scale-out"). `live_streams` wraps the
app's ASGI handler, ahead of routing, and serves the paths registered with
`@live_route` itself: it gives the request an id (scope state, the log
contextvar, the `Request-Id` header), refuses a query with NUL
(server.request_guard), lets the route's opener authenticate and check the
request with a Litestar `Request` that is then dropped, answers a refusal as
JSON with its status (and `Retry-After`), times the request into the HTTP
metrics, and writes the body with one small watcher for the client leaving.
The app's `before_send` hooks (security headers) still apply: they wrap the
`send` it is given.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from server import db, health, metrics, requestid
from server.context import Scope as DataScope
from server.errors import ErrorCode, PaydeckError, ServiceUnavailable
from server.events import limits
from server.events.hub import Subscriber, hub
from server.events.queries import TypeFilter
from server.events.wire import EventMessage
from server.outage import is_connection_failure
from server.request_guard import check_query
from server.settings import get_settings

log = logging.getLogger(__name__)
RETRY_MS = 1000
BATCH_FRAMES = 64
CLOCK_SLACK = 0.001  # the loop may run a timer this much early
STREAM_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
                  (b"x-accel-buffering", b"no")]

Opener = Callable[[Request], Awaitable[AsyncIterator[bytes]]]


@dataclass(frozen=True, slots=True)
class LiveRoute:
    """A GET path served as a live stream. `open` checks the request (raising a PaydeckError to refuse it) and
    returns the body; with `event_stream_only` the path is also a page, and only a client that accepts
    `text/event-stream` gets the stream (the rest go to the app)."""

    open: Opener
    event_stream_only: bool


ROUTES: dict[str, LiveRoute] = {}


def live_route(path: str, *, event_stream_only: bool = False) -> Callable[[Opener], Opener]:
    def register(opener: Opener) -> Opener:
        ROUTES[path] = LiveRoute(opener, event_stream_only)
        return opener

    return register


def last_event_id(request: Request) -> str | None:
    """Where a stream resumes. The browser's own reconnects send the header; the dashboard's client
    (web/static/live.js) passes the same id as `last_event_id` when it reconnects by itself (after a 503 or an
    error), as EventSource cannot set headers."""
    return request.headers.get("last-event-id") or request.query_params.get("last_event_id")


def live_streams(app: ASGIApp) -> ASGIApp:
    """Serve the registered live routes; pass everything else to `app` (the app's ASGI handler)."""

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        route = ROUTES.get(scope["path"])
        if route is None or (route.event_stream_only and not _accepts_event_stream(scope)):
            await app(scope, receive, send)
        elif scope["method"] != "GET":  # the app has no route of its own here: it would say 404
            await _refuse(send, _method_not_allowed(scope["method"], scope["path"]), requestid.start(scope),
                          [(b"allow", b"GET")])
        else:
            await _serve(route, scope, receive, send)

    return handler


def _accepts_event_stream(scope: Scope) -> bool:
    return any(name == b"accept" and b"text/event-stream" in value for name, value in scope["headers"])


async def _serve(route: LiveRoute, scope: Scope, receive: Receive, send: Send) -> None:
    began = time.perf_counter()
    status = 200
    request_id = requestid.start(scope)
    try:
        try:
            check_query(scope)
            with db.replica_reads(False):  # positions and sessions must be exact: a replica may be behind
                body = await route.open(Request(scope, receive))
        except Exception as exc:  # noqa: BLE001 - every failure to open is answered, as the app's handlers would
            error = _refusal(exc, scope)
            status = error.status
            await _refuse(send, error, request_id)
            return
        # What opening parsed and cached in scope state (headers, cookies, query, the principal) would otherwise
        # stay for the connection's life: the body holds what it needs.
        scope["state"] = {"request_id": request_id}
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*STREAM_HEADERS, (b"request-id", request_id.encode())]})
        await _write(body, send, receive)
    finally:
        metrics.REQUEST_SECONDS.labels(scope["path"], "GET", metrics.status_class(status)).observe(
            time.perf_counter() - began)


def _refusal(exc: Exception, scope: Scope) -> PaydeckError:
    if isinstance(exc, PaydeckError):
        return exc
    if is_connection_failure(exc):  # PostgreSQL or Redis is down or restarting: retry (server.outage)
        return ServiceUnavailable()
    log.exception("unexpected error opening the live stream %s", scope["path"], exc_info=exc)
    error = PaydeckError("an internal error occurred; the request id identifies it", code=ErrorCode.INTERNAL_ERROR)
    error.status, error.type = 500, "api_error"
    return error


def _method_not_allowed(method: str, path: str) -> PaydeckError:
    error = PaydeckError(f"{method} is not allowed on {path}: a live stream is opened with GET",
                         code=ErrorCode.HTTP_405)
    error.status = 405
    return error


async def _refuse(send: Send, exc: PaydeckError, request_id: str,
                  extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A stream that cannot open (not logged in, no permission, bad parameter, the process full, not a GET): JSON
    with the error's status, and `Retry-After` when it has one (503 at the live-connection cap)."""
    body = json.dumps({"error": {**exc.to_dict(), "request_id": request_id}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"request-id", request_id.encode()), *(extra_headers or [])]
    retry = getattr(exc, "retry_after", None)
    if retry:
        headers.append((b"retry-after", str(retry).encode()))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _write(body: AsyncIterator[bytes], send: Send, receive: Receive) -> None:
    """Send the body's chunks until it ends or the client leaves (then the body is closed here, so its own
    clean-up — leaving the hub, the live-connection count — runs now, not when it is garbage-collected)."""
    streaming = asyncio.current_task()
    assert streaming is not None
    watch = _DisconnectWatch(receive, streaming)
    try:
        async for chunk in body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not watch.left:
            raise
        streaming.uncancel()  # our own cancellation: the client is gone, the response is over
    finally:
        watch.stop()
        close = getattr(body, "aclose", None)
        if close is not None:
            await close()


class _DisconnectWatch:
    """Cancels the streaming task when the client disconnects: a task on `receive()` and a callback, no more
    (Litestar's streaming response runs a task group for this: ~3.5 KiB a connection)."""

    __slots__ = ("left", "receive", "streaming", "task")

    def __init__(self, receive: Receive, streaming: asyncio.Task) -> None:
        self.receive = receive
        self.streaming = streaming
        self.left = False
        self.task = self._arm()

    def _arm(self) -> asyncio.Future[ReceiveMessage]:
        task: asyncio.Future[ReceiveMessage] = asyncio.ensure_future(self.receive())
        task.add_done_callback(self._received)
        return task

    def _received(self, task: asyncio.Future[ReceiveMessage]) -> None:
        if task.cancelled() or task.exception() is not None:
            return  # stopped, or a broken receive: the stream ends by itself at its next write
        if task.result()["type"] == "http.disconnect":
            self.left = True
            self.streaming.cancel()
        else:
            self.task = self._arm()  # the (empty) request body: keep listening

    def stop(self) -> None:
        self.task.cancel()


def frame(event: str, event_id: str, html: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\nid: {event_id}\n{lines}\n".encode()


async def stream(scope: DataScope, types: TypeFilter, after_pos: int | None,
                 render: Callable[[EventMessage], str], variant: str) -> AsyncIterator[bytes]:
    """SSE bytes: `event: event` frames whose data is `render(message)`, id = the event id.

    A keep-alive comment once PAYDECK_LIVE_HEARTBEAT_SECONDS pass without a write keeps data in flight, so a
    half-open connection's unacknowledged bytes end it (TCP_USER_TIMEOUT, server.webpool.bind) and the stream
    stops.
    """
    yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
    # Catching up reads the primary: a replica behind the live stream would leave a gap.
    with limits.live.held(), db.replica_reads(False):
        async with hub().subscribe(scope, types, after_pos) as subscriber:
            heartbeat = Heartbeat(subscriber, get_settings().live_heartbeat_seconds)
            try:
                while not health.draining.is_set():
                    try:
                        message = await subscriber.next_or_poked()
                    except StopAsyncIteration:
                        return
                    if message is None:  # the heartbeat's poke: nothing written for a whole period
                        heartbeat.wrote()
                        yield b": keep-alive\n\n"
                        continue
                    frames = [_frame_of(message, render, variant)]
                    # Whatever else is already waiting goes in the same write: a busy process writes fewer, larger
                    # chunks instead of falling behind one frame per event per client.
                    while len(frames) < BATCH_FRAMES and (more := subscriber.next_nowait()) is not None:
                        frames.append(_frame_of(more, render, variant))
                    heartbeat.wrote()
                    yield frames[0] if len(frames) == 1 else b"".join(frames)
            finally:
                heartbeat.cancel()


class Heartbeat:
    """Pokes a subscriber once `every` seconds pass without a write.

    One timer per stream, re-armed only when it fires: a write just notes the time. (A timeout around each
    wait scheduled and cancelled a timer per event per stream: at 1,000 streams x 50 events/s, 50,000 timers a
    second.)"""

    __slots__ = ("every", "handle", "last", "loop", "subscriber")

    def __init__(self, subscriber: Subscriber, every: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.subscriber = subscriber
        self.every = every
        self.last = self.loop.time()
        self.handle = self.loop.call_at(self.last + every, self._due)

    def wrote(self) -> None:
        self.last = self.loop.time()

    def _due(self) -> None:
        now = self.loop.time()
        if now - self.last >= self.every - CLOCK_SLACK:
            self.subscriber.poke()
            self.last = now  # the poke's keep-alive is on its way: the next one is a period from now
        self.handle = self.loop.call_at(self.last + self.every, self._due)

    def cancel(self) -> None:
        self.handle.cancel()


def _frame_of(message: EventMessage, render: Callable[[EventMessage], str], variant: str) -> bytes:
    """The message's frame, rendered once per process and variant and shared by every stream."""
    key = ("sse", variant)
    cached = message.cache.get(key)
    if cached is None:
        cached = message.cache[key] = frame("event", message.id, render(message))
    return cached
