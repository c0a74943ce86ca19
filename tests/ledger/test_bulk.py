"""The ledger's bulk path writes dated history under the same rules as posting one entry at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from server import db
from server.context import Scope
from server.errors import PaymentRequired
from server.ids import new_id
from server.ledger import bulk
from server.ledger import queries as ledger_queries
from server.ledger import service as ledger
from server.ledger.rows import LedgerAccount
from tests.factories import new_account

pytestmark = pytest.mark.usefixtures("server")  # migrated database, open pool
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


async def _scope() -> Scope:
    account = await new_account()
    return Scope(account.account["id"], False)


async def _merchant(scope: Scope, currency: str = "USD") -> dict[str, LedgerAccount]:
    return {p: await ledger.merchant_account(scope, p, currency)
            for p in ("processor_clearing", "merchant_balance", "fees", "funding")}


async def _invariants(scope: Scope) -> None:
    """Entries balance per currency; each balance is the sum of its postings; running balances chain."""
    unbalanced = await db.fetch(
        "SELECT entry_id, currency FROM postings WHERE account_id = $1 AND livemode = $2 "
        "GROUP BY entry_id, currency HAVING sum(amount) <> 0", scope.account_id, scope.livemode)
    assert unbalanced == []
    drift = await db.fetch(
        "SELECT la.id FROM ledger_accounts la LEFT JOIN postings p ON p.ledger_account_id = la.id "
        "WHERE la.account_id = $1 AND la.livemode = $2 GROUP BY la.id, la.balance, la.version "
        "HAVING la.balance <> coalesce(sum(p.amount), 0) OR la.version <> count(p.id)",
        scope.account_id, scope.livemode)
    assert drift == []
    broken = await db.fetch(
        "SELECT id FROM (SELECT id, balance_after, account_seq, sum(amount) OVER w AS running, "
        "row_number() OVER w AS n FROM postings WHERE account_id = $1 AND livemode = $2 "
        "WINDOW w AS (PARTITION BY ledger_account_id ORDER BY created, account_seq)) x "
        "WHERE balance_after <> running OR account_seq <> n", scope.account_id, scope.livemode)
    assert broken == []


async def test_dated_history_balances_and_reads_back_at_any_time():
    scope = await _scope()
    m = await _merchant(scope)
    wallet_a, wallet_b = await ledger.wallet(scope, "cus_a", "USD"), await ledger.wallet(scope, "cus_b", "USD")
    entries = []
    for day in range(5):
        at = START + timedelta(days=day)
        entries.append(bulk.DatedEntry("payment", bulk.payment_legs(m["processor_clearing"], m["merchant_balance"],
                                                                    m["fees"], 10_000, 320), at,
                                       reference=f"pi_{day}"))
        entries.append(bulk.DatedEntry("credit", bulk.move_legs(m["funding"], wallet_a, 5_000),
                                       at + timedelta(hours=1), reference=f"tx_{day}"))
        entries.append(bulk.DatedEntry("transfer", bulk.move_legs(wallet_a, wallet_b, 3_000),
                                       at + timedelta(hours=2)))
    entries.append(bulk.DatedEntry("refund", bulk.move_legs(m["merchant_balance"], m["processor_clearing"], 2_500),
                                   START + timedelta(days=2, hours=5), reference="re_1"))
    written = await bulk.post_many(scope, entries, chunk=4)  # several calls: each continues the last

    assert written == 5 * (3 + 2 + 2) + 2
    await _invariants(scope)
    balance = (await ledger_queries.get_by_owner(scope, scope.account_id, "merchant_balance", "USD")).balance
    assert balance == 5 * 9_680 - 2_500
    assert (await ledger.balances(scope, "cus_b", "customer_wallet"))[0].available == 15_000
    then = await ledger.balances(scope, "cus_a", "customer_wallet", at=START + timedelta(days=1, hours=1, minutes=1))
    assert then[0].available == 2 * 5_000 - 3_000
    dates = await db.fetch("SELECT created FROM journal_entries WHERE account_id = $1 ORDER BY created",
                           scope.account_id)
    assert dates[0]["created"] == START and dates[-1]["created"] == START + timedelta(days=4, hours=2)


async def test_one_by_one_posting_goes_on_after_the_history():
    scope = await _scope()
    m = await _merchant(scope)
    await bulk.post_many(scope, [bulk.DatedEntry("credit", bulk.move_legs(m["funding"], m["merchant_balance"], 700),
                                                 START)])
    async with db.transaction():
        await ledger.record_payment(scope, "pi_now", 1_000, 59, "USD")
    await _invariants(scope)
    balance = (await ledger_queries.get_by_owner(scope, scope.account_id, "merchant_balance", "USD")).balance
    assert balance == 700 + 941


async def test_legs_are_the_ones_the_services_post():
    scope = await _scope()
    m = await _merchant(scope)
    async with db.transaction():
        entry = await ledger.record_payment(scope, "pi_x", 12_345, 388, "USD")
    posted = sorted((p.ledger_account_id, p.amount) for p in entry.postings)
    built = bulk.payment_legs(m["processor_clearing"], m["merchant_balance"], m["fees"], 12_345, 388)
    assert sorted((leg.ledger_account_id, leg.amount) for leg in built) == posted
    async with db.transaction():
        refund = await ledger.record_refund(scope, "re_x", 1_000, "USD")
    built = bulk.move_legs(m["merchant_balance"], m["processor_clearing"], 1_000)
    assert sorted((leg.ledger_account_id, leg.amount) for leg in built) == sorted(
        (p.ledger_account_id, p.amount) for p in refund.postings)


async def test_an_unbalanced_entry_is_refused_by_the_database_too():
    scope = await _scope()
    m = await _merchant(scope)
    entry_id = new_id("je")
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        async with db.transaction():
            await ledger_queries.post_bulk(
                scope, [(entry_id, "adjustment", None, "", START)],
                [(new_id("pst"), entry_id, m["funding"].id, -100),
                 (new_id("pst"), entry_id, m["merchant_balance"].id, 99)])
    with pytest.raises(ValueError, match="do not sum to zero"):
        await bulk.post_many(scope, [bulk.DatedEntry("adjustment", [
            ledger.Leg(m["funding"].id, "USD", -100), ledger.Leg(m["merchant_balance"].id, "USD", 99)], START)])
    assert await db.fetch("SELECT id FROM postings WHERE account_id = $1", scope.account_id) == []


async def test_a_history_that_overdraws_a_wallet_at_any_moment_writes_nothing():
    scope = await _scope()
    m = await _merchant(scope)
    wallet_a, wallet_b = await ledger.wallet(scope, "cus_a", "USD"), await ledger.wallet(scope, "cus_b", "USD")
    entries = [bulk.DatedEntry("transfer", bulk.move_legs(wallet_a, wallet_b, 500), START),  # before the money
               bulk.DatedEntry("credit", bulk.move_legs(m["funding"], wallet_a, 1_000), START + timedelta(hours=1))]
    with pytest.raises(PaymentRequired):
        async with db.transaction():
            await bulk.post_many(scope, entries)
    await _invariants(scope)
    assert (await ledger.balances(scope, "cus_a", "customer_wallet"))[0].available == 0


async def test_history_may_not_be_dated_before_what_an_account_already_holds():
    scope = await _scope()
    m = await _merchant(scope)
    async with db.transaction():
        await ledger.record_payment(scope, "pi_now", 1_000, 59, "USD")  # dated now
    with pytest.raises(asyncpg.CheckViolationError, match="already has postings after"):
        async with db.transaction():
            await bulk.post_many(scope, [bulk.DatedEntry("credit", bulk.move_legs(m["funding"], m["merchant_balance"],
                                                                                   100), START)])
    await _invariants(scope)


async def test_bulk_mode_ends_with_the_call_so_the_usual_guards_stay():
    scope = await _scope()
    m = await _merchant(scope)
    async with db.transaction():
        await bulk.post_many(scope, [bulk.DatedEntry("credit", bulk.move_legs(m["funding"], m["merchant_balance"],
                                                                               100), START)])
        assert (await db.fetchrow("SELECT ledger_bulk_mode() AS on_"))["on_"] is False
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="only through postings"):
        async with db.transaction():
            await db.execute("UPDATE ledger_accounts SET balance = balance + 1 WHERE id = $1",
                             m["merchant_balance"].id)
    entry_id = new_id("je")
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        async with db.transaction():
            await db.execute("INSERT INTO journal_entries (id, account_id, livemode, kind, created) "
                             "VALUES ($1, $2, false, 'x', now())", entry_id, scope.account_id)
            await db.execute("INSERT INTO postings (id, account_id, livemode, entry_id, ledger_account_id, currency, "
                             "amount, created) VALUES ($1, $2, false, $3, $4, 'USD', 5, now())", new_id("pst"),
                             scope.account_id, entry_id, m["merchant_balance"].id)
    await _invariants(scope)
