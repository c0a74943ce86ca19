"""Customers over REST: create, retrieve, update, list, close; credits, balance, history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.customers.helpers import api


class TestCustomerLifecycle:
    async def test_create_retrieve_update_list(self, http):
        a = await api(http)
        # given
        created = await a.customer(email="ada@example.com", metadata={"tier": "gold"})
        assert created["id"].startswith("cus_") and created["status"] == "active"
        # when
        got = (await a.get(f"/v1/customers/{created['id']}")).json()
        updated = (await a.post(f"/v1/customers/{created['id']}", {"name": "Ada L", "status": "suspended"})).json()
        listed = (await a.get("/v1/customers", params={"limit": 1})).json()
        # then
        assert got["email"] == "ada@example.com" and got["metadata"] == {"tier": "gold"}
        assert updated["name"] == "Ada L" and updated["status"] == "suspended"
        assert listed["data"][0]["id"] == created["id"] and listed["has_more"] is False

    async def test_close_needs_zero_balance_and_names_it(self, http):
        a = await api(http)
        c = await a.customer()
        assert (await a.credit(c["id"], 1234)).status_code == 202
        resp = await http.delete(f"/v1/customers/{c['id']}", headers=a.headers)
        assert resp.status_code == 409
        error = resp.json()["error"]
        assert error["code"] == "balance_not_zero" and "12.34 USD" in error["message"]
        empty = await a.customer()
        closed = await http.delete(f"/v1/customers/{empty['id']}", headers=a.headers)
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        assert (await a.credit(empty["id"], 5)).status_code == 409

    async def test_events_are_emitted_in_the_same_transaction(self, http):
        from server import db

        a = await api(http)
        c = await a.customer()
        await a.credit(c["id"], 100)
        await a.post(f"/v1/customers/{c['id']}", {"name": "New"})
        rows = await db.fetch("SELECT type FROM events WHERE account_id = $1 AND object_id = $2 OR "
                              "(account_id = $1 AND type = 'credit.created') ORDER BY seq", a.account.account["id"],
                              c["id"])
        assert [r["type"] for r in rows] == ["customer.created", "credit.created", "customer.updated"]


class TestCredits:
    async def test_credit_answers_202_with_the_balance_then_422_on_reuse(self, http):
        a = await api(http)
        c = await a.customer()
        first = await a.credit(c["id"], 20, transaction_id="tx_1as4ndakdab")
        assert first.status_code == 202 and first.json()["current_balance"] == 20
        again = await a.credit(c["id"], 20, transaction_id="tx_1as4ndakdab")
        assert again.status_code == 422
        assert again.json()["error"]["code"] == "transaction_already_processed"
        assert again.json()["error"]["message"] == "transaction was already processed"
        assert await a.balance(c["id"]) == 20

    async def test_unknown_customer_is_404_and_missing_transaction_id_400(self, http):
        a = await api(http)
        missing = await a.credit("cus_nope", 10)
        assert missing.status_code == 404
        c = await a.customer()
        resp = await a.post(f"/v1/customers/{c['id']}/credits", {"amount": 10, "currency": "USD"})
        assert resp.status_code == 400 and resp.json()["error"]["param"] == "transaction_id"

    async def test_fifty_concurrent_credits_with_one_transaction_id_apply_once(self, http):
        from server import db

        a = await api(http)
        c = await a.customer()
        results = await asyncio.gather(*[a.credit(c["id"], 7, transaction_id="tx_same") for _ in range(50)])
        codes = sorted(r.status_code for r in results)
        assert codes == [202] + [422] * 49
        assert await a.balance(c["id"]) == 7
        entries = await db.fetch("SELECT id FROM journal_entries WHERE account_id = $1 AND reference = 'tx_same'",
                                 a.account.account["id"])
        assert len(entries) == 1


class TestBalanceAndHistory:
    async def test_point_in_time_balance(self, http):
        a = await api(http)
        c = await a.customer()
        await a.credit(c["id"], 100)
        between = datetime.now(UTC)
        await asyncio.sleep(0.01)
        await a.credit(c["id"], 50)
        now = (await a.get(f"/v1/customers/{c['id']}/balance")).json()
        then = (await a.get(f"/v1/customers/{c['id']}/balance", params={"at": between.isoformat()})).json()
        before = (await a.get(f"/v1/customers/{c['id']}/balance",
                              params={"at": int((between - timedelta(days=1)).timestamp())})).json()
        assert now["available"] == [{"amount": 150, "currency": "USD"}]
        assert then["available"] == [{"amount": 100, "currency": "USD"}]
        assert before["available"] == []

    async def test_history_pages_with_a_cursor_and_a_date_range(self, http):
        a = await api(http)
        c = await a.customer()
        for i in range(5):
            await a.credit(c["id"], i + 1, transaction_id=f"tx_h{i}")
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await a.get(f"/v1/customers/{c['id']}/history", params=params)).json()
            seen += [item["reference"] for item in page["data"]]
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
        assert seen == [f"tx_h{i}" for i in reversed(range(5))]
        future = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
        empty = (await a.get(f"/v1/customers/{c['id']}/history", params={"created[gte]": future})).json()
        assert empty["data"] == []

    async def test_bad_paging_parameters_are_400_with_clear_messages(self, http):
        a = await api(http)
        c = await a.customer()
        for limit in ("0", "101", "abc", "1.5"):
            resp = await a.get(f"/v1/customers/{c['id']}/history", params={"limit": limit})
            assert resp.status_code == 400
            assert resp.json()["error"]["message"] == "limit must be an integer between 1 and 100"
        resp = await a.get(f"/v1/customers/{c['id']}/history", params={"cursor": "!!notacursor"})
        assert resp.status_code == 400 and resp.json()["error"]["message"] == "invalid pagination cursor"
        resp = await a.get(f"/v1/customers/{c['id']}/history", params={"created[lte]": "yesterday"})
        assert resp.status_code == 400 and resp.json()["error"]["param"] == "created[lte]"
