"""Server-sent events for the dashboard, driven by the events hub.

A stream replays from the table after the client's position (the
`Last-Event-ID` the browser sends on reconnect, or the position the page was
rendered at), then follows the live fan-out; positions it has already sent
are skipped, so there is no gap and no duplicate (see hub.Subscriber).
Each message's HTML is rendered once per process and shared by every stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from litestar import Request, Response
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import Receive, Send

from server import db, health
from server.context import Scope
from server.errors import PaydeckError
from server.events import limits
from server.events.hub import hub
from server.events.queries import TypeFilter
from server.events.wire import EventMessage
from server.settings import get_settings

RETRY_MS = 1000
BATCH_FRAMES = 64
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def last_event_id(request: Request) -> str | None:
    """Where a stream resumes. The browser's own reconnects send the header; the dashboard's client
    (web/static/live.js) passes the same id as `last_event_id` when it reconnects by itself (after a 503 or an
    error), as EventSource cannot set headers."""
    return request.headers.get("last-event-id") or request.query_params.get("last_event_id")


def refused(exc: PaydeckError) -> Response:
    """A stream that cannot open (not logged in, no permission, bad parameter, the process full): JSON with the
    error's status, and `Retry-After` when it has one (503 at the live-connection cap)."""
    retry = getattr(exc, "retry_after", None)
    return Response({"error": exc.to_dict()}, status_code=exc.status,
                    headers={"Retry-After": str(retry)} if retry else None)


def response(body: AsyncIterator[bytes]) -> LiveStream:
    return LiveStream(body, media_type="text/event-stream", headers=HEADERS)


def frame(event: str, event_id: str, html: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\nid: {event_id}\n{lines}\n".encode()


async def stream(scope: Scope, types: TypeFilter, after_pos: int | None,
                 render: Callable[[EventMessage], str], variant: str) -> AsyncIterator[bytes]:
    """SSE bytes: `event: event` frames whose data is `render(message)`, id = the event id.

    A keep-alive comment every PAYDECK_LIVE_HEARTBEAT_SECONDS keeps data in flight, so a half-open
    connection's unacknowledged bytes end it (TCP_USER_TIMEOUT, server.webpool.bind) and the stream stops.
    """
    keepalive = get_settings().live_heartbeat_seconds
    yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
    # Catching up reads the primary: a replica behind the live stream would leave a gap.
    with limits.live.held(), db.replica_reads(False):
        async with hub().subscribe(scope, types, after_pos) as subscriber:
            while not health.draining.is_set():
                try:
                    async with asyncio.timeout(keepalive):
                        message = await anext(subscriber)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                except StopAsyncIteration:
                    return
                frames = [_frame_of(message, render, variant)]
                # Whatever else is already waiting goes in the same write: a busy process writes fewer, larger
                # chunks instead of falling behind one frame per event per client.
                while len(frames) < BATCH_FRAMES and (more := subscriber.next_nowait()) is not None:
                    frames.append(_frame_of(more, render, variant))
                yield frames[0] if len(frames) == 1 else b"".join(frames)


def _frame_of(message: EventMessage, render: Callable[[EventMessage], str], variant: str) -> bytes:
    """The message's frame, rendered once per process and variant and shared by every stream."""
    key = ("sse", variant)
    cached = message.cache.get(key)
    if cached is None:
        cached = message.cache[key] = frame("event", message.id, render(message))
    return cached


class LiveStream(Stream):
    """A `Stream` for connections that live for hours: the same bytes, a lighter way to notice the client left.

    Written against Litestar 2.25 (`ASGIStreamingResponse._stream` and its `iterator` slot; tests/events cover it).
    Litestar's streaming response runs the body and a disconnect listener in an anyio task group (a task,
    cancel scopes, an event: ~3.5 KiB a connection, BENCHMARKS.md "Scale-out"). Here one small task waits
    for the disconnect and cancels the streaming task.
    """

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        response = super().to_asgi_response(*args, **kwargs)
        response.__class__ = _DisconnectWatchingResponse  # same slots: only send_body differs
        return response


class _DisconnectWatchingResponse(ASGIStreamingResponse):
    __slots__ = ()

    async def send_body(self, send: Send, receive: Receive) -> None:
        streaming = asyncio.current_task()
        assert streaming is not None
        left = False

        async def watch() -> None:
            nonlocal left
            while (await receive())["type"] != "http.disconnect":
                pass
            left = True
            streaming.cancel()

        watcher = asyncio.create_task(watch())
        try:
            await self._stream(send)
        except asyncio.CancelledError:
            if not left:
                raise
            streaming.uncancel()  # our own cancellation: the client is gone, the response is over
        finally:
            watcher.cancel()
            # Cancelled inside `send`, the body generator was never closed: close it now, so its own clean-up
            # (leaving the hub, the live-connection count) runs here and not whenever it is garbage-collected.
            close = getattr(self.iterator, "aclose", None)
            if close is not None:
                await close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher  # its failure (a broken receive) is over with the response; don't leave it unread
