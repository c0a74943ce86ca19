"""Home's numbers: today's gross volume, successful payments and success rate against yesterday."""

from __future__ import annotations

from datetime import timedelta

from server import db
from tests.factories import login
from tests.payments.helpers import merchant


async def test_today_against_yesterday_at_the_same_time(http, base_url):
    m = await merchant(http)
    await m.paid(1500)
    await m.paid(2500)
    await m.paid(999, number="4000000000000002")  # declined
    old = await m.paid(4000)
    # Move one success to yesterday, same time of day: it counts for yesterday only.
    await db.execute("UPDATE payment_intents SET created = created - $2::interval WHERE id = $1",
                     old["id"], timedelta(days=1))

    data = (await http.post("/graphql", headers=m.headers, json={"query": """{ paymentSummary {
        today { succeededCount failedCount successRate grossVolume { amount currency } }
        yesterday { succeededCount failedCount successRate grossVolume { amount currency } } } }"""})).json()
    summary = data["data"]["paymentSummary"]
    assert summary["today"] == {"succeededCount": 2, "failedCount": 1, "successRate": 2 / 3,
                                "grossVolume": [{"amount": 4000, "currency": "USD"}]}
    assert summary["yesterday"]["succeededCount"] == 1
    assert summary["yesterday"]["grossVolume"] == [{"amount": 4000, "currency": "USD"}]

    browser = await login(base_url, m.account.user["email"])
    try:
        home = await browser.get("/")
        assert 'data-testid="gross-today">$40.00<' in home.text and "66.7%" in home.text
        part = await browser.get("/?part=today", headers={"HX-Request": "true"})
        assert part.text.lstrip().startswith('<section class="card" id="today"') and "<html" not in part.text
    finally:
        await browser.client.aclose()
