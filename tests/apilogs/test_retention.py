"""Retention: exact at the boundary, whole partitions dropped, concurrent writes untouched."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from server import db
from server.apilogs import partitions
from server.apilogs.service import apply_retention
from server.ids import new_id
from tests.apilogs.helpers import capture, store
from tests.factories import new_account


async def stored_ids(account_id: str) -> set[str]:
    rows = await db.fetch("SELECT id FROM api_request_logs WHERE account_id = $1", account_id)
    return {r["id"] for r in rows}


async def test_retention_is_exact_at_the_boundary_with_writes_during_the_run(server):
    # given: an account keeping 2 days, with records just before, at and after the boundary
    account = await new_account(name="Retention Co")
    account_id = account.account["id"]
    await db.execute("UPDATE accounts SET log_retention_days = 2 WHERE id = $1", account_id)
    now = datetime.now(UTC).replace(microsecond=0)
    cutoff = now - timedelta(days=2)
    older = await store(*[capture(account_id, at=cutoff - timedelta(milliseconds=ms)) for ms in (1, 1000)],
                        capture(account_id, at=cutoff - timedelta(hours=30)))
    kept = await store(capture(account_id, at=cutoff), capture(account_id, at=cutoff + timedelta(milliseconds=1)),
                       capture(account_id, at=now - timedelta(hours=1)))
    neighbour = await new_account(name="Neighbour Co")  # default 30 days: its 3-day-old record stays
    theirs = await store(capture(neighbour.account["id"], at=cutoff - timedelta(days=1)))

    # when: retention runs while new records are being written
    async def keep_writing() -> list[str]:
        written = []
        for _ in range(5):
            written += await store(capture(account_id))
            await asyncio.sleep(0)
        return written

    result, during = await asyncio.gather(apply_retention(now=now), keep_writing())

    # then: nothing older than the retention survives, nothing younger is lost
    remaining = await stored_ids(account_id)
    assert remaining == set(kept) | set(during)
    assert not set(older) & remaining
    assert result["rows_deleted"] >= len(older)
    assert set(theirs) <= await stored_ids(neighbour.account["id"])


async def test_partitions_older_than_every_retention_are_dropped_whole(server):
    account = await new_account(name="Old Partitions Co")
    now = datetime.now(UTC)
    ancient_day = (now - timedelta(days=402)).date()
    ancient = await store(capture(account.account["id"], at=now - timedelta(days=402)))
    assert ancient_day in {day for _, day in await partitions.existing()}

    result = await apply_retention(now=now)

    assert partitions.name_of(ancient_day) not in {name for name, _ in await partitions.existing()}
    assert result["partitions_dropped"] >= 1
    assert not await stored_ids(account.account["id"]) & set(ancient)
    # and partitions exist ahead of time
    upcoming = {day for _, day in await partitions.existing()}
    assert {now.date() + timedelta(days=d) for d in range(0, 4)} <= upcoming


async def test_the_longest_retention_is_exact_inside_a_partly_expired_day(server):
    # given: an account at the default 30 days with records either side of its cutoff, same day
    account = await new_account(name="Boundary Day Co")
    account_id = account.account["id"]
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    cutoff = now - timedelta(days=30)
    expired = await store(capture(account_id, at=cutoff - timedelta(hours=1)))
    kept = await store(capture(account_id, at=cutoff + timedelta(hours=1)))

    await apply_retention(now=now)

    assert await stored_ids(account_id) == set(kept)
    assert not set(expired) & await stored_ids(account_id)


async def test_retention_forgets_stored_batch_ids_after_a_day_and_keeps_recent_ones(server):
    # given: the ids of two batches the log writer stored, one two days ago and one an hour ago
    now = datetime.now(UTC)
    old, recent = new_id("alb"), new_id("alb")
    for batch_id, at in ((old, now - timedelta(days=2)), (recent, now - timedelta(hours=1))):
        await db.execute("INSERT INTO api_log_batches (id, rows, stored_at) VALUES ($1, 1, $2)", batch_id, at)

    # when: retention runs
    await apply_retention(now=now)

    # then: only the recent one is still recorded (a batch is sent again within seconds, never after a day)
    rows = await db.fetch("SELECT id FROM api_log_batches WHERE id = ANY($1)", [old, recent])
    assert {r["id"] for r in rows} == {recent}
