"""Background work of the API request log: retention (with partitions ahead) and search indexing."""

from __future__ import annotations

import logging

from server.apilogs import queries
from server.apilogs.service import apply_retention, engine
from server.health import readiness_details
from server.jobs import job
from server.settings import Settings

log = logging.getLogger(__name__)
_indexes_match: set[str] = set()  # engines whose PostgreSQL search indexes this process has put right


@job("apilogs.retention", every=lambda settings: settings.apilog_retention_interval_seconds)
async def retention(settings: Settings) -> None:
    result = await apply_retention(ahead_days=settings.apilog_partitions_ahead_days)
    if any(result.values()):
        log.info("API log retention: %s", result)


@job("apilogs.index", every=lambda settings: settings.apilog_index_interval_seconds)
async def index(settings: Settings) -> None:
    current = engine()
    if current.name not in _indexes_match:  # once per process: indexes the engine does not read cost every COPY
        await queries.match_search_indexes(postgres_engine=current.name == "postgres")
        _indexes_match.add(current.name)
    await current.index_pending()
    readiness_details["search"] = await current.lag()
