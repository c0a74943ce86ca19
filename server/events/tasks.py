"""Background work of events: the dispatcher (long-running) and retention."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from server import infra
from server.events import queries
from server.events.dispatcher import Dispatcher
from server.ids import id_floor
from server.jobs import job
from server.settings import Settings

log = logging.getLogger(__name__)
RETENTION_BATCH = 5000


# Long-running: leads or stands by until the workers stop; 1 s is the pause before a restart after a crash.
@job("event-dispatcher", every=1.0)
async def dispatch(settings: Settings) -> None:
    assert settings.database_url
    await Dispatcher(settings.database_url, infra.redis(), poll_seconds=settings.event_poll_seconds).run()


@job("event-retention", every=3600.0)
async def retention(settings: Settings) -> None:
    await delete_expired(settings.event_retention_days)


async def delete_expired(days: int) -> int:
    """Delete events older than `days` days, in batches; safe to run in several processes at once."""
    cutoff_ms = int((time.time() - timedelta(days=days).total_seconds()) * 1000)
    cutoff = id_floor("evt", cutoff_ms)
    total = 0
    while True:
        deleted = await queries.delete_older_than(cutoff, RETENTION_BATCH)
        total += deleted
        if deleted < RETENTION_BATCH:
            break
    if total:
        log.info("event retention removed %d events older than %d days", total, days)
    return total
