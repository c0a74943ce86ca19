"""The webhook worker: fan out committed events, claim due deliveries, send them concurrently.

Wakes on `LISTEN paydeck_events` (emit() notifies at commit) and on
`LISTEN paydeck_webhooks` (a resend, a test event or a recovery notifies at
commit, from whichever process served it), and polls every `POLL_SECONDS`
as the fallback and for retries coming due. Several workers, in one process
or many, are safe: fan-out markers and delivery leases decide who does what.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any

from server import db
from server.events.service import NOTIFY_CHANNEL
from server.webhooks import delivery, fanout, queries, ssrf

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
MAX_IN_FLIGHT = 64

_running: weakref.WeakSet[DeliveryWorker] = weakref.WeakSet()  # this process's workers (tests pause them)


class DeliveryWorker:
    def __init__(self, allow_private: bool | None = None, max_in_flight: int = MAX_IN_FLIGHT,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.allow_private = allow_private
        self.max_in_flight = max_in_flight
        self.poll_seconds = poll_seconds
        self.in_flight: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._events_committed = True  # fan out on start, then on NOTIFY or every poll
        self._last_fanout = 0.0
        self.paused = False  # tests pause the in-process worker to let another process claim work
        self.idle = asyncio.Event()  # set while it waits for a notification or the next poll

    def wake(self) -> None:
        self._wake.set()

    def _notified(self, *_: Any) -> None:
        self._events_committed = True
        self._wake.set()

    def _work_queued(self, *_: Any) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        _running.add(self)
        conn = None
        client = ssrf.delivery_client(self.allow_private, delivery.TIMEOUT)
        try:
            try:
                conn = await db.engine().get_new_connection()
                await conn.add_listener(NOTIFY_CHANNEL, self._notified)
                await conn.add_listener(queries.WAKE_CHANNEL, self._work_queued)
            except Exception:
                log.warning("webhooks: LISTEN unavailable, polling only", exc_info=True)
            while True:
                self._wake.clear()
                if not self.paused:
                    try:
                        await self.step(client)
                    except Exception:
                        log.exception("webhook worker step failed")
                self.idle.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                self.idle.clear()
        finally:
            _running.discard(self)
            for task in list(self.in_flight):
                task.cancel()
            await asyncio.gather(*self.in_flight, return_exceptions=True)
            await client.aclose()
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def step(self, client) -> None:
        loop = asyncio.get_running_loop()
        if self._events_committed or loop.time() - self._last_fanout >= self.poll_seconds:
            self._events_committed = False
            self._last_fanout = loop.time()
            while await fanout.run_once() >= fanout.BATCH:
                pass  # a full batch: there may be more
        room = self.max_in_flight - len(self.in_flight)
        if room <= 0:
            return
        for row in await delivery.claim(room):
            task = asyncio.create_task(self._send(client, row))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def _send(self, client, row: dict[str, Any]) -> None:
        try:
            await delivery.send(client, row)
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly; its lease will expire and it will be retried",
                          row["id"])
        finally:
            self.wake()  # room for more, and the next due one may be waiting
