"""Rollup levels: the same sums per 15 minutes, per UTC hour and per UTC day.

Every write adds to all three levels (in the same transaction), so a coarser row always equals the sum of
the finer rows inside it. A read covers its range with the fewest rows: whole UTC days inside, whole
hours around them, quarter hours at the edges. A chart's local periods must not split a row, so a level
is used for a chart only if every period boundary falls on its grain: hours serve every zone with whole-
hour offsets (most of them, DST included); a +05:45 zone reads quarter hours; days serve UTC charts
and summaries. A year then reads about 400 rows per currency instead of 35,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from server.analytics.buckets import EPOCH, bucket_time


@dataclass(frozen=True)
class Level:
    seconds: int
    table: str  # payment rollups
    api_table: str  # API rollups


QUARTER = Level(900, "analytics_rollups", "analytics_api_rollups")
HOUR = Level(3600, "analytics_rollups_hourly", "analytics_api_rollups_hourly")
DAY = Level(86400, "analytics_rollups_daily", "analytics_api_rollups_daily")
LEVELS = (QUARTER, HOUR, DAY)  # finest first

Segment = tuple[Level, datetime, datetime]


def floor_to(epoch_seconds: int, level: Level) -> int:
    return epoch_seconds - epoch_seconds % level.seconds


def _seconds(moment: datetime) -> int:
    return int((moment - EPOCH).total_seconds())


def _on_grain(moment: datetime, level: Level) -> bool:
    return _seconds(moment) % level.seconds == 0


def segments(start: datetime, end: datetime, boundaries: Sequence[datetime] = ()) -> list[Segment]:
    """Cover [start, end) (quarter-hour aligned) with whole rows of the coarsest levels that split no boundary."""
    usable = [level for level in LEVELS if all(_on_grain(b, level) for b in boundaries if start < b < end)]
    return _cover(_seconds(start), _seconds(end), usable)


def _cover(start: int, end: int, usable: list[Level]) -> list[Segment]:
    if start >= end:
        return []
    level, finer = usable[-1], usable[:-1]
    if not finer:
        return [(level, bucket_time(start), bucket_time(end))]
    inner_start, inner_end = -(-start // level.seconds) * level.seconds, end - end % level.seconds
    if inner_start >= inner_end:
        return _cover(start, end, finer)
    return [*_cover(start, inner_start, finer), (level, bucket_time(inner_start), bucket_time(inner_end)),
            *_cover(inner_end, end, finer)]
