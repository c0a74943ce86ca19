"""The log writer: captured requests are buffered in memory and written in batches by COPY.

The web process only buffers; a process of its own (server/apilogs/writerproc.py),
started with the writer, builds the rows and COPYs them, so redaction and row
building never share the web process's core with the requests. A flush runs
every `apilog_flush_interval_seconds` (≤ 1 s), sooner when a batch is full, and
once more on graceful shutdown (the app's lifespan calls `stop()` after the
server has stopped accepting requests). A crash loses at most what was captured
since the last flush. A batch stays in the buffer until the writer process has
answered that it is stored: when PostgreSQL is unreachable, or the writer
process dies (it is started again), the batch goes back and is retried.

The buffer is bounded by `apilog_buffer_max`: when the writer falls that far
behind, the oldest records are dropped and counted (`dropped`, the
`paydeck_apilog_dropped_records` metric, a warning per thousand); a request is
never slowed or refused for the log's sake.

A LogWriter that was never started (tests, benchmarks, scripts) builds and
COPYs in its own process when flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from server.apilogs import batches, partitions
from server.apilogs.batches import TAIL_CHANNEL
from server.apilogs.capture import RawCapture
from server.apilogs.writerproc import IN_FLIGHT, Config, WriterGone, WriterProcess
from server.ids import new_id
from server.settings import Settings

__all__ = ["TAIL_CHANNEL", "LogWriter", "flush_all"]
log = logging.getLogger(__name__)
STOP_SECONDS = 8.0  # the whole shutdown flush; the web process is killed 25 s after it is asked to stop

_running: list[LogWriter] = []


async def flush_all() -> int:
    """Flush every running writer of this process (tests, `paydeck seed-logs`)."""
    return sum([await w.flush() for w in list(_running)])


class BatchNotWritten(Exception):
    """The writer process could not store a batch (its reason is the message); the batch is kept."""


class LogWriter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pending: deque[RawCapture] = deque()
        # (batch id, size) of the batches at the front of `pending` that were sent and not answered for: sent
        # again whole under the same id, so a batch a dead writer process had already stored is not stored twice.
        self.resend: deque[tuple[str, int]] = deque()
        self.wake = asyncio.Event()
        self.stopping = False
        self.lock = asyncio.Lock()
        self.task: asyncio.Task | None = None
        self.process: WriterProcess | None = None
        self.written = 0
        self.dropped = 0
        self.running = False

    def add(self, raw: RawCapture) -> None:
        if len(self.pending) >= self.settings.apilog_buffer_max:
            self.pending.popleft()
            self.dropped += 1
            if self.resend:  # the oldest belonged to a batch to send again: that batch is one smaller
                batch_id, size = self.resend[0]
                if size > 1:
                    self.resend[0] = (batch_id, size - 1)
                else:
                    self.resend.popleft()
            if self.dropped % 1000 == 1:
                log.warning("API log buffer full: %d records dropped so far", self.dropped)
        self.pending.append(raw)
        if len(self.pending) >= self.settings.apilog_batch_size:
            self.wake.set()

    async def start(self) -> None:
        """Open today's partitions, start the writer process and start flushing (from the app's lifespan)."""
        await partitions.ensure_ahead(self.settings.apilog_partitions_ahead_days)
        settings = self.settings
        assert settings.database_url and settings.redis_url
        self.process = WriterProcess(Config(settings.database_url, settings.redis_url,
                                            settings.apilog_body_max_bytes, settings.log_level, settings.log_format))
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

    def _batch_due(self, owed: int) -> bool:
        """Whether a flush sends another batch: while it still owes records that were buffered when it began,
        and beyond them only full batches. What arrives during a flush waits for the next one (at most the
        flush interval), so a batch carries an interval's records rather than the few that came in during the
        last batch's round trip: a batch costs a transaction, a claim, the rollups and a tail message whatever
        its size, and at 40 small batches a second that was most of the writer's CPU."""
        return bool(self.pending) and (owed > 0 or len(self.pending) >= self.settings.apilog_batch_size)

    def _next_batch(self) -> tuple[str, list[RawCapture]]:
        """The next batch to send, with its id: one given back first, whole and under its id, else a new one."""
        if self.resend:
            batch_id, size = self.resend.popleft()
        else:
            batch_id, size = new_id("alb"), self.settings.apilog_batch_size
        return batch_id, [self.pending.popleft() for _ in range(min(size, len(self.pending)))]

    def _give_back(self, unwritten: list[tuple[str, list[RawCapture]]]) -> None:
        """Batches not answered for go back to the front of the buffer, in order, each keeping its id."""
        for batch_id, captures in reversed(unwritten):
            if captures:
                self.pending.extendleft(reversed(captures))
                self.resend.appendleft((batch_id, len(captures)))

    async def flush(self) -> int:
        """Write everything buffered so far; returns the number of rows written.

        A batch goes back into the buffer (at its front, in order) unless it was stored.
        """
        async with self.lock:
            if self.process is None:
                return await self._flush_here()
            try:
                return await self._flush_through(self.process)
            except WriterGone:  # it died (killed, out of memory): what it had not stored went back; a fresh one
                log.warning("the API log writer process ended; starting another", exc_info=True)
                return await self._flush_through(self.process)

    async def _flush_through(self, process: WriterProcess) -> int:
        """Send batches to the writer process, `IN_FLIGHT` at a time, and count what it answers it stored."""
        total = 0
        owed = len(self.pending)
        sent: deque[tuple[str, list[RawCapture]]] = deque()
        failed: list[tuple[str, list[RawCapture]]] = []
        error: str | None = None
        try:
            while True:
                while self._batch_due(owed) and len(sent) < IN_FLIGHT and error is None:
                    sent.append(self._next_batch())
                    owed -= len(sent[-1][1])
                    await process.send(*sent[-1])
                if not sent:
                    break
                answer = await process.answer()
                batch = sent.popleft()
                if answer.error is not None:  # keep it; let the batches already sent finish, send no more
                    failed.append(batch)
                    error = answer.error
                    continue
                total += answer.written
                self.written += answer.written
        except BaseException:  # the exchange is broken (the process died, or we were cancelled): resend the rest
            # A batch the dead process stored before it could answer is sent again under its id: not stored twice.
            self._give_back(failed + list(sent))
            await asyncio.shield(process.abandon())
            raise
        if error is not None:
            self._give_back(failed)
            raise BatchNotWritten(error)
        return total

    async def _flush_here(self) -> int:
        """Build and COPY in this process (a writer that was never started)."""
        total = 0
        owed = len(self.pending)
        while self._batch_due(owed):
            batch_id, captures = self._next_batch()
            owed -= len(captures)
            try:
                rows = await batches.build_rows(captures, self.settings.apilog_body_max_bytes)
                total += await batches.write_rows(rows, batch_id)
            except BaseException:
                self._give_back([(batch_id, captures)])
                raise
        self.written += total
        return total

    async def stop(self) -> None:
        """Stop the loop, flush what is left (graceful shutdown) and end the writer process.

        Bounded by `STOP_SECONDS` in all: a writer process waiting on a lock (the demo's first-run history holds
        the writers' lock) must not keep the web process past its shutdown grace, after which it would be
        killed with its buffer anyway; what is not written by then is counted in the log."""
        self.running = False
        self.stopping = True
        self.wake.set()
        deadline = asyncio.get_running_loop().time() + STOP_SECONDS

        def left() -> float:
            return max(0.1, deadline - asyncio.get_running_loop().time())

        if self.task:  # let a flush in progress finish rather than cancel it halfway
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self.task, timeout=left())
        try:
            await asyncio.wait_for(self.flush(), timeout=left())
        except TimeoutError:
            log.warning("API log writer: %d records not written within %.0f s of shutdown", len(self.pending),
                        STOP_SECONDS)
        finally:
            if self in _running:
                _running.remove(self)
            if self.process is not None:
                await self.process.close()
