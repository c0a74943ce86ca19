"""The dispatcher: committed events → Redis channels per account and mode, at least once.

Why positions and not `seq > last_seen`: `seq` (and the id) are taken when
the row is inserted, but transactions commit in any order, so a cursor over
them skips an event whose transaction was slow to commit. Instead the
dispatcher gives each *committed* event a position (`events.pos`) in a
transaction that first locks its row in `event_dispatch`; positions therefore
grow in the order events became visible, and the positioned events always
form a prefix 1..assigned_pos. It publishes them in position order and then
records `published_pos`. A crash between assigning and recording only means
the events between `published_pos` and `assigned_pos` are published again
(at least once; consumers drop positions they have already seen).

Several processes run a dispatcher; one at a time leads, chosen with a
session advisory lock on its own connection (released by PostgreSQL when the
process dies). That connection also LISTENs for `pg_notify` from `emit()`;
polling every `poll_seconds` covers lost notifications and leadership
changes. See docs/events.md.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from redis.asyncio import Redis

from server.db_engine import register_json_codecs
from server.events import queries
from server.events.service import NOTIFY_CHANNEL
from server.events.wire import channel, to_wire

log = logging.getLogger(__name__)

NAME = "redis"


class Dispatcher:
    """Moves committed events to Redis. `run()` until cancelled; `dispatch()` does one pass."""

    def __init__(self, dsn: str, redis: Redis, *, poll_seconds: float = 1.0, batch: int = 500,
                 name: str = NAME) -> None:
        self.dsn = dsn
        self.redis = redis
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.name = name
        self.conn: asyncpg.Connection | None = None
        self.leader = False
        self.wake = asyncio.Event()
        self.published = 0  # events this instance published (a counter for tests and logs)

    async def run(self) -> None:
        """Lead or stand by until cancelled; reconnects after failures."""
        while True:
            try:
                await self._connect()
                while True:
                    if not self.leader and self.conn is not None:
                        self.leader = await queries.take_leadership(self.conn)
                        if self.leader:
                            log.info("event dispatcher leads")
                    if self.leader:
                        await self.dispatch()
                    await self._sleep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event dispatcher failed; reconnecting")
                await asyncio.sleep(min(self.poll_seconds, 1.0))
            finally:
                await self.close()

    async def _connect(self) -> None:
        self.conn = await asyncpg.connect(self.dsn)
        await register_json_codecs(self.conn)
        await self.conn.add_listener(NOTIFY_CHANNEL, self._notified)
        self.leader = False

    def _notified(self, *_: Any) -> None:
        self.wake.set()

    async def _sleep(self) -> None:
        try:
            await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
        except TimeoutError:
            pass
        self.wake.clear()

    async def close(self) -> None:
        conn, self.conn, self.leader = self.conn, None, False
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.shield(conn.close(timeout=2))
            except Exception:
                conn.terminate()

    async def dispatch(self) -> int:
        """Publish what was positioned but not published, then position and publish new events."""
        assert self.conn is not None, "connect first"
        total = await self._republish()
        while True:
            self.wake.clear()
            rows = await self.assign()
            if not rows:
                return total
            await self.publish(rows)
            total += len(rows)
            if len(rows) < self.batch:
                return total

    async def assign(self) -> list[dict[str, Any]]:
        """Give the next committed events their positions (committed before anything is published)."""
        assert self.conn is not None
        rows = await queries.assign_positions(self.conn, self.name, self.batch)
        rows.sort(key=lambda r: r["pos"])
        return rows

    async def publish(self, rows: list[dict[str, Any]]) -> None:
        """To Redis in position order, then remember how far we got."""
        assert self.conn is not None
        async with self.redis.pipeline(transaction=False) as pipe:
            for row in rows:
                pipe.publish(channel(row["account_id"], row["livemode"]), to_wire(row))
            await pipe.execute()
        self.published += len(rows)
        await queries.mark_published(self.conn, self.name, rows[0]["pos"], rows[-1]["pos"])

    async def _republish(self) -> int:
        assert self.conn is not None
        total = 0
        while True:
            state = await queries.dispatch_state(self.conn, self.name)
            if state["published_pos"] >= state["assigned_pos"]:
                return total
            rows = await queries.positioned(self.conn, state["published_pos"], state["assigned_pos"], self.batch)
            if not rows:  # the range was removed by retention meanwhile
                await queries.skip_to(self.conn, self.name, state["assigned_pos"])
                return total
            log.info("republishing %d events after an interrupted dispatch", len(rows))
            await self.publish(rows)
            total += len(rows)
