"""Wallet transfers are decided before anything is posted: a blocked one is refused, no trace in the ledger."""

from __future__ import annotations

from server import db
from tests.customers.helpers import api
from tests.factories import gql


async def funded(http, amount: int = 100_000):
    a = await api(http)
    sender, receiver = (await a.customer(email="sender@example.com"))["id"], (await a.customer())["id"]
    assert (await a.credit(sender, amount)).status_code == 202
    return a, sender, receiver


async def test_a_transfer_carries_its_risk(http):
    a, sender, receiver = await funded(http)
    resp = await a.post("/v1/transfers", {"from_customer": sender, "to_customer": receiver, "amount": 500,
                                          "currency": "USD"})
    assert resp.status_code == 200, resp.text
    risk = resp.json()["risk"]
    assert risk["level"] == "normal" and risk["outcome"] == "allow"
    explained = (await a.get(f"/v1/radar/evaluations/{risk['evaluation']}")).json()
    assert explained["object_type"] == "transfer" and explained["transfer"] == resp.json()["id"]
    signals = explained["signals"]
    assert signals["transaction_type"] == "transfer" and signals["email"] == "sender@example.com"
    assert explained["signals"]["charge_attempts_per_customer_minutely"] == 1


async def test_a_blocked_transfer_is_refused_and_nothing_is_posted(http):
    a, sender, receiver = await funded(http)
    await a.post("/v1/radar/rules", {"rule": "block if :transaction_type: = 'transfer' and :amount_in_usd: > 100"})
    entries_before = await db.fetchrow("SELECT count(*) AS n FROM journal_entries WHERE account_id = $1",
                                       a.account.account["id"])
    resp = await a.post("/v1/transfers", {"from_customer": sender, "to_customer": receiver, "amount": 50_000,
                                          "currency": "USD"})
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "blocked_by_radar" and "blocked" in error["message"]
    assert error["risk"]["outcome"] == "block" and error["risk"]["rule"]["rule"].startswith("block if")
    assert await a.balance(sender) == 100_000 and await a.balance(receiver) == 0
    entries_after = await db.fetchrow("SELECT count(*) AS n FROM journal_entries WHERE account_id = $1",
                                      a.account.account["id"])
    assert entries_after["n"] == entries_before["n"]
    assert (await a.get("/v1/transfers")).json()["data"] == []
    stored = (await a.get(f"/v1/radar/evaluations/{error['risk']['evaluation']}")).json()
    assert stored["outcome"] == "block" and stored["object_type"] == "transfer"
    small = await a.post("/v1/transfers", {"from_customer": sender, "to_customer": receiver, "amount": 500,
                                           "currency": "USD"})
    assert small.status_code == 200


async def test_graphql_says_a_blocked_transfer_is_unprocessable(http):
    a, sender, receiver = await funded(http)
    await a.post("/v1/radar/rules", {"rule": "block if :transaction_type: = 'transfer'"})
    result = await gql(http, 'mutation($f: String!, $t: String!) { createTransfer(input: {fromCustomer: $f, '
                             'toCustomer: $t, amount: 100, currency: "USD"}) { __typename ... on Error { code } } }',
                       {"f": sender, "t": receiver}, headers=a.headers)
    assert result["data"]["createTransfer"] == {"__typename": "UnprocessableError", "code": "blocked_by_radar"}


async def test_a_reviewed_transfer_happens_and_its_review_can_only_be_approved(http):
    a, sender, receiver = await funded(http)
    await a.post("/v1/radar/rules", {"rule": "review if :transaction_type: = 'transfer'"})
    resp = await a.post("/v1/transfers", {"from_customer": sender, "to_customer": receiver, "amount": 700,
                                          "currency": "USD"})
    assert resp.status_code == 200 and resp.json()["risk"]["outcome"] == "review"
    assert await a.balance(receiver) == 700
    review = (await a.get("/v1/reviews")).json()["data"][0]
    assert review["transfer"] == resp.json()["id"] and review["payment_intent"] is None
    refused = await a.post(f"/v1/reviews/{review['id']}/refund", {"as_fraud": True})
    assert refused.status_code == 409
    assert (await a.post(f"/v1/reviews/{review['id']}/approve")).json()["closed_reason"] == "approved"
