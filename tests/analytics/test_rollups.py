"""Rollups follow random traffic made through the real API, and equal what the source tables say.

Two witnesses: the verifier (the same metric definitions applied to the source rows, plus the ledger
and the request log), and SQL written here, independent of those definitions.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from server import db
from server.analytics import service
from server.permissions import Role
from tests.analytics.helpers import caught_up, differences
from tests.factories import new_account, user_ctx

CURRENCIES = ["USD", "JPY", "KWD", "EUR"]
CARDS = ["4242424242424242"] * 5 + ["4000000000000002", "4000000000009995", "4000000000000127",
                                    "4100000000000019"]
AMOUNTS = {"USD": (50, 250_000), "EUR": (50, 90_000), "JPY": (50, 3_000_000), "KWD": (100, 400_000)}


class Traffic:
    """Random merchant activity over HTTP with one account's secret key in one mode."""

    def __init__(self, http, account, mode: str, rng: random.Random) -> None:
        self.http, self.rng = http, rng
        self.headers = {"Authorization": f"Bearer {account.keys['secret_' + mode]}"}
        self.customers: list[str] = []
        self.wallets: dict[tuple[str, str], int] = {}
        self.paid: list[dict] = []
        self.authorized: list[dict] = []
        self.open: list[dict] = []

    async def post(self, path: str, body: dict) -> dict:
        resp = await self.http.post(path, json=body, headers=self.headers)
        while resp.status_code == 429:  # the tests' rate limit per key: wait as told, then go on
            await asyncio.sleep(float(resp.headers.get("retry-after", "1")))
            resp = await self.http.post(path, json=body, headers=self.headers)
        assert resp.status_code < 500, resp.text
        return resp.json() if resp.status_code < 300 else {}

    def amount(self, currency: str) -> int:
        low, high = AMOUNTS[currency]
        return self.rng.randint(low, high)

    async def customer(self) -> None:
        made = await self.post("/v1/customers", {"name": f"Customer {len(self.customers)}"})
        self.customers.append(made["id"])

    async def payment(self) -> None:
        currency = self.rng.choice(CURRENCIES)
        body = {"amount": self.amount(currency), "currency": currency.lower()}
        if self.customers and self.rng.random() < 0.5:
            body["customer"] = self.rng.choice(self.customers)
        if self.rng.random() < 0.15:
            body["capture_method"] = "manual"
        pi = await self.post("/v1/payment_intents", body)
        if self.rng.random() < 0.1:
            self.open.append(pi)
            return
        card = {"number": self.rng.choice(CARDS), "exp_month": 12, "exp_year": 2031, "cvc": "123"}
        done = await self.post(f"/v1/payment_intents/{pi['id']}/confirm", {"card": card})
        if done.get("status") == "succeeded":
            self.paid.append(done)
        elif done.get("status") == "requires_capture":
            self.authorized.append(done)

    async def capture_or_release(self) -> None:
        if not self.authorized:
            return
        pi = self.authorized.pop(self.rng.randrange(len(self.authorized)))
        if self.rng.random() < 0.6:
            part = self.rng.randint(1, pi["amount"])
            done = await self.post(f"/v1/payment_intents/{pi['id']}/capture", {"amount_to_capture": part})
            if done.get("status") == "succeeded":
                self.paid.append(done)
        else:
            await self.post(f"/v1/payment_intents/{pi['id']}/cancel", {})

    async def cancel_open(self) -> None:
        if self.open:
            pi = self.open.pop()
            await self.post(f"/v1/payment_intents/{pi['id']}/cancel", {"cancellation_reason": "abandoned"})

    async def refund(self) -> None:
        if not self.paid:
            return
        pi = self.rng.choice(self.paid)
        remaining = pi["amount_received"] - pi.get("refunded_here", 0)
        if remaining <= 0:
            return
        amount = remaining if self.rng.random() < 0.4 else self.rng.randint(1, remaining)
        if (await self.post("/v1/refunds", {"payment_intent": pi["id"], "amount": amount})).get("id"):
            pi["refunded_here"] = pi.get("refunded_here", 0) + amount

    async def credit(self) -> None:
        if not self.customers:
            return
        who, currency = self.rng.choice(self.customers), self.rng.choice(CURRENCIES)
        amount = self.amount(currency)
        made = await self.post(f"/v1/customers/{who}/credits", {"amount": amount, "currency": currency,
                                                                "transaction_id": secrets.token_hex(8)})
        if made:
            self.wallets[(who, currency)] = self.wallets.get((who, currency), 0) + amount

    async def transfer(self) -> None:
        funded = [k for k, v in self.wallets.items() if v > 1]
        if not funded or len(self.customers) < 2:
            return
        (sender, currency) = self.rng.choice(funded)
        receiver = self.rng.choice([c for c in self.customers if c != sender])
        amount = self.rng.randint(1, self.wallets[(sender, currency)])
        made = await self.post("/v1/transfers", {"from_customer": sender, "to_customer": receiver, "amount": amount,
                                                 "currency": currency})
        if made:
            self.wallets[(sender, currency)] -= amount
            self.wallets[(receiver, currency)] = self.wallets.get((receiver, currency), 0) + amount

    async def mistake(self) -> None:
        """A request the API refuses (4xx): counted in the API metrics with its error code."""
        await self.post("/v1/payment_intents", {"amount": "a lot", "currency": "usd"})

    async def run(self, steps: int) -> None:
        actions = [(self.customer, 3), (self.payment, 8), (self.capture_or_release, 2), (self.cancel_open, 1),
                   (self.refund, 3), (self.credit, 3), (self.transfer, 3), (self.mistake, 1)]
        for _ in range(steps):
            action = self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]
            await action()


