"""A credit without an Idempotency-Key is one SQL statement that commits on its own (customer_credit()): what it
refuses writes nothing, what it commits is durable before the answer, and its event and first-use ledger
accounts are the ones the Python services would have written."""

from __future__ import annotations

import asyncio

from server import db
from server.context import Scope
from server.faults import HEADER as FAULT
from server.ledger import service as ledger
from tests.customers.helpers import Api, api


async def written(a: Api) -> dict[str, int]:
    """Rows of the account's test mode that a credit writes."""
    account = a.account.account["id"]
    counts = {}
    for table in ("credits", "journal_entries", "postings", "ledger_accounts"):
        row = await db.fetchrow(f"SELECT count(*) AS n FROM {table} WHERE account_id = $1 AND NOT livemode", account)
        counts[table] = row["n"]
    row = await db.fetchrow("SELECT count(*) AS n FROM events WHERE account_id = $1 AND type = 'credit.created'",
                            account)
    counts["events"] = row["n"]
    return counts


class TestOneStatement:
    async def test_the_event_carries_what_the_answer_says(self, http):
        a = await api(http)
        c = await a.customer()
        await a.credit(c["id"], 40)

        answer = (await a.credit(c["id"], 60, transaction_id="tx_event")).json()

        event = await db.fetchrow("SELECT data, request_id FROM events WHERE type = 'credit.created' "
                                  "AND object_id = $1", answer["id"])
        assert event["data"] == answer and answer["current_balance"] == 100
        assert event["request_id"], "the event names the request that made it"

    async def test_refusals_write_nothing(self, http):
        a = await api(http)
        c, closed = await a.customer(), await a.customer()
        assert (await http.delete(f"/v1/customers/{closed['id']}", headers=a.headers)).status_code == 200
        assert (await a.credit(c["id"], 5, transaction_id="tx_used")).status_code == 202
        before = await written(a)

        unknown = await a.credit("cus_unknown", 10)
        refused = await a.credit(closed["id"], 10)
        reused = await a.credit(c["id"], 10, transaction_id="tx_used")

        assert (unknown.status_code, unknown.json()["error"]["param"]) == (404, "id")
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "customer_closed")
        assert (reused.status_code, reused.json()["error"]["code"]) == (422, "transaction_already_processed")
        assert await written(a) == before, "no credit, entry, posting, ledger account or event"

    async def test_a_first_credit_creates_the_accounts_the_ledger_would(self, http):
        a = await api(http)
        scope = Scope(a.account.account["id"], False)
        c = await a.customer()

        results = await asyncio.gather(*[a.credit(c["id"], 10) for _ in range(8)])

        assert [r.status_code for r in results] == [202] * 8
        assert sorted(r.json()["current_balance"] for r in results) == list(range(10, 90, 10))
        rows = await db.fetch("SELECT id, owner_id, purpose, allow_negative FROM ledger_accounts "
                              "WHERE account_id = $1 AND NOT livemode", scope.account_id)
        assert sorted((r["owner_id"], r["purpose"], r["allow_negative"]) for r in rows) == sorted([
            (c["id"], "customer_wallet", ledger.PURPOSES["customer_wallet"]),
            (scope.account_id, "funding", ledger.PURPOSES["funding"])]), "one of each, however many raced"
        ids = {(r["owner_id"], r["purpose"]): r["id"] for r in rows}
        assert ledger.known_account_id(scope, c["id"], "customer_wallet", "USD") == ids[(c["id"], "customer_wallet")]
        assert ledger.known_account_id(scope, scope.account_id, "funding", "USD") == ids[
            (scope.account_id, "funding")]


class TestFailures:
    async def test_a_failure_after_its_commit_leaves_the_credit_and_a_retry_is_refused(self, http):
        a = await api(http)
        c = await a.customer()
        body = {"amount": 250, "currency": "USD", "transaction_id": "tx_after"}

        failed = await http.post(f"/v1/customers/{c['id']}/credits", json=body,
                                 headers={**a.headers, FAULT: "after-commit=1"})
        retried = await a.post(f"/v1/customers/{c['id']}/credits", body)

        assert failed.status_code == 500
        assert (retried.status_code, retried.json()["error"]["code"]) == (422, "transaction_already_processed")
        assert await a.balance(c["id"]) == 250, "committed once, before the failure; not again"

    async def test_a_failure_before_its_commit_writes_nothing_and_a_retry_credits(self, http):
        a = await api(http)
        c = await a.customer()
        body = {"amount": 250, "currency": "USD", "transaction_id": "tx_before"}
        before = await written(a)

        failed = await http.post(f"/v1/customers/{c['id']}/credits", json=body,
                                 headers={**a.headers, FAULT: "before-commit=1"})
        untouched = await written(a)
        retried = await a.post(f"/v1/customers/{c['id']}/credits", body)

        assert failed.status_code == 500 and untouched == before
        assert retried.status_code == 202 and retried.json()["current_balance"] == 250
