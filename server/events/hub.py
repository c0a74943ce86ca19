"""Live fan-out inside one process: one Redis subscription, many local subscribers.

The hub holds a single pattern subscription to every event channel, parses
each message once and offers it to the local subscribers of that account and
mode (GraphQL subscriptions and SSE streams alike), so 10K connections cost
10K small in-memory queues, not 10K Redis subscriptions.

A subscriber never misses an event of its scope published after it
subscribed, and never sees one twice: it remembers the last position it
passed on and skips anything at or below it. When it cannot rely on the live
stream — it resumes after a `Last-Event-ID`, its queue overflowed because
its client is slow, or the hub lost its Redis connection — it catches up from
the events table by position (`after_position`) and then continues live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from server import health
from server.context import Scope
from server.events import queries
from server.events.queries import TypeFilter
from server.events.wire import CHANNEL_PATTERN, EventMessage

log = logging.getLogger(__name__)
QUEUE_SIZE = 256
CATCH_UP_BATCH = 500


class Subscriber:
    """One live consumer: an async iterator of `EventMessage`s of its scope, in position order."""

    def __init__(self, hub: Hub, scope: Scope, types: TypeFilter, after_pos: int | None) -> None:
        self.hub = hub
        self.scope = scope
        self.types = types
        self.last_pos = hub.max_pos if after_pos is None else after_pos
        self.catch_up = after_pos is not None
        self.queue: asyncio.Queue[EventMessage | None] = asyncio.Queue(QUEUE_SIZE)
        self.backlog: deque[EventMessage] = deque()
        self.closed = False

    def offer(self, message: EventMessage) -> None:
        if message.pos <= self.last_pos or not self.types.matches_message(message):
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:  # a slow client: drop the queue and re-read from the table later
            self.resync()

    def resync(self) -> None:
        self.catch_up = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)  # wake the consumer

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def __aiter__(self) -> Subscriber:
        return self

    async def __anext__(self) -> EventMessage:
        while True:
            if self.closed:
                raise StopAsyncIteration
            message: EventMessage | None
            if self.backlog:
                message = self.backlog.popleft()
            elif self.catch_up:
                self.catch_up = False  # a resync() during the read sets it again
                try:
                    rows = await queries.after_position(self.scope, self.last_pos, self.types, CATCH_UP_BATCH)
                except BaseException:
                    self.catch_up = True  # cancelled or failed: read again next time
                    raise
                self.backlog = deque(EventMessage.from_row(r) for r in rows)
                if len(rows) == CATCH_UP_BATCH:
                    self.catch_up = True
                continue
            else:
                message = await self.queue.get()
                if message is None:
                    continue
            if message.pos <= self.last_pos:
                continue
            self.last_pos = message.pos
            return message


class Hub:
    """The process's one Redis subscription and its local subscribers."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.redis: Redis | None = None
        self.subscribers: dict[tuple[str, bool], set[Subscriber]] = {}
        self.max_pos = 0
        self.received = 0
        self.resubscribed = 0  # times the subscription was re-established (each makes subscribers re-read)
        self.ready = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.drain_task: asyncio.Task | None = None

    async def start(self, ready_within: float = 10.0) -> None:
        self.redis = Redis.from_url(self.redis_url, decode_responses=True, health_check_interval=30)
        self.task = asyncio.create_task(self._run(), name="events-hub")
        self.drain_task = asyncio.create_task(self._close_on_drain(), name="events-hub-drain")
        await asyncio.wait_for(self.ready.wait(), ready_within)

    async def _close_on_drain(self) -> None:
        """When the process starts shutting down, end every live stream so connections close promptly
        (browsers reconnect elsewhere and resume with Last-Event-ID)."""
        while True:
            await health.draining.wait()
            self.close_all()
            # another app in this process may clear it again (tests do); an Event cannot await being cleared
            while health.draining.is_set():  # noqa: ASYNC110
                await asyncio.sleep(0.5)

    def close_all(self) -> None:
        for subs in list(self.subscribers.values()):
            for sub in list(subs):
                sub.close()

    async def stop(self) -> None:
        self.close_all()
        for task in (self.task, self.drain_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.redis is not None:
            await self.redis.aclose()

    @property
    def connections(self) -> int:
        return sum(len(s) for s in self.subscribers.values())

    @contextlib.asynccontextmanager
    async def subscribe(self, scope: Scope, types: TypeFilter | None = None,
                        after_pos: int | None = None) -> AsyncIterator[Subscriber]:
        """Live events of `scope` (filtered), after `after_pos` if given (read from the table first)."""
        sub = Subscriber(self, scope, types or TypeFilter(), after_pos)
        key = (scope.account_id, scope.livemode)
        self.subscribers.setdefault(key, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self.subscribers.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self.subscribers[key]

    async def _run(self) -> None:
        assert self.redis is not None
        first = True
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.psubscribe(CHANNEL_PATTERN)
                async for item in pubsub.listen():
                    if item["type"] == "psubscribe":
                        await self._subscribed(first)
                        first = False
                    elif item["type"] == "pmessage":
                        self._deliver(item["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("events hub lost Redis; resubscribing")
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _subscribed(self, first: bool) -> None:
        if first:
            # Subscribed first, then read the baseline: whatever is positioned later reaches us live.
            self.max_pos = max(self.max_pos, await queries.assigned_position())
            self.ready.set()
            return
        self.resubscribed += 1
        for subs in list(self.subscribers.values()):  # we may have missed messages: everyone re-reads
            for sub in list(subs):
                sub.resync()

    def _deliver(self, text: Any) -> None:
        try:
            message = EventMessage.from_wire(text)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed event message")
            return
        if message.pos <= self.max_pos:
            return  # re-published after an interrupted dispatch: already passed on
        self.max_pos = message.pos
        self.received += 1
        for sub in list(self.subscribers.get((message.account_id, message.livemode), ())):
            sub.offer(message)


_hub: Hub | None = None
_users = 0  # apps in this process using the hub (tests run more than one)


def hub() -> Hub:
    if _hub is None:
        raise RuntimeError("the events hub is not running")
    return _hub


async def start_hub(redis_url: str) -> Hub:
    """The process's hub, started by the first app's lifespan; later apps share it."""
    global _hub, _users
    _users += 1
    if _hub is None:
        _hub = Hub(redis_url)
        await _hub.start()
    return _hub


async def stop_hub() -> None:
    """Stopped when the last app using it shuts down."""
    global _hub, _users
    _users = max(0, _users - 1)
    if _hub is not None and _users == 0:
        current, _hub = _hub, None
        await current.stop()
