"""Server-sent events for the dashboard, driven by the events hub.

A stream replays from the table after the client's position (the
`Last-Event-ID` the browser sends on reconnect, or the position the page was
rendered at), then follows the live fan-out; positions it has already sent
are skipped, so there is no gap and no duplicate (see hub.Subscriber).
Each message's HTML is rendered once per process and shared by every stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from server import db, health
from server.context import Scope
from server.events import limits
from server.events.hub import hub
from server.events.queries import TypeFilter
from server.events.wire import EventMessage
from server.settings import get_settings

RETRY_MS = 1000


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
                key = ("sse", variant)
                cached = message.cache.get(key)
                if cached is None:
                    cached = message.cache[key] = frame("event", message.id, render(message))
                yield cached
