"""Background work of the API request log: retention (with partitions ahead) and search indexing."""

from __future__ import annotations

import logging

from server.settings import Settings

log = logging.getLogger(__name__)


def jobs(settings: Settings) -> list:
    from server.workers import Job

    async def retention() -> None:
        from server.apilogs.service import apply_retention

        result = await apply_retention(ahead_days=settings.apilog_partitions_ahead_days)
        if any(result.values()):
            log.info("API log retention: %s", result)

    async def index() -> None:
        from server.apilogs.service import engine
        from server.health import readiness_details

        current = engine()
        await current.index_pending()
        readiness_details["search"] = await current.lag()

    return [Job("apilogs.retention", settings.apilog_retention_interval_seconds, retention),
            Job("apilogs.index", settings.apilog_index_interval_seconds, index)]