async def _direct(account_id: str, livemode: bool) -> dict[str, dict[str, int]]:
    """Per currency, straight from the source tables (SQL written for this test)."""
    out: dict[str, dict[str, int]] = {}

    def add(currency: str, **values: int) -> None:
        row = out.setdefault(currency.upper(), {})
        for k, v in values.items():
            row[k] = row.get(k, 0) + int(v)

    for r in await db.fetch(
            "SELECT currency, count(*) FILTER (WHERE status = 'succeeded') AS ok, "
            "count(*) FILTER (WHERE status = 'failed') AS failed, "
            "coalesce(sum(amount_received) FILTER (WHERE status = 'succeeded'), 0) AS gross, "
            "coalesce(sum(fee) FILTER (WHERE status = 'succeeded'), 0) AS fee "
            "FROM payment_intents WHERE account_id = $1 AND livemode = $2 GROUP BY 1", account_id, livemode):
        add(r["currency"], successful_payments=r["ok"], failed_payments=r["failed"], gross_volume=r["gross"],
            fees=r["fee"])
    for r in await db.fetch("SELECT currency, count(*) AS n, sum(amount) AS total FROM refunds WHERE account_id = $1 "
                            "AND livemode = $2 AND status <> 'failed' GROUP BY 1", account_id, livemode):
        add(r["currency"], refunds=r["n"], refund_volume=r["total"])
    for table, count, volume in (("credits", "credits", "credit_volume"), ("transfers", "transfers",
                                                                            "transfer_volume")):
        for r in await db.fetch(f"SELECT currency, count(*) AS n, sum(amount) AS total FROM {table} "
                                "WHERE account_id = $1 AND livemode = $2 GROUP BY 1", account_id, livemode):
            add(r["currency"], **{count: r["n"], volume: r["total"]})
    return out


@pytest.mark.parametrize("seed", [11, 2026])
async def test_rollups_equal_the_sources_after_random_traffic(http, seed):
    rng = random.Random(seed)
    account = await new_account()
    test_traffic = Traffic(http, account, "test", rng)
    for _ in range(4):
        await test_traffic.customer()
    await test_traffic.run(70)
    live_traffic = Traffic(http, account, "live", rng)
    await live_traffic.customer()
    await live_traffic.run(12)
    await caught_up()

    assert await differences(account.account["id"]) == []

    now = datetime.now(UTC)
    for livemode in (False, True):
        ctx = user_ctx(account.account["id"], account.user["id"], Role.OWNER, livemode)
        summary = await service.summary(ctx, now - timedelta(days=1), now + timedelta(minutes=1), timezone="UTC")
        direct = await _direct(account.account["id"], livemode)
        for name in ("successful_payments", "failed_payments", "gross_volume", "fees", "refunds", "refund_volume",
                     "credits", "credit_volume", "transfers", "transfer_volume"):
            reported = summary.metric(name).current.by_currency
            expected = {c: v[name] for c, v in direct.items() if v.get(name)}
            assert {c: v for c, v in reported.items() if v} == expected, (livemode, name)
        customers = await db.fetchrow("SELECT count(*) AS n FROM customers WHERE account_id = $1 AND livemode = $2",
                                      account.account["id"], livemode)
        assert summary.metric("new_customers").current.value == customers["n"]
