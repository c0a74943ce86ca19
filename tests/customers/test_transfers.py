"""Transfers: same currency, across currencies at operator rates, refused without funds, concurrent."""

from __future__ import annotations

import asyncio
import random

from server import db
from tests.customers.helpers import api
from tests.factories import user_ctx


class TestTransfers:
    async def test_transfer_moves_money_and_can_be_read_back(self, http):
        a = await api(http)
        alice, bob = await a.customer(), await a.customer()
        await a.credit(alice["id"], 1000)
        resp = await a.post("/v1/transfers", {"from_customer": alice["id"], "to_customer": bob["id"],
                                              "amount": 400, "currency": "usd"})
        assert resp.status_code == 200, resp.text
        transfer = resp.json()
        assert (await a.balance(alice["id"]), await a.balance(bob["id"])) == (600, 400)
        got = (await a.get(f"/v1/transfers/{transfer['id']}")).json()
        listed = (await a.get("/v1/transfers", params={"customer": bob["id"]})).json()
        assert got["amount"] == 400 and [t["id"] for t in listed["data"]] == [transfer["id"]]

    async def test_insufficient_funds_is_402_and_changes_nothing(self, http):
        a = await api(http)
        alice, bob = await a.customer(), await a.customer()
        await a.credit(alice["id"], 100)
        resp = await a.post("/v1/transfers", {"from_customer": alice["id"], "to_customer": bob["id"],
                                              "amount": 101, "currency": "USD"})
        assert resp.status_code == 402 and resp.json()["error"]["code"] == "insufficient_funds"
        assert (await a.balance(alice["id"]), await a.balance(bob["id"])) == (100, 0)
        assert (await a.get("/v1/transfers")).json()["data"] == []

    async def test_suspended_customer_cannot_send(self, http):
        a = await api(http)
        alice, bob = await a.customer(), await a.customer()
        await a.credit(alice["id"], 100)
        await a.post(f"/v1/customers/{alice['id']}", {"status": "suspended"})
        resp = await a.post("/v1/transfers", {"from_customer": alice["id"], "to_customer": bob["id"],
                                              "amount": 10, "currency": "USD"})
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "customer_suspended"

    async def test_cross_currency_converts_at_the_rate_less_spread_through_fx_accounts(self, http):
        from server.ledger import fx

        a = await api(http)
        ctx = user_ctx(a.account.account["id"], a.account.user["id"])
        await fx.set_rate(ctx, "USD", "JPY", "150.5", 100)  # 1% spread
        alice, bob = await a.customer(), await a.customer()
        await a.credit(alice["id"], 10_000)
        resp = await a.post("/v1/transfers", {"from_customer": alice["id"], "to_customer": bob["id"],
                                              "amount": 10_000, "currency": "USD", "to_currency": "JPY"})
        assert resp.status_code == 200, resp.text
        # 100.00 USD * 150.5 * 0.99 = 14899.5 JPY, rounded down (JPY has no minor unit)
        assert resp.json()["to_amount"] == 14899
        assert await a.balance(bob["id"], "JPY") == 14899
        sums = await db.fetch("SELECT currency, sum(amount) AS s FROM postings WHERE account_id = $1 "
                              "GROUP BY currency", a.account.account["id"])
        assert all(r["s"] == 0 for r in sums)
        missing = await a.post("/v1/transfers", {"from_customer": bob["id"], "to_customer": alice["id"],
                                                 "amount": 100, "currency": "JPY", "to_currency": "EUR"})
        assert missing.status_code == 400 and missing.json()["error"]["param"] == "to_currency"


class TestConcurrentTransfers:
    async def test_a_thousand_random_transfers_conserve_money_without_deadlocks(self, http):
        from server.customers import service, wallet
        from server.errors import PaymentRequired

        a = await api(http)
        ctx = user_ctx(a.account.account["id"], a.account.user["id"])
        customers = [(await service.create(ctx, None, f"c{i}")).id for i in range(20)]
        for i, cid in enumerate(customers):
            await wallet.credit(ctx, cid, 1_000, "USD", f"seed_{i}")
        rng = random.Random(7)
        pairs = [rng.sample(customers, 2) for _ in range(1000)]
        outcomes = {"ok": 0, "402": 0}
        sem = asyncio.Semaphore(16)

        async def one(src: str, dst: str) -> None:
            async with sem:
                try:
                    await wallet.transfer(ctx, src, dst, rng.randint(1, 300), "USD")
                    outcomes["ok"] += 1
                except PaymentRequired:
                    outcomes["402"] += 1

        await asyncio.gather(*[one(s, d) for s, d in pairs])  # any deadlock error would surface here
        assert outcomes["ok"] + outcomes["402"] == 1000 and outcomes["ok"] > 500
        rows = await db.fetch("SELECT balance FROM ledger_accounts WHERE account_id = $1 AND purpose = "
                              "'customer_wallet'", a.account.account["id"])
        assert sum(r["balance"] for r in rows) == 20 * 1_000 and min(r["balance"] for r in rows) >= 0
        count = await db.fetchrow("SELECT count(*) AS n FROM transfers WHERE account_id = $1",
                                  a.account.account["id"])
        assert count["n"] == outcomes["ok"]
