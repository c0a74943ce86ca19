"""A batch of captured requests into the table: build the redacted rows, COPY them, tell the live tail.

The writer's process runs this (server/apilogs/writerproc.py); so does a
LogWriter that was never started (tests, benchmarks), in its own process.
"""

from __future__ import annotations

import asyncio
import logging
import operator
from datetime import date
from typing import Any

import asyncpg
import msgspec

from server import db
from server.apilogs import partitions, queries, records
from server.apilogs.capture import RawCapture
from server.infra import redis

log = logging.getLogger(__name__)
TAIL_CHANNEL = "apilogs:tail:{account_id}:{mode}"
BUILD_SLICE = 32  # records turned into rows between yields to the event loop (~2 ms of work)
# What PostgreSQL says about a row rather than about the connection: the row is dropped, not retried.
ROW_REFUSALS = (asyncpg.DataError, OverflowError, ValueError, TypeError)


async def build_rows(batch: list[RawCapture], body_limit: int) -> list[tuple]:
    """The redacted rows of `batch` (requests we do not log, and ones that cannot be read, are left out)."""
    rows = []
    for i, raw in enumerate(batch):
        try:
            row = records.build(raw, body_limit)
        except Exception:  # one odd request must not block the others
            log.exception("could not build a log record for %s", raw.request_id)
            continue
        if row is not None:
            rows.append(row)
        if i % BUILD_SLICE == BUILD_SLICE - 1:
            await asyncio.sleep(0)
    return rows


async def write_rows(rows: list[tuple], batch_id: str | None = None) -> int:
    """COPY `rows` (partitions made first) and publish them to the live tail; returns the rows stored.

    With a `batch_id` (the writer process's batches), the batch is recorded as stored in the COPY's own
    transaction, and a batch already recorded is not stored again: its rows were committed by a writer
    process that died before it could answer, and the web process sent it again.
    Raises when PostgreSQL cannot be reached: the caller keeps the batch and retries it.
    """
    await ensure_partitions(rows)
    earlier = await copy(rows, batch_id)
    if earlier is not None:
        log.info("API log batch %s was already stored (%d rows); not stored again", batch_id, earlier)
        return earlier
    await publish(rows)
    return len(rows)


async def ensure_partitions(rows: list[tuple]) -> None:
    index = records.COLUMNS.index("started_at")
    days: set[date] = {row[index].date() for row in rows}
    for day in sorted(days):
        await partitions.ensure(day)


async def copy(rows: list[tuple], batch_id: str | None = None) -> int | None:
    """COPY a batch; a row PostgreSQL refuses is dropped (logged) rather than blocking the buffer.

    Returns None once stored, or the rows an earlier transaction stored for the same `batch_id` (nothing is
    copied then). The batch's claim and every row kept commit together, so a batch is stored whole or not
    at all, the refused-row path included."""
    try:
        async with db.transaction():
            if batch_id is not None and (earlier := await queries.claim_batch(batch_id, len(rows))) is not None:
                return earlier
            await queries.copy_rows(rows)
            return None
    except ROW_REFUSALS:  # the data, not the connection: again row by row, each in a savepoint
        if len(rows) == 1 and batch_id is None:
            log.error("dropped a log record PostgreSQL refused: %s", rows[0][0], exc_info=True)
            rows.clear()
            return None
    async with db.transaction():
        if batch_id is not None and (earlier := await queries.claim_batch(batch_id, len(rows))) is not None:
            return earlier
        kept = []
        for row in rows:
            try:
                await queries.copy_rows([row])  # a savepoint of this transaction
            except ROW_REFUSALS:
                log.error("dropped a log record PostgreSQL refused: %s", row[0], exc_info=True)
                continue
            kept.append(row)
        rows[:] = kept
        if batch_id is not None:
            await queries.set_batch_rows(batch_id, len(kept))
    return None


_TAIL_FIELDS = {"id": "id", "method": "method", "path": "path", "status": "status_code", "source": "source",
                "api_key_id": "api_key_id", "started_at": "started_at", "duration_ms": "duration_ms",
                "operation_name": "operation_name", "error_type": "error_type"}  # tail message key: column
_TAIL_AT = {key: records.COLUMNS.index(column) for key, column in _TAIL_FIELDS.items()}
_tail_values = operator.itemgetter(*_TAIL_AT.values())
_scope_of = operator.itemgetter(records.COLUMNS.index("account_id"), records.COLUMNS.index("livemode"))
_STARTED_AT = list(_TAIL_AT).index("started_at")
# A tail message's item: a Struct encodes as the same JSON object as the dict it replaced, in half the time.
TailItem = msgspec.defstruct("TailItem", [(key, Any) for key in _TAIL_AT])


async def publish(rows: list[tuple]) -> None:
    if not rows:
        return
    grouped: dict[tuple[str, bool], list[Any]] = {}
    for row in rows:
        values = list(_tail_values(row))
        values[_STARTED_AT] = values[_STARTED_AT].isoformat()  # the tail's spelling, +00:00
        grouped.setdefault(_scope_of(row), []).append(TailItem(*values))
    try:
        async with redis().pipeline(transaction=False) as pipe:
            for (account_id, livemode), items in grouped.items():
                channel = TAIL_CHANNEL.format(account_id=account_id, mode="live" if livemode else "test")
                pipe.publish(channel, msgspec.json.encode(items))
            await pipe.execute()
    except Exception:  # the live tail is best effort; the rows are committed
        log.warning("could not publish the live tail", exc_info=True)
