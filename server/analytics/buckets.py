"""Time: 15-minute UTC buckets, and the local hours, days, weeks and months built from them.

Every IANA time zone in use today is offset from UTC by a whole number of quarter hours
(+05:30 India, +05:45 Nepal, −03:30 Newfoundland, +08:45 Eucla), and so are its daylight-saving
changes. So every local hour, day, week or month is exactly a run of whole 15-minute UTC buckets,
and a chart in any zone is a sum of stored buckets with no approximation. (Historical offsets such as
Amsterdam's +00:19:32 before 1937 are not quarter hours; boundaries then round down to a bucket.)

Period boundaries are computed here, in Python with zoneinfo, and handed to SQL as one sorted array
(`width_bucket`), so there is one definition of "a local day" for every query.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from server.errors import InvalidRequest
from server.instants import TIMESTAMP, parse_instant, storable

BUCKET_SECONDS = 900
BUCKET = timedelta(seconds=BUCKET_SECONDS)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Interval(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"  # ISO weeks: Monday to Sunday
    MONTH = "month"


class Compare(StrEnum):
    PREVIOUS_PERIOD = "previous_period"
    PREVIOUS_YEAR = "previous_year"


class Range(StrEnum):
    """The ranges the dashboard offers, each ending now and starting at a local midnight."""

    TODAY = "today"  # since midnight, by hour
    LAST_7_DAYS = "last_7_days"  # today and the 6 days before, by day
    LAST_4_WEEKS = "last_4_weeks"  # today and the 27 days before, by day
    LAST_12_MONTHS = "last_12_months"  # this month and the 11 before, by month


RANGE_INTERVALS = {Range.TODAY: Interval.HOUR, Range.LAST_7_DAYS: Interval.DAY, Range.LAST_4_WEEKS: Interval.DAY,
                   Range.LAST_12_MONTHS: Interval.MONTH}


def bucket_start(epoch_seconds: float) -> int:
    """The start (Unix seconds) of the bucket holding an instant given in Unix seconds."""
    seconds = int(epoch_seconds // 1)
    return seconds - seconds % BUCKET_SECONDS


def bucket_time(epoch_seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=epoch_seconds)


def floor(moment: datetime) -> datetime:
    """The start of the bucket holding `moment`."""
    return bucket_time(bucket_start(_aware(moment).timestamp()))


def ceil(moment: datetime) -> datetime:
    """The first bucket boundary at or after `moment`."""
    down = floor(moment)
    return down if down == moment else down + BUCKET


def zone(name: str | None, param: str = "timezone") -> ZoneInfo:
    """An IANA zone by name, or a 400 naming `param`."""
    if not isinstance(name, str) or not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise InvalidRequest(f"{param} must be an IANA time zone name such as 'Europe/Berlin'", param=param)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"unknown time zone '{name}'; use an IANA name such as 'America/New_York'",
                             param=param) from None


def parse_time(value: str | None, param: str) -> datetime | None:
    """A Unix timestamp, an ISO 8601 time with an offset (aware), or a local date or time without one (naive:
    `localize` reads it in the zone of the request). A 400 naming `param` for anything else."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if TIMESTAMP.fullmatch(text):
        return parse_instant(text, param)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{param} must be a Unix timestamp, an ISO 8601 time, or a local date or time "
                             "(2026-10-01, 2026-10-01T09:00)", param=param) from None
    return when if when.tzinfo is None else storable(when, param)


def localize(moment: datetime, tz: ZoneInfo, param: str, earliest: int = 1970, latest: int = 2999) -> datetime:
    """`moment` as an aware instant: a naive one is a local time in `tz`; years outside [earliest, latest] are
    refused (far dates overflow once shifted by an offset)."""
    if not isinstance(moment, datetime):
        raise InvalidRequest(f"{param} must be a time", param=param)
    if not earliest <= moment.year <= latest or (moment.tzinfo is not None and not
                                                 earliest <= moment.astimezone(UTC).year <= latest):
        raise InvalidRequest(f"{param} must be between {earliest} and {latest}", param=param)
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of a local calendar day, in UTC (a day that starts with a DST gap starts at the gap)."""
    return floor(datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC))


def named_range(name: Range, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """[start, now) of a named range in the local calendar of `tz`; compared with the period before it,
    a range starting at local midnight moves back by whole days (today so far against yesterday so far)."""
    today = _aware(now).astimezone(tz).date()
    first = {Range.TODAY: today, Range.LAST_7_DAYS: today - timedelta(days=6),
             Range.LAST_4_WEEKS: today - timedelta(days=27),
             Range.LAST_12_MONTHS: today.replace(day=1) - relativedelta(months=11)}[name]
    return local_midnight(first, tz), _aware(now)


def period_starts(start: datetime, end: datetime, tz: ZoneInfo, interval: Interval) -> list[datetime]:
    """The starts (UTC) of the local periods that meet [start, end), the first at or before `start`."""
    start, end = _aware(start), _aware(end)
    if interval is Interval.HOUR:
        return _hour_starts(start, end, tz)
    first = _period_of(start.astimezone(tz).date(), interval)
    starts: list[datetime] = []
    day = first
    while True:
        boundary = local_midnight(day, tz)
        if boundary >= end and starts:
            return starts
        starts.append(boundary)
        day = _next_period(day, interval)


def _period_of(day: date, interval: Interval) -> date:
    if interval is Interval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval is Interval.MONTH:
        return day.replace(day=1)
    return day


def _next_period(day: date, interval: Interval) -> date:
    if interval is Interval.WEEK:
        return day + timedelta(days=7)
    if interval is Interval.MONTH:
        return day + relativedelta(months=1)
    return day + timedelta(days=1)


def _hour_starts(start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """Instants where the local clock reads a whole hour: a 23- or 25-hour day has 23 or 25 of them.

    Walking quarter hours in UTC (not local wall-clock hours) keeps both halves of a repeated hour
    and skips the hour that does not exist.
    """
    moment = floor(start)
    while moment.astimezone(tz).minute != 0 and moment > start - timedelta(hours=1):
        moment -= BUCKET
    starts = [moment]
    moment += BUCKET
    while moment < end:
        if moment.astimezone(tz).minute == 0:
            starts.append(moment)
        moment += BUCKET
    return starts


def comparison_range(start: datetime, end: datetime, tz: ZoneInfo, compare: Compare) -> tuple[datetime, datetime]:
    """The range to compare [start, end) with, on the local wall clock of `tz`.

    previous_year: the same local times a year earlier (29 February → 28 February).
    previous_period: the range just before, as long on the local clock; a range that starts at local
    midnight moves back by whole days (its length rounded up), so "today so far" compares with
    "yesterday up to the same time" and a 23-hour day with the whole day before it.
    """
    local_start = _aware(start).astimezone(tz).replace(tzinfo=None)
    local_end = _aware(end).astimezone(tz).replace(tzinfo=None)
    if compare is Compare.PREVIOUS_YEAR:
        shift: timedelta | relativedelta = relativedelta(years=1)
    else:
        length = local_end - local_start
        if local_start.time() == time(0):
            length = timedelta(days=-(-length // timedelta(days=1)))
        shift = length
    return (floor((local_start - shift).replace(tzinfo=tz).astimezone(UTC)),
            ceil((local_end - shift).replace(tzinfo=tz).astimezone(UTC)))


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC)
