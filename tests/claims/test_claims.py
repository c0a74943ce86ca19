"""Claims on wallet transfers: inquiry → claim → decision → appeal, with the money held at each step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server import clock, db
from server.claims import service
from server.ledger import fx
from tests.customers.helpers import Api, api
from tests.disputes.helpers import events_of
from tests.factories import user_ctx


async def _balanced(a: Api) -> None:
    unbalanced = await db.fetch("SELECT entry_id FROM postings WHERE account_id = $1 GROUP BY entry_id, currency "
                                "HAVING sum(amount) <> 0", a.account.account["id"])
    assert unbalanced == []


async def _held(a: Api, customer_id: str, currency: str = "USD") -> int:
    row = await db.fetchrow("SELECT coalesce(sum(balance), 0) AS b FROM ledger_accounts WHERE account_id = $1 "
                            "AND owner_id = $2 AND purpose = 'claim_hold' AND currency = $3",
                            a.account.account["id"], customer_id, currency)
    return int(row["b"])


async def _merchant_balance(a: Api, currency: str = "USD") -> int:
    row = await db.fetchrow("SELECT coalesce(sum(balance), 0) AS b FROM ledger_accounts WHERE account_id = $1 "
                            "AND livemode = false AND purpose = 'merchant_balance' AND currency = $2",
                            a.account.account["id"], currency)
    return int(row["b"])


@pytest.fixture
async def parties(http):
    """An account with a sender (credited 10,000) who sent 6,000 to a receiver."""
    a = await api(http)
    sender, receiver = await a.customer(name="Sam"), await a.customer(name="Rita")
    assert (await a.credit(sender["id"], 10_000)).status_code == 202
    made = await a.post("/v1/transfers", {"from_customer": sender["id"], "to_customer": receiver["id"],
                                          "amount": 6_000, "currency": "USD"})
    assert made.status_code == 200, made.text
    return a, sender["id"], receiver["id"], made.json()


async def _open(a: Api, transfer: dict, **body) -> dict:
    resp = await a.post("/v1/transfer_claims", {"transfer": transfer["id"], "reason": "not_received",
                                                "message": "It never arrived.", **body})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_the_full_path_inquiry_claim_refund_appeal_deny_with_holds(parties):
    a, sender, receiver, transfer = parties
    claim = await _open(a, transfer)
    assert claim["status"] == "inquiry" and claim["hold"] is None and claim["amount"] == 6_000
    assert [m["author"] for m in claim["messages"]] == ["sender"]
    assert await a.balance(receiver) == 6_000  # an inquiry holds nothing

    reply = await a.post(f"/v1/transfer_claims/{claim['id']}/messages", {"author": "receiver",
                                                                        "body": "Shipped on Monday."})
    assert reply.status_code == 200 and reply.json()["author"] == "receiver"

    escalated = await a.post(f"/v1/transfer_claims/{claim['id']}/escalate")
    assert escalated.status_code == 200, escalated.text
    body = escalated.json()
    assert body["status"] == "claim" and body["hold"] == {"party": "receiver", "customer": receiver, "amount": 6_000,
                                                          "currency": "USD"}
    assert await a.balance(receiver) == 0 and await _held(a, receiver) == 6_000  # available balance reflects it

    refunded = await a.post(f"/v1/transfer_claims/{claim['id']}/decide", {"decision": "refund", "note": "no proof"})
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "refunded" and refunded.json()["hold"] is None
    assert await a.balance(sender) == 10_000 and await a.balance(receiver) == 0 and await _held(a, receiver) == 0

    appealed = await a.post(f"/v1/transfer_claims/{claim['id']}/appeal", {"by": "receiver",
                                                                         "message": "Here is the tracking."})
    assert appealed.status_code == 200, appealed.text
    assert appealed.json()["status"] == "appeal" and appealed.json()["hold"]["party"] == "sender"
    assert await a.balance(sender) == 4_000 and await _held(a, sender) == 6_000

    denied = await a.post(f"/v1/transfer_claims/{claim['id']}/decide", {"decision": "deny"})
    assert denied.status_code == 200 and denied.json()["status"] == "denied"
    assert await a.balance(sender) == 4_000 and await a.balance(receiver) == 6_000
    assert await _held(a, sender) == 0 and await _held(a, receiver) == 0

    again = await a.post(f"/v1/transfer_claims/{claim['id']}/appeal", {"by": "sender"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "transfer_claim_already_appealed"
    assert await events_of(claim["id"]) == ["transfer_claim.opened", "transfer_claim.escalated",
                                            "transfer_claim.decided", "transfer_claim.appealed",
                                            "transfer_claim.decided"]
    assert await _merchant_balance(a) == 0  # the receiver could pay: the merchant paid nothing
    await _balanced(a)


async def test_a_denied_claim_releases_the_hold_and_the_sender_may_appeal_once(parties):
    a, sender, receiver, transfer = parties
    claim = await _open(a, transfer, amount=2_000)
    await a.post(f"/v1/transfer_claims/{claim['id']}/escalate")
    assert await a.balance(receiver) == 4_000 and await _held(a, receiver) == 2_000
    await a.post(f"/v1/transfer_claims/{claim['id']}/decide", {"decision": "deny"})
    assert await a.balance(receiver) == 6_000 and await _held(a, receiver) == 0
    wrong = await a.post(f"/v1/transfer_claims/{claim['id']}/appeal", {"by": "receiver"})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "by"
    appealed = await a.post(f"/v1/transfer_claims/{claim['id']}/appeal", {"by": "sender"})
    assert appealed.json()["hold"]["party"] == "receiver" and await _held(a, receiver) == 2_000
    refunded = await a.post(f"/v1/transfer_claims/{claim['id']}/decide", {"decision": "refund"})
    assert refunded.json()["status"] == "refunded"
    assert await a.balance(sender) == 6_000 and await a.balance(receiver) == 4_000
    twice = await a.post(f"/v1/transfer_claims/{claim['id']}/appeal", {"by": "receiver"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "transfer_claim_already_appealed"
    await _balanced(a)


async def test_an_inquiry_becomes_a_claim_after_20_days(parties):
    a, _, receiver, transfer = parties
    claim = await _open(a, transfer)
    await service.escalate_due()
    assert (await a.get(f"/v1/transfer_claims/{claim['id']}")).json()["status"] == "inquiry"
    with clock.PAYMENTS.travel(timedelta(days=20, minutes=1)):
        await service.escalate_due()
        await service.escalate_due()
    shown = (await a.get(f"/v1/transfer_claims/{claim['id']}")).json()
    assert shown["status"] == "claim" and shown["hold"]["amount"] == 6_000
    assert (await events_of(claim["id"])).count("transfer_claim.escalated") == 1
    assert await a.balance(receiver) == 0


async def test_a_receiver_who_spent_the_money_is_held_what_is_left_and_the_merchant_pays_the_rest(parties):
    a, sender, receiver, transfer = parties
    third = await a.customer(name="Shop")
    spent = await a.post("/v1/transfers", {"from_customer": receiver, "to_customer": third["id"], "amount": 5_000,
                                           "currency": "USD"})
    assert spent.status_code == 200
    claim = await _open(a, transfer)
    held = (await a.post(f"/v1/transfer_claims/{claim['id']}/escalate")).json()
    assert held["hold"]["amount"] == 1_000 and await a.balance(receiver) == 0
    await a.post(f"/v1/transfer_claims/{claim['id']}/decide", {"decision": "refund"})
    assert await a.balance(sender) == 10_000  # the sender gets the whole claimed amount
    assert await _merchant_balance(a) == -5_000  # what the receiver could not pay
    await _balanced(a)


async def test_a_withdrawn_claim_releases_its_hold(parties):
    a, _, receiver, transfer = parties
    claim = await _open(a, transfer)
    await a.post(f"/v1/transfer_claims/{claim['id']}/escalate")
    out = await a.post(f"/v1/transfer_claims/{claim['id']}/withdraw")
    assert out.json()["status"] == "withdrawn" and await a.balance(receiver) == 6_000
    msg = await a.post(f"/v1/transfer_claims/{claim['id']}/messages", {"author": "sender", "body": "hi"})
    assert msg.status_code == 409


async def test_a_claim_on_a_converted_transfer_refunds_in_the_senders_currency(http):
    a = await api(http)
    sender, receiver = await a.customer(), await a.customer()
    await a.credit(sender["id"], 10_000, "USD")
    await fx.set_rate(user_ctx(a.account.account["id"], a.account.user["id"]), "USD", "EUR", "0.9", 0)
    made = (await a.post("/v1/transfers", {"from_customer": sender["id"], "to_customer": receiver["id"],
                                           "amount": 1_000, "currency": "USD", "to_currency": "EUR"})).json()
    assert made["to_currency"] == "EUR", made
    claim = await _open(a, made)
    assert claim["to_amount"] == made["to_amount"] and claim["to_currency"] == "EUR"
    await a.post(f"/v1/transfer_claims/{claim['id']}/escalate")
    assert await a.balance(receiver["id"], "EUR") == 0
    await a.post(f"/v1/transfer_claims/{claim['id']}/decide", {"decision": "refund"})
    assert await a.balance(sender["id"], "USD") == 10_000 and await a.balance(receiver["id"], "EUR") == 0
    await _balanced(a)


async def test_inquiries_open_within_180_days_once_per_transfer(parties):
    a, _, _, transfer = parties
    with clock.PAYMENTS.travel(timedelta(days=181)):
        late = await a.post("/v1/transfer_claims", {"transfer": transfer["id"]})
    assert late.status_code == 409 and late.json()["error"]["code"] == "transfer_claim_window_closed"
    await _open(a, transfer)
    twice = await a.post("/v1/transfer_claims", {"transfer": transfer["id"]})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "transfer_already_claimed"


@pytest.mark.parametrize(("body", "param"), [
    ({"transfer": "tr_nope"}, "transfer"),
    ({"reason": "bored"}, "reason"),
    ({"amount": 6_001}, "amount"),
    ({"amount": "1"}, "amount"),
    ({"message": "x" * 5001}, "message"),
])
async def test_bad_inquiries_are_refused_naming_the_field(parties, body, param):
    a, _, _, transfer = parties
    resp = await a.post("/v1/transfer_claims", {"transfer": transfer["id"], **body})
    assert resp.status_code in (400, 404), resp.text
    assert resp.json()["error"]["param"] == param


async def test_deciding_needs_a_claim_and_a_decision(parties):
    a, _, _, transfer = parties
    claim = await _open(a, transfer)
    early = await a.post(f"/v1/transfer_claims/{claim['id']}/decide", {"decision": "refund"})
    assert early.status_code == 409
    await a.post(f"/v1/transfer_claims/{claim['id']}/escalate")
    bad = await a.post(f"/v1/transfer_claims/{claim['id']}/decide", {"decision": "maybe"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "decision"


async def test_a_customer_with_money_held_for_a_claim_cannot_be_closed(parties):
    a, _, receiver, transfer = parties
    claim = await _open(a, transfer, amount=6_000)
    await a.post(f"/v1/transfer_claims/{claim['id']}/escalate")
    closing = await a.http.delete(f"/v1/customers/{receiver}", headers=a.headers)
    assert closing.status_code == 409 and closing.json()["error"]["code"] == "balance_not_zero"
