"""Capture and expiry, refunds (also racing), receipts through the Redis cache, rollbacks without events."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from server import clock, db
from server.faults import HEADER as FAULT
from tests.payments.helpers import merchant


async def events_of(object_id: str) -> list[str]:
    rows = await db.fetch("SELECT type FROM events WHERE object_id = $1 ORDER BY seq", object_id)
    return [r["type"] for r in rows]


async def ledger_total(account_id: str) -> int:
    row = await db.fetchrow("SELECT coalesce(sum(amount), 0) AS total FROM postings WHERE account_id = $1", account_id)
    return row["total"]


async def test_partial_capture_posts_what_was_captured(http):
    m = await merchant(http)
    held = await m.paid(1000, capture_method="manual")
    assert held["status"] == "requires_capture" and held["capture_before"] > held["created"]
    assert await m.balance() == 0
    too_much = await m.post(f"/v1/payment_intents/{held['id']}/capture", {"amount_to_capture": 1001})
    assert too_much.status_code == 400 and too_much.json()["error"]["param"] == "amount_to_capture"
    done = (await m.post(f"/v1/payment_intents/{held['id']}/capture", {"amount_to_capture": 600})).json()
    assert done["status"] == "succeeded" and done["amount_received"] == 600
    assert done["fee"] == 17 + 30 and await m.balance() == 600 - 47
    assert await events_of(held["id"]) == ["payment_intent.created", "payment_intent.processing",
                                           "payment_intent.amount_capturable_updated", "payment_intent.succeeded"]


async def test_authorization_expires_after_seven_days(http):
    m = await merchant(http)
    held = await m.paid(1000, capture_method="manual")
    with clock.PAYMENTS.travel(timedelta(days=7, seconds=1)):
        resp = await m.post(f"/v1/payment_intents/{held['id']}/capture")
    assert resp.status_code == 409 and "'canceled' (expired)" in resp.json()["error"]["message"]
    after = (await m.get(f"/v1/payment_intents/{held['id']}")).json()
    assert after["status"] == "canceled" and after["cancellation_reason"] == "expired"
    assert await m.balance() == 0


async def test_capture_just_before_expiry_works(http):
    m = await merchant(http)
    held = await m.paid(1000, capture_method="manual")
    with clock.PAYMENTS.travel(timedelta(days=6, hours=23)):
        resp = await m.post(f"/v1/payment_intents/{held['id']}/capture")
    assert resp.json()["status"] == "succeeded"


async def test_partial_then_full_refund_never_more_than_paid(http):
    m = await merchant(http)
    await m.paid(50_000)
    pi = await m.paid(1000)
    first = await m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 300, "reason": "requested_by_customer"})
    assert first.status_code == 200 and first.json()["status"] == "succeeded", first.text
    over = await m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 701})
    assert over.status_code == 400 and over.json()["error"]["code"] == "amount_too_large"
    rest = await m.post("/v1/refunds", {"payment_intent": pi["id"]})
    assert rest.json()["amount"] == 700
    again = await m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 1})
    assert again.status_code == 400
    after = (await m.get(f"/v1/payment_intents/{pi['id']}")).json()
    assert after["amount_refunded"] == 1000
    assert await m.balance() == (50_000 - 1480) + (1000 - 59) - 1000
    assert await ledger_total(m.id) == 0


async def test_two_refunds_racing_for_the_remainder(http):
    m = await merchant(http)
    await m.paid(50_000)
    paid = [await m.paid(1000) for _ in range(3)]
    for pi in paid:
        assert (await m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 600})).status_code == 200
        results = await asyncio.gather(*[m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 400})
                                         for _ in range(2)])
        assert sorted(r.status_code for r in results) == [200, 400], [r.text for r in results]
        after = (await m.get(f"/v1/payment_intents/{pi['id']}")).json()
        assert after["amount_refunded"] == 1000
        refunded = await db.fetch("SELECT amount FROM refunds WHERE payment_intent_id = $1", pi["id"])
        assert sum(r["amount"] for r in refunded) == 1000
    assert await ledger_total(m.id) == 0
    assert await m.balance() == (50_000 - 1480) + 3 * (1000 - 59) - 3000


async def test_refund_of_unpaid_intent_is_409(http):
    m = await merchant(http)
    pi = await m.intent()
    resp = await m.post("/v1/refunds", {"payment_intent": pi["id"]})
    assert resp.status_code == 409 and "'requires_payment_method'" in resp.json()["error"]["message"]


async def test_rolled_back_refund_emits_no_event(http):
    m = await merchant(http)
    pi = await m.paid(1000)
    before = await events_of(pi["id"])
    resp = await m.post("/v1/refunds", {"payment_intent": pi["id"]}, headers={FAULT: "before-commit=1"})
    assert resp.status_code == 500, resp.text
    assert await events_of(pi["id"]) == before
    assert not await db.fetch("SELECT id FROM events WHERE account_id = $1 AND type LIKE 'refund.%'", m.id)
    assert not await db.fetch("SELECT id FROM refunds WHERE payment_intent_id = $1", pi["id"])
    assert (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["amount_refunded"] == 0
    assert await ledger_total(m.id) == 0


async def test_refunding_the_remainder_succeeds_and_the_merchant_balance_may_go_negative(http):
    m = await merchant(http)
    pi = await m.paid(2000)  # fee 2.9% + 30 = 88: the merchant balance is 1912
    first = await m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 500})
    assert first.status_code == 200 and first.json()["status"] == "succeeded", first.text
    rest = await m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 1500})
    assert rest.status_code == 200 and rest.json()["status"] == "succeeded", rest.text
    assert await m.balance() == 2000 - 88 - 2000  # the fee is not returned: the merchant owes it
    after = (await m.get(f"/v1/payment_intents/{pi['id']}")).json()
    assert after["amount_refunded"] == after["amount_received"] == 2000
    over = await m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 1})
    assert over.status_code == 400 and over.json()["error"]["code"] == "amount_too_large"
    assert over.json()["error"]["type"] != "card_error"
    assert await ledger_total(m.id) == 0


async def test_receipt_is_cached_in_redis_and_a_refund_changes_the_next_read(http):
    m = await merchant(http, name="Corner Bakery")
    await m.paid(50_000)
    pi = await m.paid(2500)
    url = pi["receipt"]["url"].split("/receipts/", 1)[1]
    first = await http.get(f"/receipts/{url}")
    assert first.status_code == 200 and first.headers["x-receipt-cache"] == "miss"
    assert "Corner Bakery" in first.text and "•••• 4242" in first.text and "$25.00" in first.text
    await db.execute("UPDATE accounts SET name = 'Renamed Bakery' WHERE id = $1", m.id)
    second = await http.get(f"/receipts/{url}")
    assert second.headers["x-receipt-cache"] == "hit" and "Corner Bakery" in second.text  # served from Redis
    by_id = await m.get(f"/v1/receipts/{pi['receipt']['id']}")
    assert by_id.json()["amount"] == 2500 and by_id.json()["refunds"] == []
    refund = await m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 1000})
    assert refund.status_code == 200
    third = await http.get(f"/receipts/{url}")
    assert third.headers["x-receipt-cache"] == "miss" and "Renamed Bakery" in third.text and "$10.00" in third.text
    assert (await m.get(f"/v1/receipts/{pi['receipt']['id']}")).json()["amount_refunded"] == 1000
    assert (await http.get("/receipts/not-a-token")).status_code == 404
