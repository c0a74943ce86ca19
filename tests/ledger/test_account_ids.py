"""Ledger account ids remembered per process: money still lands on the right rows after test data is deleted
(here, or by another process), and an account created by a transaction that rolled back is never remembered."""

from __future__ import annotations

from server import db
from server.accounts import queries as account_queries
from server.accounts import service as accounts
from server.context import Scope
from server.ledger import service as ledger
from tests.customers.helpers import api
from tests.factories import login
from tests.payments.helpers import merchant

DELETE = "mutation { r: deleteTestData(confirm: \"DELETE\") { __typename } }"


def remembered(scope: Scope) -> dict[tuple[str, str, str], str]:
    """What this process remembers of the scope's ledger accounts: (owner, purpose, currency) -> id."""
    return {key[2:]: la for key, la in ledger._known.items() if key[:2] == (scope.account_id, scope.livemode)}


async def ledger_rows(scope: Scope) -> set[str]:
    rows = await db.fetch("SELECT id FROM ledger_accounts WHERE account_id = $1 AND livemode = $2",
                          scope.account_id, scope.livemode)
    return {r["id"] for r in rows}


async def delete_as_another_process(account_id: str) -> None:
    """What "delete all test data" does in another web process: the rows go, this process is not told. Like the
    service, it runs again when PostgreSQL ends it to break a deadlock with the analytics follower, which is
    still taking in the payment made just before."""

    async def delete_all() -> None:
        async with db.transaction():
            for table in accounts.test_mode_tables():
                await account_queries.delete_test_rows(table, account_id)

    await db.deadlock_retried(delete_all)


class TestAfterTestDataIsDeleted:
    async def test_payments_post_to_the_new_accounts_after_a_delete_here(self, http, base_url):
        m = await merchant(http)
        scope = Scope(m.id, False)
        await m.paid(1000)
        assert remembered(scope), "the payment's ledger accounts are remembered"
        owner = await login(base_url, m.account.user["email"])
        try:
            assert (await owner.graphql(DELETE))["data"]["r"]["__typename"] == "DeleteTestDataPayload"
        finally:
            await owner.client.aclose()
        assert remembered(scope) == {}, "forgotten once the deletion committed"

        paid = await m.paid(2000)

        assert paid["status"] == "succeeded"
        assert await m.balance() == 2000 - paid["fee"], "only the new payment is on the balance"
        assert set(remembered(scope).values()) <= await ledger_rows(scope)

    async def test_a_delete_by_another_process_is_recovered_from_without_an_error(self, http):
        m = await merchant(http)
        scope = Scope(m.id, False)
        await m.paid(1000)
        stale = set(remembered(scope).values())
        assert stale, "the payment's ledger accounts are remembered"
        await delete_as_another_process(m.id)
        assert not stale & await ledger_rows(scope), "the remembered ids now name no row"

        paid = await m.paid(2500)

        assert paid["status"] == "succeeded"
        assert await m.balance() == 2500 - paid["fee"]
        assert not stale & set(remembered(scope).values()), "the stale ids were forgotten"

    async def test_credits_and_transfers_after_another_process_deleted(self, http):
        a = await api(http)
        scope = Scope(a.account.account["id"], False)
        alice, bob = await a.customer(), await a.customer()
        assert (await a.credit(alice["id"], 500)).status_code == 202
        stale = set(remembered(scope).values())
        await delete_as_another_process(scope.account_id)
        assert (await a.credit(alice["id"], 1)).status_code == 404, "the customer went with the test data"

        carol, dave = await a.customer(), await a.customer()
        credited = await a.credit(carol["id"], 700)
        moved = await a.post("/v1/transfers", {"from_customer": carol["id"], "to_customer": dave["id"],
                                               "amount": 300, "currency": "USD"})

        assert credited.status_code == 202, credited.text
        assert moved.status_code == 200, moved.text
        assert (await a.balance(carol["id"]), await a.balance(dave["id"])) == (400, 300)
        assert not stale & set(remembered(scope).values())
        assert bob["id"] != dave["id"]


class TestRolledBack:
    async def test_an_account_created_by_a_failed_transfer_is_not_remembered(self, http):
        a = await api(http)
        scope = Scope(a.account.account["id"], False)
        alice, bob = await a.customer(), await a.customer()
        assert (await a.credit(alice["id"], 100)).status_code == 202

        refused = await a.post("/v1/transfers", {"from_customer": alice["id"], "to_customer": bob["id"],
                                                 "amount": 101, "currency": "USD"})

        assert refused.status_code == 402
        assert (bob["id"], "customer_wallet", "USD") not in remembered(scope), "its wallet row was rolled back"
        assert (await a.credit(bob["id"], 250)).status_code == 202
        assert await a.balance(bob["id"]) == 250
        assert remembered(scope)[(bob["id"], "customer_wallet", "USD")] in await ledger_rows(scope)
