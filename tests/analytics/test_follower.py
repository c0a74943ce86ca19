"""The follower applies each committed event once: across crashes, replays and concurrent followers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from server import db
from server.analytics import follower, metrics, queries, service
from server.analytics.backfill import write_payments
from server.analytics.history import Payment
from server.analytics.levels import LEVELS
from server.analytics.metrics import PAYMENT_INTENTS, Metric, succeeded
from server.context import Scope
from server.events.service import emit
from server.permissions import Role
from tests.analytics.helpers import caught_up, differences
from tests.factories import new_account, user_ctx
from tests.payments.helpers import Merchant
from tests.support import eventually


class Crash(Exception):
    pass


async def test_a_batch_that_dies_before_its_commit_is_applied_once_later(http):
    merchant = Merchant(http, await new_account())
    await caught_up()
    with pytest.raises(Crash):
        async with db.transaction():
            position = await queries.lock_position(follower.POSITION, wait=True)  # the app's follower passes
            for amount in (1_000, 2_000):
                await merchant.paid(amount)

            async def positioned() -> list:
                return [e for e in await queries.events_after(position, 1000, ["payment_intent"])
                        if e["account_id"] == merchant.id and e["data"] and e["data"]["status"] == "succeeded"]

            await eventually(lambda: _count(positioned, 2), message="both payments positioned")
            events = await queries.events_after(position, 1000, list(metrics.BY_OBJECT_TYPE))
            await follower.apply(events)
            raise Crash("the process dies before COMMIT")
    await caught_up()
    assert await differences(merchant.id) == []


async def _count(fetch, n: int) -> bool:
    return len(await fetch()) >= n


async def test_replaying_events_changes_nothing(http):
    """At least once is enough: a snapshot already counted moves the rollups by zero."""
    merchant = Merchant(http, await new_account())
    paid = await merchant.paid(7_000)
    await merchant.post("/v1/refunds", {"payment_intent": paid["id"], "amount": 700})
    await merchant.paid(900, number="4000000000000002")
    await caught_up()
    replay = await db.fetch("SELECT pos, account_id, livemode, object_type, object_id, data FROM events "
                            "WHERE account_id = $1 ORDER BY pos", merchant.id)
    async with db.transaction():
        await follower.apply(replay)
        await follower.apply(list(reversed(replay))[:3])  # and some of them again, out of order
        await follower.apply(replay[-3:])
    assert await differences(merchant.id) == []


async def test_concurrent_followers_apply_each_event_once(http):
    merchant = Merchant(http, await new_account())
    stop = asyncio.Event()

    async def follow() -> None:
        while not stop.is_set():
            await follower.catch_up(batch=3, wait=False)
            await asyncio.sleep(0)

    followers = [asyncio.create_task(follow()) for _ in range(4)]
    try:
        await asyncio.gather(*(merchant.paid(1_000 + i) for i in range(12)))
        await caught_up()
    finally:
        stop.set()
        await asyncio.gather(*followers)
    ctx = user_ctx(merchant.id, merchant.account.user["id"], Role.OWNER)
    summary = await service.summary(ctx, datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
    assert summary.metric("successful_payments").current.value == 12
    assert summary.metric("gross_volume").current.value == sum(1_000 + i for i in range(12))
    assert await differences(merchant.id) == []


async def test_a_new_metric_is_a_column_and_a_line(http, monkeypatch):
    """What docs/analytics.md promises: add the column, add the line; the follower, the verifier and a rebuild
    of history all count it."""
    for level in LEVELS:
        await db.execute(f"ALTER TABLE {level.table} ADD COLUMN big_payments bigint NOT NULL DEFAULT 0")
    try:
        monkeypatch.setattr(metrics, "METRICS", [*metrics.METRICS, Metric(
            "big_payments", PAYMENT_INTENTS, lambda pi: int(succeeded(pi) and pi["amount_received"] >= 5_000))])
        account = await new_account()
        merchant = Merchant(http, account)
        await write_payments(Scope(merchant.id, False), [  # history, written in bulk and rebuilt
            Payment(datetime.now(UTC) - timedelta(days=3), 9_000, "USD"),
            Payment(datetime.now(UTC) - timedelta(days=3), 100, "USD")])
        await merchant.paid(6_000)
        await merchant.paid(4_999)
        await caught_up()
        for level in LEVELS:
            row = await db.fetchrow(f"SELECT sum(big_payments) AS n FROM {level.table} WHERE account_id = $1",
                                    merchant.id)
            assert row["n"] == 2
        assert await differences(merchant.id, since=datetime.now(UTC) - timedelta(days=4)) == []
    finally:
        monkeypatch.undo()
        await caught_up()
        for level in LEVELS:
            await db.execute(f"ALTER TABLE {level.table} DROP COLUMN big_payments")


async def test_an_event_without_a_countable_snapshot_does_not_stop_analytics(http, caplog):
    merchant = Merchant(http, await new_account())
    async with db.transaction():  # hand-made data, as tests and scripts sometimes emit
        await emit(None, Scope(merchant.id, False), "customer.created", "customer", "cus_handmade", {"n": 1})
    await merchant.paid(1_000)
    await caught_up()
    assert await differences(merchant.id) == []
    assert "has no countable snapshot; skipped" in caplog.text
