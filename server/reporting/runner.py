"""The report worker: claims pending runs and makes their CSV files, exactly once.

Claim: the oldest pending run nobody holds, with SKIP LOCKED, for a lease (`LEASE`); several workers in
several processes never take the same run. Make: the report's rows stream into file chunks inside one
transaction, which also marks the run `succeeded` and emits `reporting.report_run.succeeded`, on the
condition that the claim is still ours (same attempt, still pending). So the file and the status commit
together or not at all: a worker that dies leaves no file behind, its lease runs out and another worker
makes the run again; a worker whose lease was taken over cannot mark the run twice.

Progress (rows written, rows expected) and the lease are renewed every `HEARTBEAT` seconds from a
connection of their own, so the Reports page sees the run move while its file is still uncommitted.
A run that fails `MAX_ATTEMPTS` times, or cannot be made from its parameters (`ReportFailed`), is marked
`failed` with the reason and `reporting.report_run.failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from server import clock, db
from server.context import Scope
from server.events.service import emit
from server.reporting import queries, reports
from server.reporting.queries import NOTIFY_CHANNEL
from server.reporting.rows import ReportRun
from server.reporting.serial import run_json

log = logging.getLogger(__name__)
T = TypeVar("T")

LEASE = timedelta(seconds=60)
HEARTBEAT = 0.5
MAX_ATTEMPTS = 3
POLL_SECONDS = 2.0
RETRY_AFTER = timedelta(seconds=5)  # a failed attempt is retried after this (times the attempt number)


def _now() -> datetime:
    return clock.now()


async def outside_transaction(work: Awaitable[T]) -> T:
    """Run `work` on a connection of its own: committed now, whatever transaction the caller is in."""
    return await asyncio.get_running_loop().create_task(_awaited(work), context=contextvars.Context())


async def _awaited(work: Awaitable[T]) -> T:
    return await work


class ClaimLost(Exception):
    """Another worker holds the run now (our lease ran out): this attempt's work is dropped."""


class _File:
    """Chunks of about 1 MiB written to the run's file, in the transaction that finishes the run."""

    def __init__(self, run: ReportRun) -> None:
        self.run, self.seq, self.size, self.lines = run, 0, 0, 0
        self.buffer = bytearray()

    async def write(self, data: bytes) -> None:
        self.buffer += data
        self.size += len(data)
        self.lines += data.count(b"\n")
        if len(self.buffer) >= reports.CHUNK:
            await self.flush()

    async def flush(self) -> None:
        if self.buffer:
            await queries.insert_chunk(self.run, self.seq, bytes(self.buffer))
            self.seq += 1
            self.buffer.clear()


async def run_once(run_id: str | None = None) -> bool:
    """Claim and make one run (the oldest pending, or `run_id`); False when there was none to claim."""
    run = await queries.claim_next(_now(), LEASE, run_id)
    if run is None:
        return False
    try:
        await make(run)
    except ClaimLost:
        log.warning("report run %s: another worker took it over; this attempt is dropped", run.id)
    except reports.ReportFailed as exc:
        await fail(run, str(exc))
    except Exception as exc:
        log.exception("report run %s failed (attempt %d of %d)", run.id, run.attempts, MAX_ATTEMPTS)
        if run.attempts >= MAX_ATTEMPTS:
            await fail(run, f"failed {run.attempts} times; last error: {type(exc).__name__}: {exc}")
        else:
            await queries.heartbeat(run, 0, None, _now() + RETRY_AFTER * run.attempts)
    return True


async def make(run: ReportRun) -> ReportRun:
    """Write the run's file and mark it succeeded, in one transaction (see the module docstring)."""
    if run.attempts > MAX_ATTEMPTS:
        raise reports.ReportFailed(f"gave up after {MAX_ATTEMPTS} attempts (the worker stopped each time)")
    source = await reports.source(run)
    file = _File(run)
    last_beat = time.monotonic()
    async with db.transaction(), contextlib.aclosing(aiter(source)) as chunks:
        async for data in chunks:
            await file.write(data)
            if time.monotonic() - last_beat >= HEARTBEAT:
                last_beat = time.monotonic()
                await _beat(run, min(file.lines, source.total or file.lines), source.total)
        await file.flush()
        done = await queries.finish(run, source.rows, file.size, _now())
        if done is None:
            raise ClaimLost(run.id)
        await emit(None, Scope(run.account_id, run.livemode), "reporting.report_run.succeeded",
                   "reporting.report_run", run.id, run_json(done))
    return done


async def _beat(run: ReportRun, rows_done: int, rows_total: int | None) -> None:
    if not await outside_transaction(queries.heartbeat(run, rows_done, rows_total, _now() + LEASE)):
        raise ClaimLost(run.id)


async def fail(run: ReportRun, reason: str) -> ReportRun | None:
    async with db.transaction():
        failed = await queries.fail(run, reason, _now())
        if failed is not None:
            await emit(None, Scope(run.account_id, run.livemode), "reporting.report_run.failed",
                       "reporting.report_run", run.id, run_json(failed))
    return failed


class Runner:
    """Makes runs while there are any, then waits for a notification (or polls), until cancelled."""

    def __init__(self, dsn: str, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.dsn, self.poll_seconds = dsn, poll_seconds
        self.wake = asyncio.Event()

    async def run_forever(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener(NOTIFY_CHANNEL, self._notified)
                while True:
                    while await run_once():
                        pass
                    await self._sleep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("report worker failed; starting again")
                await asyncio.sleep(1.0)
            finally:
                if conn is not None and not conn.is_closed():
                    conn.terminate()

    def _notified(self, *_: Any) -> None:
        self.wake.set()

    async def _sleep(self) -> None:
        try:
            await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
        except TimeoutError:
            pass
        finally:
            self.wake.clear()
