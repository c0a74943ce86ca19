"""Deleting an account's test data takes its tables in name order; a writer of the same account may lock them in
another (the analytics follower adds to rollups, then saves facts). When the two meet, PostgreSQL ends one of
them to break the deadlock; if that is the deletion, it runs again and completes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from server import db
from server.accounts import service as accounts
from server.analytics import queries as analytics
from server.context import Scope
from server.customers import service as customers
from server.settings import get_settings
from tests.factories import new_account, user_ctx
from tests.support import eventually

pytestmark = pytest.mark.usefixtures("server")  # migrated database, open pool


async def deletion_waits_on_customers() -> bool:
    row = await db.fetchrow("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND query LIKE 'WITH d AS (DELETE FROM \"customers\"%'")
    return bool(row and row["n"])


async def test_a_deletion_ended_by_a_deadlock_runs_again_and_completes():
    account = await new_account()
    account_id = account.account["id"]
    ctx = user_ctx(account_id, account.user["id"])
    customer = await customers.create(ctx, None, "held by another writer")
    fact = f"obj_{account_id}"  # analytics_facts comes before customers by name
    await analytics.save_facts([(fact, account_id, False, int(datetime.now(UTC).timestamp()) // 900 * 900, "usd",
                                 {})])

    other = await asyncpg.connect(get_settings().database_url)
    try:
        writer = other.transaction()
        await writer.start()
        await other.execute("SELECT 1 FROM customers WHERE id = $1 FOR UPDATE", customer.id)
        deletion = asyncio.create_task(accounts.delete_test_data(ctx, "DELETE"))
        await eventually(deletion_waits_on_customers,
                         message="the deletion never waited on the customer the other writer holds")
        # The deletion has its analytics fact and waits for the customer; the writer now wants the fact. The
        # deletion waited first, so its deadlock check runs first and ends it; the writer goes on.
        await other.execute("UPDATE analytics_facts SET currency = currency WHERE object_id = $1", fact)
        await writer.commit()
        counts = await asyncio.wait_for(deletion, 30)
    finally:
        await other.close()

    assert counts["customers"] == 1 and counts["analytics_facts"] >= 1
    scope = Scope(account_id, False)
    left = await db.fetchrow("SELECT (SELECT count(*) FROM customers WHERE account_id = $1 AND NOT livemode) + "
                             "(SELECT count(*) FROM analytics_facts WHERE account_id = $1 AND NOT livemode) AS n",
                             scope.account_id)
    assert left is not None and left["n"] == 0
