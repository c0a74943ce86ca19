"""Group commit: concurrent callers' entries share one COMMIT, each caller gets its own result, none before it."""

from __future__ import annotations

import asyncio
import random

import pytest

from bench.ledger import entries, group
from server import db
from server.context import Scope
from server.errors import PaymentRequired
from server.ids import new_id
from server.ledger import service as ledger
from server.ledger.rows import LedgerAccount
from tests.factories import new_account
from tests.ledger.test_bulk import _invariants

pytestmark = pytest.mark.usefixtures("server")  # migrated database, open pool


@pytest.fixture(autouse=True)
async def batch_function(server):
    await entries.install()  # the benchmark's function: no migration creates it


async def _funded(scope: Scope, amounts: dict[str, int]) -> dict[str, LedgerAccount]:
    """A wallet per customer, credited with its amount (a customer wallet may not go negative)."""
    funding = await ledger.merchant_account(scope, "funding", "USD")
    wallets = {name: await ledger.wallet(scope, f"cus_{name}", "USD") for name in amounts}
    for name, amount in amounts.items():
        if amount:
            await ledger.transfer(scope, "credit", funding, wallets[name], amount)
    return wallets


async def _balance(account: LedgerAccount) -> int:
    row = await db.fetchrow("SELECT balance FROM ledger_accounts WHERE id = $1", account.id)
    assert row is not None
    return int(row["balance"])


async def test_concurrent_callers_each_get_their_own_result_from_one_commit():
    scope = Scope((await new_account()).account["id"], False)
    w = await _funded(scope, {"a": 100, "b": 1000, "c": 0})
    commits = []

    async def count_commit() -> None:
        commits.append(1)

    batcher = group.GroupCommit(window=0.05, drainers=1, before_commit=count_commit)
    moves = [("a", 80), ("a", 80), ("b", 10), ("b", 20)]  # a's second move would overdraw a
    results = await asyncio.gather(*[batcher.post(scope, "transfer", [ledger.Leg(w[src].id, "USD", -amount),
                                                                      ledger.Leg(w["c"].id, "USD", amount)])
                                     for src, amount in moves], return_exceptions=True)
    assert isinstance(results[1], PaymentRequired) and results[1].code.value == "insufficient_funds"
    made = [r for r in results if isinstance(r, ledger.Entry)]
    assert [r for r in results if not isinstance(r, ledger.Entry)] == [results[1]]
    assert made[0].balance_after(w["a"].id) == 20
    assert made[1].balance_after(w["b"].id) == 990 and made[2].balance_after(w["b"].id) == 970
    assert made[2].balance_after(w["c"].id) == 110
    assert [await _balance(w[n]) for n in "abc"] == [20, 970, 110]
    assert commits == [1]  # the four callers shared one transaction
    await _invariants(scope)


async def test_a_batch_that_fails_before_its_commit_answers_no_caller_with_success_and_writes_nothing():
    scope = Scope((await new_account()).account["id"], False)
    w = await _funded(scope, {"a": 100, "b": 0})

    async def crash() -> None:  # the batch's own database connection dies before COMMIT
        await db.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    batcher = group.GroupCommit(window=0.05, drainers=1, before_commit=crash)
    ids = [new_id("je") for _ in range(3)]
    results = await asyncio.gather(*[batcher.post(scope, "transfer", [ledger.Leg(w["a"].id, "USD", -10),
                                                                      ledger.Leg(w["b"].id, "USD", 10)], entry_id=i)
                                     for i in ids], return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results), results
    assert await db.fetch("SELECT id FROM journal_entries WHERE id = ANY($1)", ids) == []
    assert [await _balance(w["a"]), await _balance(w["b"])] == [100, 0]
    # the next batch goes through on a healthy connection
    entry = await group.post(scope, "transfer", [ledger.Leg(w["a"].id, "USD", -10), ledger.Leg(w["b"].id, "USD", 10)])
    assert entry.balance_after(w["b"].id) == 10
    await _invariants(scope)


async def test_group_commit_refuses_to_run_inside_the_callers_transaction():
    scope = Scope((await new_account()).account["id"], False)
    w = await _funded(scope, {"a": 100, "b": 0})
    with pytest.raises(RuntimeError, match="caller's transaction"):
        async with db.transaction():
            await group.transfer(scope, "transfer", w["a"], w["b"], 10)
    assert await _balance(w["b"]) == 0


async def test_an_unbalanced_entry_is_refused_before_it_is_queued():
    scope = Scope((await new_account()).account["id"], False)
    w = await _funded(scope, {"a": 100, "b": 0})
    with pytest.raises(ValueError, match="sum to zero"):
        await group.post(scope, "transfer", [ledger.Leg(w["a"].id, "USD", -10), ledger.Leg(w["b"].id, "USD", 9)])


async def test_a_reused_entry_id_or_a_foreign_ledger_account_is_refused_alone():
    scope = Scope((await new_account()).account["id"], False)
    other = Scope((await new_account()).account["id"], False)
    w = await _funded(scope, {"a": 100, "b": 0})
    foreign = await ledger.wallet(other, "cus_x", "USD")
    done = await group.post(scope, "transfer", [ledger.Leg(w["a"].id, "USD", -10), ledger.Leg(w["b"].id, "USD", 10)])
    batcher = group.GroupCommit(window=0.05, drainers=1)
    results = await asyncio.gather(
        batcher.post(scope, "transfer", [ledger.Leg(w["a"].id, "USD", -1), ledger.Leg(w["b"].id, "USD", 1)],
                     entry_id=done.id),
        batcher.post(scope, "transfer", [ledger.Leg(w["a"].id, "USD", -1), ledger.Leg(foreign.id, "USD", 1)]),
        batcher.post(scope, "transfer", [ledger.Leg(w["a"].id, "USD", -5), ledger.Leg(w["b"].id, "USD", 5)],
                     metadata={"note": "kept"}),
        return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and "already exists" in str(results[0])
    assert isinstance(results[1], RuntimeError) and "unknown ledger account" in str(results[1])
    assert isinstance(results[2], ledger.Entry) and results[2].balance_after(w["b"].id) == 15
    assert [await _balance(w["a"]), await _balance(w["b"]), await _balance(foreign)] == [85, 15, 0]
    row = await db.fetchrow("SELECT metadata FROM journal_entries WHERE id = $1", results[2].id)
    assert row is not None and row["metadata"] == {"note": "kept"}  # jsonb through the codec, not a string
    await _invariants(scope)


async def test_many_concurrent_moves_on_few_low_balances_never_overdraw_and_keep_the_ledger_whole():
    scope = Scope((await new_account()).account["id"], False)
    w = await _funded(scope, {n: 50 for n in "abcd"})
    rng = random.Random(14)
    moves = [rng.sample("abcd", 2) + [rng.randint(1, 40)] for _ in range(200)]
    batcher = group.GroupCommit(window=0.005, max_batch=17, drainers=2)
    results = await asyncio.gather(*[batcher.post(scope, "transfer", [ledger.Leg(w[src].id, "USD", -amount),
                                                                      ledger.Leg(w[dst].id, "USD", amount)])
                                     for src, dst, amount in moves], return_exceptions=True)
    refused = [r for r in results if not isinstance(r, ledger.Entry)]
    assert refused and all(isinstance(r, PaymentRequired) for r in refused)  # some overdrafts, each refused alone
    assert len(refused) < len(results)
    assert sum([await _balance(w[n]) for n in "abcd"]) == 200 and min([await _balance(w[n]) for n in "abcd"]) >= 0
    await _invariants(scope)
