"""The rollup follower: committed events → rollups, exactly once, in commit order, within a second.

It reads the events outbox by the positions the event dispatcher gives committed events
(`events.pos`, a gap-free prefix in commit order; docs/events.md) after its own stored position
(`analytics_positions`). One transaction locks the position row, reads the next events, applies
them and stores the new position, so a batch is applied entirely or not at all, once: a crash
before the commit leaves the position where it was and the batch is read again. Several processes
run a follower; the row lock (taken with SKIP LOCKED) lets one apply at a time and the others pass.

Applying an event: its snapshot gives the object's contribution now (`metrics.contribution`);
`analytics_facts` holds what the object contributed so far; the rollups move by the difference and
the fact is replaced. So an object counts once however many events it has (a payment's created,
processing, succeeded, refunded), a later event only corrects it (failed → nothing more; refunded
→ no change to the payment's row, the refund is its own object), and the result does not depend on
whether a rebuild already counted the object.

Freshness: the follower LISTENs on the channel `emit()` notifies at every commit. The dispatcher
positions an event a moment after that notification, so a wake-up that finds nothing new looks
again a few times within half a second; without notifications it polls every POLL_SECONDS. A
payment is in the rollups well under a second after its commit when the dispatcher keeps up
(bench: `python -m bench.analytics.freshness`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg

from server import db
from server.analytics import queries
from server.analytics.metrics import BY_OBJECT_TYPE, Contribution, Values, add_into, contribution
from server.events.service import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

POSITION = "rollups"
BATCH = 1000
POLL_SECONDS = 0.5
RETRY_AFTER_WAKE = (0.02, 0.05, 0.1, 0.15, 0.2)  # the dispatcher positions events just after the notify

RollupKey = tuple[str, bool, int, str]  # account, livemode, bucket, currency


async def follow_once(batch: int = BATCH, *, wait: bool = False) -> int:
    """Apply the next batch of events; returns how many were read (0: none new, or another process is at it)."""
    async with db.transaction():
        position = await queries.lock_position(POSITION, wait=wait)
        if position is None:
            return 0
        events = await queries.events_after(position, batch, list(BY_OBJECT_TYPE))
        if not events:
            return 0
        await apply(events)
        await queries.set_position(POSITION, events[-1]["pos"])
    return len(events)


async def catch_up(batch: int = BATCH, *, wait: bool = True) -> int:
    """Apply every event positioned so far; returns how many were read."""
    total = 0
    while (read := await follow_once(batch, wait=wait)) > 0:
        total += read
    return total


async def apply(events: Sequence[dict[str, Any]]) -> None:
    """Move the rollups by what `events` change, and remember each object's new contribution."""
    counted = [e for e in events if e["data"] is not None and e["object_type"] in BY_OBJECT_TYPE]
    before = {f["object_id"]: f for f in await queries.facts_of([e["object_id"] for e in counted])}
    now: dict[str, tuple[str, bool, Contribution]] = {}
    deltas: dict[RollupKey, Values] = {}
    for event in counted:
        try:
            new = contribution(BY_OBJECT_TYPE[event["object_type"]], event["data"])
        except (KeyError, TypeError, ValueError, AttributeError):
            # Not a snapshot of the object (hand-made data): counting it is impossible, stopping here would
            # stop analytics for everyone. Skipped; if it mattered, `paydeck analytics verify` shows it.
            log.warning("analytics: event at position %s (%s %s) has no countable snapshot; skipped",
                        event["pos"], event["object_type"], event["object_id"])
            continue
        scope = (event["account_id"], bool(event["livemode"]))
        object_id = event["object_id"]
        if object_id in now:
            old = now[object_id][2]
            add_into(deltas.setdefault((*scope, old.bucket, old.currency), {}), old.values, -1)
        elif (fact := before.get(object_id)) is not None:
            add_into(deltas.setdefault((*scope, int(fact["bucket"]), fact["currency"]), {}), fact["contribution"], -1)
        add_into(deltas.setdefault((*scope, new.bucket, new.currency), {}), new.values, 1)
        now[object_id] = (*scope, new)
    await queries.add_to_rollups([(*key, values) for key, values in sorted(deltas.items()) if values])
    await queries.save_facts([(object_id, account, livemode, c.bucket, c.currency, c.values)
                              for object_id, (account, livemode, c) in sorted(now.items())])


class Follower:
    """Runs `follow_once` whenever events may have arrived, until cancelled (the `analytics-rollups` job)."""

    def __init__(self, dsn: str, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.dsn = dsn
        self.poll_seconds = poll_seconds
        self.wake = asyncio.Event()
        self.conn: asyncpg.Connection | None = None

    async def run(self) -> None:
        while True:
            try:
                self.conn = await asyncpg.connect(self.dsn)
                await self.conn.add_listener(NOTIFY_CHANNEL, self._notified)
                while True:
                    woken = await self._sleep()
                    await self._drain(woken)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("analytics follower failed; starting again")
                await asyncio.sleep(1.0)
            finally:
                await self._close()

    def _notified(self, *_: Any) -> None:
        self.wake.set()

    async def _sleep(self) -> bool:
        try:
            await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
            return True
        except TimeoutError:
            return False
        finally:
            self.wake.clear()

    async def _drain(self, woken: bool) -> None:
        if await catch_up(wait=False) or not woken:
            return
        for pause in RETRY_AFTER_WAKE:
            await asyncio.sleep(pause)
            if await catch_up(wait=False):
                return

    async def _close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.shield(conn.close(timeout=2))
            except Exception:
                conn.terminate()
