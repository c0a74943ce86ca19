"""Daily partitions of api_request_logs: created ahead of time, dropped whole when expired.

A partition `api_request_logs_pYYYYMMDD` holds the UTC day [day, day + 1).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import asyncpg

from server import clock
from server.apilogs import queries

log = logging.getLogger(__name__)
PARENT = "api_request_logs"
_known: set[date] = set()


def name_of(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def day_of(name: str) -> date | None:
    try:
        return datetime.strptime(name.removeprefix(f"{PARENT}_p"), "%Y%m%d").date()
    except ValueError:
        return None


async def ensure(day: date) -> None:
    if day in _known:
        return
    start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
    try:
        await queries.create_partition(PARENT, name_of(day), start, end)
    except (asyncpg.DuplicateTableError, asyncpg.UniqueViolationError):
        pass  # another process created it at the same moment
    _known.add(day)


async def ensure_ahead(days_ahead: int, today: date | None = None) -> None:
    """Yesterday (late writers), today and `days_ahead` days after."""
    today = today or clock.now().date()
    for offset in range(-1, days_ahead + 1):
        await ensure(today + timedelta(days=offset))


async def existing() -> list[tuple[str, date]]:
    out = []
    for name in await queries.partition_names(PARENT):
        day = day_of(name)
        if day is not None:
            out.append((name, day))
    return out


async def drop_before(cutoff: datetime) -> list[str]:
    """Drop every partition whose whole day ends at or before `cutoff`."""
    dropped = []
    for name, day in await existing():
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        if end <= cutoff:
            await queries.drop_partition(name)
            _known.discard(day)
            dropped.append(name)
    return dropped
