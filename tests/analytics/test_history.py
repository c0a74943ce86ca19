"""Demo history: 90 realistic days, written once, consistent with the ledger and with the rollups."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server import db
from server.analytics import backfill, service
from server.context import Scope
from server.permissions import Role
from tests.analytics.helpers import differences
from tests.factories import new_account, user_ctx

pytestmark = pytest.mark.usefixtures("server")


async def test_demo_history_is_written_once_and_ties_out():
    account = await new_account(timezone="Europe/Berlin")
    account_id = account.account["id"]
    ctx = user_ctx(account_id, account.user["id"], Role.OWNER)
    written = await backfill.backfill_demo(ctx)

    assert written is not None and written.payments > 5_000 and written.refunds > 100
    assert written.customers > 500 and written.credits > 100 and written.transfers > 50 and written.requests > 5_000
    assert await backfill.backfill_demo(ctx) is None  # a restart finds history and writes nothing
    count = await db.fetchrow("SELECT count(*) AS n FROM payment_intents WHERE account_id = $1", account_id)
    assert count["n"] == written.payments
    future = await db.fetchrow(
        "SELECT (SELECT count(*) FROM api_request_logs WHERE account_id = $1 AND started_at > now()) "
        "+ (SELECT count(*) FROM payment_intents WHERE account_id = $1 AND created > now()) "
        "+ (SELECT count(*) FROM postings WHERE account_id = $1 AND created > now()) AS n", account_id)
    assert future["n"] == 0  # history ends now
    unsearchable = await db.fetchrow("SELECT count(*) AS n FROM api_request_logs WHERE account_id = $1 "
                                     "AND (search IS NULL OR search = ''::tsvector)", account_id)
    assert unsearchable["n"] == 0  # the log search finds history's requests by their words, as live ones

    # The ledger: every entry balances, every balance is the sum of its postings, no wallet below zero,
    # and the merchant balance is what the payments netted less what was refunded.
    assert await db.fetch("SELECT entry_id FROM postings WHERE account_id = $1 GROUP BY entry_id, currency "
                          "HAVING sum(amount) <> 0", account_id) == []
    assert await db.fetch(
        "SELECT la.id FROM ledger_accounts la LEFT JOIN postings p ON p.ledger_account_id = la.id "
        "WHERE la.account_id = $1 GROUP BY la.id, la.balance HAVING la.balance <> coalesce(sum(p.amount), 0) "
        "OR (NOT la.allow_negative AND la.balance < 0)", account_id) == []
    balances = {r["currency"]: r["balance"] for r in await db.fetch(
        "SELECT currency, balance FROM ledger_accounts WHERE account_id = $1 AND purpose = 'merchant_balance'",
        account_id)}
    sums = await db.fetch(
        "SELECT currency, sum(amount_received - fee) FILTER (WHERE status = 'succeeded') AS net FROM payment_intents "
        "WHERE account_id = $1 GROUP BY 1", account_id)
    refunded = {r["currency"]: r["total"] for r in await db.fetch(
        "SELECT currency, sum(amount) AS total FROM refunds WHERE account_id = $1 GROUP BY 1", account_id)}
    assert balances == {r["currency"]: r["net"] - refunded.get(r["currency"], 0) for r in sums}

    # The rollups: rebuilt from what was written, equal to the sources, to the ledger and to the request log.
    assert await differences(account_id, since=datetime.now(UTC) - timedelta(days=95)) == []

    # Realistic shape: quieter weekends and nights (in the account's zone), several currencies, converted.
    now = datetime.now(UTC)
    days = await service.timeseries(ctx, now - timedelta(days=84), now, interval="day",
                                    metrics=["successful_payments"])
    by_weekday = defaultdict(list)
    for point in days.points[1:-1]:  # whole local days
        by_weekday[point.start.astimezone(ZoneInfo(days.timezone)).weekday()].append(
            point.values["successful_payments"].value)
    weekday = sum(sum(by_weekday[d]) for d in range(5)) / sum(len(by_weekday[d]) for d in range(5))
    weekend = sum(sum(by_weekday[d]) for d in (5, 6)) / sum(len(by_weekday[d]) for d in (5, 6))
    assert weekend < 0.85 * weekday
    summary = await service.summary(ctx, now - timedelta(days=28), now)
    gross = summary.metric("gross_volume").current
    assert set(gross.by_currency) >= {"USD", "EUR", "GBP", "JPY", "KWD"}
    assert summary.unconverted_currencies == [] and gross.value > gross.by_currency["USD"]
    assert 0.8 < summary.metric("success_rate").current.value < 0.95
    assert summary.metric("api_requests").current.value > 1_000


async def test_the_bench_writer_seeds_a_given_size():
    account = await new_account()
    scope = Scope(account.account["id"], False)
    written = await backfill.seed(scope, payments=3_000, days=10)
    assert 2_500 < written.payments < 3_500
    assert await differences(scope.account_id, since=datetime.now(UTC) - timedelta(days=12)) == []
