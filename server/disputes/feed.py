"""The processor's dispute feed: every dispute it opened or changed, in its order, polled by a job.

The processor numbers every change of a dispute from one sequence; we keep the
last number applied (`processor_feeds`) and ask for what came after it. Each
report goes through `service.ingest`, which applies it once, so two processes
polling at the same time (every worker runs the job) or a poll repeated after a
crash change nothing twice; the position only moves forward. A report about a
payment whose charge answer is still being applied here stops the poll there,
and the next poll reads it again. A processor that
forgot everything (a simulator started without its state file) answers with
another `feed` id, and the feed is then read again from its start.

The processor is called with no transaction open; each report commits on its own.
"""

from __future__ import annotations

import logging

from server import clock, db
from server.disputes import queries, service
from server.payments.processor import processor

log = logging.getLogger(__name__)

FEED = "disputes"
BATCH = 100


async def poll(max_batches: int = 20) -> int:
    """Apply what the processor reported since the last poll; the number of reports read."""
    current = await queries.feed(FEED)
    epoch, position = (current.epoch, current.position) if current else ("", 0)
    read = 0
    for _ in range(max_batches):
        page = await processor().dispute_feed(after=position, limit=BATCH)
        if page.feed != epoch:
            if position:
                log.warning("the processor's dispute feed changed (%s → %s): reading it from its start", epoch,
                            page.feed)
            epoch, position = page.feed, 0
            if current is not None and current.position:
                current = None
                continue
        waiting = False
        for reported in page.data:
            try:
                await service.ingest(None, reported)
            except service.NotReady as exc:  # read again from here next time
                log.info("dispute %s waits: %s", reported.id, exc)
                waiting = True
                break
            position = max(position, reported.seq)
            read += 1
        async with db.transaction():
            await queries.save_feed(FEED, epoch, position, clock.now())
        if waiting or not page.has_more:
            break
    return read
