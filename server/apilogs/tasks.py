"""Background work of the API request log: retention (with partitions ahead) and search indexing."""

from __future__ import annotations

import logging

from server.apilogs.service import apply_retention, engine
from server.health import readiness_details
from server.jobs import job
from server.settings import Settings

log = logging.getLogger(__name__)


@job("apilogs.retention", every=lambda settings: settings.apilog_retention_interval_seconds)
async def retention(settings: Settings) -> None:
    result = await apply_retention(ahead_days=settings.apilog_partitions_ahead_days)
    if any(result.values()):
        log.info("API log retention: %s", result)


@job("apilogs.index", every=lambda settings: settings.apilog_index_interval_seconds)
async def index(settings: Settings) -> None:
    current = engine()
    await current.index_pending()
    readiness_details["search"] = await current.lag()
