"""Benchmark periods: UTC calendar months, written YYYY-MM, kept as the month's first day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from server.errors import InvalidRequest

PERIOD = re.compile(r"(\d{4})-(\d{2})")
FIRST_YEAR, LAST_YEAR = 1900, 9998  # every month in range has a month before and after it


def parse(text: object, param: str = "period") -> date:
    """'2026-10' -> date(2026, 10, 1); anything else is a 400 naming `param`."""
    match = PERIOD.fullmatch(text) if isinstance(text, str) else None
    if not match or not 1 <= int(match[2]) <= 12 or not FIRST_YEAR <= int(match[1]) <= LAST_YEAR:
        raise InvalidRequest(f"{param} must be a month written YYYY-MM between {FIRST_YEAR}-01 and "
                             f"{LAST_YEAR}-12, such as 2026-10", param=param)
    return date(int(match[1]), int(match[2]), 1)


def label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def following(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def end(month: date) -> datetime:
    return start(following(month))


def of(moment: datetime) -> date:
    """The month holding `moment` (UTC)."""
    return moment.astimezone(UTC).date().replace(day=1)


def closed(now: datetime, delay: timedelta, back: int) -> list[date]:
    """The last `back` months that ended at least `delay` before `now`, oldest first."""
    newest = previous(of(now - delay))
    months = [newest]
    while len(months) < back:
        months.append(previous(months[-1]))
    return months[::-1]
