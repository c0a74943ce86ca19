"""The log writer: captured requests are buffered in memory and written in batches by COPY.

A flush runs every `apilog_flush_interval_seconds` (≤ 1 s), sooner when a
batch is full, and once more on graceful shutdown (the app's lifespan calls
`stop()` after the server has stopped accepting requests). A crash loses at
most what was captured since the last flush. When PostgreSQL is unreachable
the batch goes back into the buffer, which is bounded by `apilog_buffer_max`
(oldest records are dropped first, with a warning).

After each COPY one message per account and mode goes to Redis for the live tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from datetime import date

import asyncpg

from server.apilogs import partitions, queries, records
from server.apilogs.capture import RawCapture
from server.infra import redis
from server.settings import Settings

log = logging.getLogger(__name__)
TAIL_CHANNEL = "apilogs:tail:{account_id}:{mode}"
BUILD_SLICE = 32  # records turned into rows between yields to the event loop (~2 ms of work)

_running: list[LogWriter] = []


async def flush_all() -> int:
    """Flush every running writer of this process (tests, `paydeck seed-logs`)."""
    return sum([await w.flush() for w in list(_running)])


class LogWriter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pending: deque[RawCapture] = deque()
        self.wake = asyncio.Event()
        self.stopping = False
        self.lock = asyncio.Lock()
        self.task: asyncio.Task | None = None
        self.written = 0
        self.dropped = 0
        self.running = False

    def add(self, raw: RawCapture) -> None:
        if len(self.pending) >= self.settings.apilog_buffer_max:
            self.pending.popleft()
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("API log buffer full: %d records dropped so far", self.dropped)
        self.pending.append(raw)
        if len(self.pending) >= self.settings.apilog_batch_size:
            self.wake.set()

    async def start(self) -> None:
        """Open today's partitions and start flushing (from the app's lifespan)."""
        await partitions.ensure_ahead(self.settings.apilog_partitions_ahead_days)
        self.stopping = False
        self.running = True
        _running.append(self)
        self.task = asyncio.create_task(self._run(), name="apilogs:writer")

    async def _run(self) -> None:
        while not self.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.apilog_flush_interval_seconds)
            self.wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("API log flush failed; the records stay buffered and are retried")

    async def flush(self) -> int:
        """Write everything buffered so far; returns the number of rows written.

        Batches are pipelined: the next batch is redacted (Python) while the
        previous one is being copied (PostgreSQL), so the two use both cores.
        A batch goes back into the buffer unless its COPY finished.
        """
        async with self.lock:
            total = 0
            copy: asyncio.Task | None = None
            copying: tuple[list[RawCapture], list[tuple]] = ([], [])
            batch: list[RawCapture] = []
            try:
                while self.pending or copy is not None:
                    size = min(len(self.pending), self.settings.apilog_batch_size)
                    batch = [self.pending.popleft() for _ in range(size)]
                    rows = await self._rows(batch) if batch else []
                    if copy is not None:
                        await copy
                        copy = None
                        total += len(copying[1])
                        self.written += len(copying[1])
                        await self._publish(copying[1])
                    if rows:
                        await self._ensure_partitions(rows)
                        copy = asyncio.create_task(self._copy(rows))
                        copying = (batch, rows)
                    batch = []
            except BaseException:
                unwritten = list(batch)
                if copy is not None:
                    if not copy.done():
                        copy.cancel()
                        with contextlib.suppress(BaseException):
                            await copy
                    if copy.cancelled() or copy.exception() is not None:
                        unwritten = copying[0] + unwritten
                self.pending.extendleft(reversed(unwritten))
                raise
            return total

    async def _copy(self, rows: list[tuple]) -> None:
        """COPY a batch; a row PostgreSQL refuses is dropped (logged) rather than blocking the buffer."""
        try:
            await queries.copy_rows(rows)
        except (asyncpg.DataError, OverflowError, ValueError, TypeError):  # the data, not the connection
            if len(rows) == 1:
                log.error("dropped a log record PostgreSQL refused: %s", rows[0][0], exc_info=True)
                rows.clear()
                return
            kept = []
            for row in rows:
                one = [row]
                await self._copy(one)
                kept += one
            rows[:] = kept

    async def _rows(self, batch: list[RawCapture]) -> list[tuple]:
        rows = []
        limit = self.settings.apilog_body_max_bytes
        for i, raw in enumerate(batch):
            try:
                row = records.build(raw, limit)
            except Exception:  # one odd request must not block the others
                log.exception("could not build a log record for %s", raw.request_id)
                continue
            if row is not None:
                rows.append(row)
            if i % BUILD_SLICE == BUILD_SLICE - 1:
                await asyncio.sleep(0)
        return rows

    async def _ensure_partitions(self, rows: list[tuple]) -> None:
        index = records.COLUMNS.index("started_at")
        days: set[date] = {row[index].date() for row in rows}
        for day in sorted(days):
            await partitions.ensure(day)

    async def _publish(self, rows: list[tuple]) -> None:
        if not rows:
            return
        cols = records.COLUMNS
        grouped: dict[str, list[dict]] = {}
        for row in rows:
            item = dict(zip(cols, row, strict=True))
            channel = TAIL_CHANNEL.format(account_id=item["account_id"], mode="live" if item["livemode"] else "test")
            grouped.setdefault(channel, []).append({
                "id": item["id"], "method": item["method"], "path": item["path"], "status": item["status_code"],
                "source": item["source"], "api_key_id": item["api_key_id"],
                "started_at": item["started_at"].isoformat(),
                "duration_ms": item["duration_ms"], "operation_name": item["operation_name"],
                "error_type": item["error_type"]})
        try:
            async with redis().pipeline(transaction=False) as pipe:
                for channel, items in grouped.items():
                    pipe.publish(channel, json.dumps(items))
                await pipe.execute()
        except Exception:  # the live tail is best effort; the rows are committed
            log.warning("could not publish the live tail", exc_info=True)

    async def stop(self) -> None:
        """Stop the loop and flush what is left (graceful shutdown)."""
        self.running = False
        self.stopping = True
        self.wake.set()
        if self.task:  # let a flush in progress finish rather than cancel it halfway
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self.task, timeout=30)
        try:
            await self.flush()
        finally:
            if self in _running:
                _running.remove(self)

