"""The API-log live tail: new log rows of one account and mode, pushed to the logs page over SSE.

The log writer publishes each flushed batch to `apilogs:tail:<account>:<mode>`
(server/apilogs/writer.py). Every process receives those messages on the
events hub's one Redis subscription (hub.LISTENERS), parses each once and
hands the items to its local tails; a row's HTML is rendered once per process
and shared by every tail that shows it.

A tail is a live connection like an events stream: counted against
PAYDECK_MAX_LIVE_CONNECTIONS, kept alive every PAYDECK_LIVE_HEARTBEAT_SECONDS
(so a half-open connection ends, server.webpool), ended when the process
drains. Each row's SSE id is its log id. A client that reconnects with
`Last-Event-ID` (or `last_event_id`, web/static/live.js) first gets the rows
that started from RESUME_SLACK before that row on (up to one page): a request
still running when the row was shown is logged later with an earlier start,
so the window reaches back; the page skips rows it already shows
(`data-sse-id`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from server import health
from server.apilogs.writer import TAIL_CHANNEL
from server.events import hub, limits
from server.ids import id_time
from server.settings import get_settings

log = logging.getLogger(__name__)
PATTERN = TAIL_CHANNEL.split("{", 1)[0] + "*"
PENDING_AT_MOST = 1_000  # rows waiting for one slow client; older ones are dropped (the search still has them)
RESUME_SLACK = timedelta(seconds=60)
RETRY_MS = 1000

Item = dict[str, Any]


class Tail:
    """One client's tail: the rows of its channel it has not sent yet, and a future to wake it."""

    __slots__ = ("accepts", "channel", "closed", "pending", "waiter")

    def __init__(self, channel: str, accepts: Callable[[Item], bool]) -> None:
        self.channel = channel
        self.accepts = accepts
        self.pending: deque[Item] = deque(maxlen=PENDING_AT_MOST)
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False

    def offer(self, items: list[Item]) -> None:
        added = False
        for item in items:
            if self.accepts(item):
                self.pending.append(item)
                added = True
        if added:
            self.wake()

    def close(self) -> None:
        self.closed = True
        self.wake()

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait(self) -> None:
        """Until rows are pending or the tail is closed."""
        if self.pending or self.closed:
            return
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def __enter__(self) -> Tail:
        feed.tails.setdefault(self.channel, set()).add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        tails = feed.tails.get(self.channel)
        if tails is not None:
            tails.discard(self)
            if not tails:
                del feed.tails[self.channel]


class TailFeed:
    """This process's tails by channel; fed by the events hub's subscription (a hub.Listener)."""

    pattern = PATTERN

    def __init__(self) -> None:
        self.tails: dict[str, set[Tail]] = {}

    def deliver(self, channel: str, data: Any) -> None:
        tails = self.tails.get(channel)
        if not tails:
            return
        try:
            items = json.loads(data)
        except ValueError:
            log.warning("ignoring a malformed API-log tail message")
            return
        for tail in list(tails):
            tail.offer(items)

    def resubscribed(self) -> None:
        pass  # a tail shows what arrives; rows it missed are in the API-log table, where a reload finds them

    def close_all(self) -> None:
        for tails in list(self.tails.values()):
            for tail in list(tails):
                tail.close()

    @property
    def connections(self) -> int:
        return sum(len(tails) for tails in self.tails.values())


feed = TailFeed()
hub.LISTENERS.append(feed)


def channel_of(account_id: str, livemode: bool) -> str:
    return TAIL_CHANNEL.format(account_id=account_id, mode="live" if livemode else "test")


def resume_since(last_event_id: str | None) -> datetime | None:
    """Where a resumed tail's catch-up starts: RESUME_SLACK before the last row's start; None: no resume."""
    if not last_event_id:
        return None
    started = id_time(last_event_id)
    return None if started is None else started - RESUME_SLACK


def frame(row_id: str, html: str) -> bytes:
    return f"event: log\nid: {row_id}\ndata: {html.replace(chr(10), ' ')}\n\n".encode()


async def stream(tail: Tail, read_missed: Callable[[], Awaitable[list[tuple[str, str]]]],
                 render: Callable[[Item], str]) -> AsyncIterator[bytes]:
    """SSE bytes of one tail: the rows `read_missed` returns first (id, html), then live rows as they come,
    keep-alives between."""
    keepalive = get_settings().live_heartbeat_seconds
    with limits.live.held(), tail:
        # Joined before the table read: a row flushed meanwhile comes live as well (the page skips repeats).
        missed = await read_missed()
        yield f"retry: {RETRY_MS}\n: tail started\n\n".encode()
        if missed:
            yield b"".join(frame(row_id, html) for row_id, html in missed)
        while not health.draining.is_set() and not tail.closed:
            try:
                async with asyncio.timeout(keepalive):
                    await tail.wait()
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            frames = []
            while tail.pending:
                item = tail.pending.popleft()
                frames.append(_frame_of(item, render))
            if frames:
                yield b"".join(frames)


def _frame_of(item: Item, render: Callable[[Item], str]) -> bytes:
    """The row's frame, rendered once per process however many tails show it (items are shared)."""
    cached = item.get("_frame")
    if cached is None:
        cached = item["_frame"] = frame(item["id"], render(item))
    return cached
