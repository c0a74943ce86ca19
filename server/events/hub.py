"""Live fan-out inside one process: one Redis subscription, many local subscribers.

The hub holds a single pattern subscription to every event channel, parses
each message once and keeps it in the recent messages of its account and
mode (a `Channel`, shared by that scope's GraphQL subscriptions and SSE
streams alike). A subscriber is a cursor into it: the last position it passed
on, and a future to wake it. So 10K connections cost 10K small cursors, not
10K queues holding payloads (an asyncio.Queue alone is four deques, ~3 KiB)
nor 10K Redis subscriptions.

A subscriber never misses an event of its scope published after it
subscribed, and never sees one twice: it passes on only positions above the
last it passed on. When it cannot rely on the recent messages — it resumes
after a `Last-Event-ID`, it fell so far behind that messages it had not read
left the channel, or the hub lost its Redis connection — it catches up from
the events table by position (`after_position`) and then continues live.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from typing import Any, Protocol

from redis.asyncio import Redis

from server import health
from server.context import Scope
from server.events import queries
from server.events.queries import TypeFilter
from server.events.wire import CHANNEL_PATTERN, EventMessage

log = logging.getLogger(__name__)
RECENT = 256  # a channel trims to this many messages once every subscriber has read them ...
KEEP_AT_MOST = 4096  # ... and to this many whatever they read: a subscriber further behind re-reads the table
CATCH_UP_BATCH = 500
CATCH_UP_READS = 4  # table reads at once per process: a thousand clients left behind must not take the pool


class Listener(Protocol):
    """Another feed on the process's one subscription (the API-log tail, the API-key cache): messages on its
    pattern."""

    pattern: str

    def deliver(self, channel: str, data: Any) -> None: ...

    def resubscribed(self) -> None:
        """The subscription was made anew after Redis was lost: messages may have been missed."""

    def close_all(self) -> None: ...


LISTENERS: list[Listener] = []  # registered when their module is imported, before the hub starts


class Channel:
    """The live messages of one account and mode, in position order, and who reads them."""

    __slots__ = ("dropped_pos", "messages", "subscribers")

    def __init__(self) -> None:
        self.messages: list[EventMessage] = []
        self.dropped_pos = 0  # the highest position that left `messages`
        self.subscribers: set[Subscriber] = set()

    def append(self, message: EventMessage) -> None:
        self.messages.append(message)
        if len(self.messages) >= 2 * RECENT and len(self.messages) % RECENT == 0:  # amortised O(1) per message
            self._trim()

    def _trim(self) -> None:
        """Drop what every subscriber has read, keeping RECENT; past KEEP_AT_MOST drop the oldest anyway.

        A process briefly too busy for its clients lets them fall behind by thousands of messages without
        sending each of them to the events table (where a thousand at once would queue for the pool)."""
        slowest = min((sub.last_pos for sub in self.subscribers), default=self.messages[-1].pos)
        keep_from = min(self.after(slowest), len(self.messages) - RECENT)
        keep_from = max(keep_from, len(self.messages) - KEEP_AT_MOST)
        if keep_from > 0:
            self.dropped_pos = max(self.dropped_pos, self.messages[keep_from - 1].pos)
            del self.messages[:keep_from]

    def after(self, pos: int) -> int:
        """Index of the first kept message above `pos`."""
        messages = self.messages
        # A live subscriber is caught up, or one message behind: asked once per event per subscriber, these two
        # checks spare the search (and its key calls).
        if not messages or messages[-1].pos <= pos:
            return len(messages)
        if len(messages) == 1 or messages[-2].pos <= pos:
            return len(messages) - 1
        return bisect.bisect_right(messages, pos, key=_pos)


def _pos(message: EventMessage) -> int:
    return message.pos


EMPTY = Channel()  # a subscriber's channel before it joins one: nothing in it, never appended to


class Subscriber:
    """One live consumer: an async iterator of `EventMessage`s of its scope, in position order."""

    __slots__ = ("backlog", "catch_up", "channel", "closed", "hub", "last_pos", "poked", "scope", "types", "waiter")

    def __init__(self, hub: Hub, scope: Scope, types: TypeFilter, last_pos: int, catch_up: bool) -> None:
        self.hub = hub
        self.channel = EMPTY  # until it joins its scope's channel on entering
        self.scope = scope
        self.types = types
        self.last_pos = last_pos
        self.catch_up = catch_up
        self.backlog: list[EventMessage] = []  # rows read from the table, newest last; empty once live
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.poked = False

    async def __aenter__(self) -> Subscriber:
        self.channel = self.hub._join(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.hub._leave(self)

    @property
    def behind(self) -> bool:
        """Messages it has not read have left the channel: it must re-read from the table."""
        return self.channel.dropped_pos > self.last_pos

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def offer(self, message: EventMessage) -> None:
        if message.pos <= self.last_pos:
            return
        if self.types.matches_message(message):
            self.wake()
        elif self.waiter is not None and not self.waiter.done():
            # Waiting, it has passed over everything before this message: passing over this one too keeps a
            # filtered subscriber (one payment's updates) from holding its channel's trim back, and from
            # counting as behind (a table read per event) once older messages leave.
            self.last_pos = message.pos

    def resync(self) -> None:
        self.catch_up = True
        self.wake()

    def close(self) -> None:
        self.closed = True
        self.wake()

    def __aiter__(self) -> Subscriber:
        return self

    def poke(self) -> None:
        """Make a waiting `next_or_poked()` return None (a stream's heartbeat is due)."""
        self.poked = True
        self.wake()

    async def __anext__(self) -> EventMessage:
        while (message := await self.next_or_poked()) is None:
            pass
        return message

    async def next_or_poked(self) -> EventMessage | None:
        """The next message, waiting for it; None if `poke()` came first. StopAsyncIteration once closed."""
        while True:
            if self.closed:
                raise StopAsyncIteration
            message = self.next_nowait()
            if message is not None:
                return message
            if self.closed:
                continue
            if self.catch_up or self.behind:
                await self._read_table()
                continue
            if self.poked:
                self.poked = False
                return None
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None

    def next_nowait(self) -> EventMessage | None:
        """The next message if it is at hand: None when it must wait, or first read the table."""
        while not self.closed:
            message: EventMessage | None
            if self.backlog:
                message = self.backlog.pop()
            elif self.catch_up or self.behind:
                return None
            else:
                message = self._next_live()
                if message is None:
                    return None
            if message.pos <= self.last_pos:
                continue
            self.last_pos = message.pos
            return message
        return None

    def _next_live(self) -> EventMessage | None:
        messages = self.channel.messages
        for index in range(self.channel.after(self.last_pos), len(messages)):
            if self.types.matches_message(messages[index]):
                return messages[index]
            self.last_pos = messages[index].pos  # not for this subscriber: passed over
        return None

    async def _read_table(self) -> None:
        self.catch_up = False  # a resync() during the read sets it again
        # What had left the channel before the read: the read's snapshot has all of it. Whatever leaves while
        # the read waits for its turn or the pool may be newer than the snapshot, and must not be skipped.
        floor = self.channel.dropped_pos
        try:
            async with self.hub.catch_up_reads:
                rows = await queries.after_position(self.scope, self.last_pos, self.types, CATCH_UP_BATCH)
        except BaseException:
            self.catch_up = True  # cancelled or failed: read again next time
            raise
        self.backlog = [EventMessage.from_row(r) for r in reversed(rows)]
        if len(rows) == CATCH_UP_BATCH:
            self.catch_up = True
        elif not rows and floor > self.last_pos:  # nothing newer of ours in the table up to what had left
            self.last_pos = floor


class Hub:
    """The process's one Redis subscription and its local subscribers."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.redis: Redis | None = None
        self.channels: dict[tuple[str, bool], Channel] = {}
        self.catch_up_reads = asyncio.Semaphore(CATCH_UP_READS)
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
        for sub in self._all_subscribers():
            sub.close()
        for listener in LISTENERS:
            listener.close_all()

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
        return sum(len(c.subscribers) for c in self.channels.values())

    def _all_subscribers(self) -> list[Subscriber]:
        return [sub for channel in list(self.channels.values()) for sub in list(channel.subscribers)]

    def subscribe(self, scope: Scope, types: TypeFilter | None = None,
                  after_pos: int | None = None) -> Subscriber:
        """`async with hub.subscribe(...) as subscriber`: live events of `scope` (filtered), after `after_pos` if
        given (read from the table first). The subscriber is its own context manager: one object a connection."""
        start = self.max_pos if after_pos is None else after_pos
        return Subscriber(self, scope, types or TypeFilter(), start, catch_up=after_pos is not None)

    def _join(self, sub: Subscriber) -> Channel:
        key = (sub.scope.account_id, sub.scope.livemode)
        channel = self.channels.get(key)
        if channel is None:
            channel = self.channels[key] = Channel()
            channel.dropped_pos = self.max_pos  # what came before this channel existed is in the table only
        channel.subscribers.add(sub)
        return channel

    def _leave(self, sub: Subscriber) -> None:
        channel = sub.channel
        channel.subscribers.discard(sub)
        key = (sub.scope.account_id, sub.scope.livemode)
        if not channel.subscribers and self.channels.get(key) is channel:
            del self.channels[key]

    async def _run(self) -> None:
        assert self.redis is not None
        first = True
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.psubscribe(CHANNEL_PATTERN, *(listener.pattern for listener in LISTENERS))
                async for item in pubsub.listen():
                    if item["type"] == "psubscribe" and item["channel"] == CHANNEL_PATTERN:
                        await self._subscribed(first)
                        first = False
                    elif item["type"] == "pmessage":
                        if item["pattern"] == CHANNEL_PATTERN:
                            self._deliver(item["data"])
                        else:
                            self._deliver_to_listeners(item["pattern"], item["channel"], item["data"])
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
        for sub in self._all_subscribers():  # we may have missed messages: everyone re-reads
            sub.resync()
        for listener in LISTENERS:
            listener.resubscribed()

    @staticmethod
    def _deliver_to_listeners(pattern: str, channel: str, data: Any) -> None:
        for listener in LISTENERS:
            if listener.pattern == pattern:
                try:
                    listener.deliver(channel, data)
                except Exception:  # one feed's failure must not end the subscription every stream depends on
                    log.exception("a live listener failed on a message of %s", channel)

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
        channel = self.channels.get((message.account_id, message.livemode))
        if channel is None:
            return
        channel.append(message)
        for sub in list(channel.subscribers):
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
