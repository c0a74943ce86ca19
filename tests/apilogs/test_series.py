"""The requests-and-errors chart: long unfiltered ranges read the API rollups, the rest count the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.apilogs import service
from server.apilogs.filters import LogFilter
from tests.apilogs.helpers import capture, new_account_id, store
from tests.factories import user_ctx


def _expected(times_and_status: list[tuple[datetime, int]], since: datetime, bucket: int) -> dict[datetime, tuple]:
    counts: dict[datetime, list[int]] = {}
    for at, status in times_and_status:
        start = since + timedelta(seconds=(at - since).total_seconds() // bucket * bucket)
        cell = counts.setdefault(start, [0, 0])
        cell[0] += 1
        cell[1] += int(status >= 400)
    return {k: tuple(v) for k, v in counts.items()}


def _nonzero(series: service.Series) -> dict[datetime, tuple]:
    return {p["at"]: (p["requests"], p["errors"]) for p in series.points if p["requests"]}


async def _seed(account: str, now: datetime) -> list[tuple[datetime, int]]:
    requests = [(now - timedelta(hours=20, minutes=m), status) for m, status in ((1, 200), (3, 404), (40, 200))]
    requests += [(now - timedelta(hours=2, seconds=s), status) for s, status in ((5, 200), (70, 500), (90, 201))]
    requests.append((now - timedelta(minutes=30), 200))
    other = new_account_id()  # another tenant's traffic in the same buckets counts for nobody else
    await store(*[capture(account, at=at, status=status) for at, status in requests],
                *[capture(other, at=at, status=500) for at, _ in requests])
    return requests


async def test_a_day_unfiltered_is_counted_from_the_rollups_per_quarter_hour(server):
    account, now = new_account_id(), datetime.now(UTC)
    requests = await _seed(account, now)
    ctx = user_ctx(account, "usr_series")
    since, until = now - timedelta(hours=24), now + timedelta(minutes=1)
    series = await service.series(ctx, LogFilter(since=since, until=until), None, since, until)
    assert series.bucket_seconds == 900
    first = series.points[0]["at"]
    # 24 hours and a minute: 97 quarter-hours, or 98 when the minute crosses into the next one
    quarters = int(until.timestamp() // 900 - since.timestamp() // 900) + 1
    assert first.timestamp() % 900 == 0 and len(series.points) == quarters in (97, 98)
    assert _nonzero(series) == _expected(requests, first, 900)


async def test_filtered_or_short_ranges_count_the_rows_per_minute(server):
    account, now = new_account_id(), datetime.now(UTC)
    requests = await _seed(account, now)
    ctx = user_ctx(account, "usr_series")
    since, until = now - timedelta(hours=24), now + timedelta(minutes=1)
    filtered = await service.series(ctx, LogFilter(method="GET", since=since, until=until), None, since, until)
    assert filtered.bucket_seconds == 60
    assert _nonzero(filtered) == _expected(requests, filtered.points[0]["at"], 60)
    searched = await service.series(ctx, LogFilter(since=since, until=until), "account", since, until)
    assert searched.bucket_seconds == 60 and sum(p["requests"] for p in searched.points) == len(requests)
    hour_ago = now - timedelta(hours=3)
    short = await service.series(ctx, LogFilter(), None, hour_ago, until)
    assert short.bucket_seconds == 60
    assert _nonzero(short) == _expected([r for r in requests if r[0] >= hour_ago], short.points[0]["at"], 60)
