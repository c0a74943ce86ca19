"""The review queue: a review rule lets a payment through and opens a review; approve, refund, refund as fraud."""

from __future__ import annotations

import secrets

import pytest

from server import db
from server.faults import HEADER as FAULT
from server.payments.processor import processor
from tests.factories import gql
from tests.fraud.helpers import add_rule, confirm, fresh_card
from tests.idempotency.test_recovery import MAX_COMMITS, assert_ledger_balanced
from tests.payments.helpers import Merchant, merchant

REVIEW_BIG = "review if :amount_in_usd: > 100"


async def events(object_id: str, type_: str) -> list[dict]:
    return [r["data"] for r in await db.fetch("SELECT data FROM events WHERE object_id = $1 AND type = $2 ORDER BY id",
                                              object_id, type_)]


async def reviewed(m: Merchant, amount: int = 20000, number: str | None = None, **extra) -> tuple[dict, dict]:
    """A payment sent to review: the payment and its open review."""
    pi = await confirm(m, amount, number, **extra)
    assert pi["status"] in ("succeeded", "requires_capture") and pi["risk"]["outcome"] == "review", pi
    queue = (await m.get("/v1/reviews", open="true")).json()["data"]
    review = next(r for r in queue if r["payment_intent"] == pi["id"])
    return pi, review


async def test_a_review_rule_lets_the_payment_through_and_opens_a_review(http):
    m = await merchant(http)
    rule = await add_rule(m, REVIEW_BIG)
    pi, review = await reviewed(m)
    assert pi["outcome"] == "manual_review" and len(await processor().charges_for(pi["id"])) == 1
    assert review["open"] and review["opened_reason"] == "rule" and review["rule"] == rule["id"]
    assert review["evaluation"] == pi["risk"]["evaluation"] and review["object"] == "review"
    opened = await events(review["id"], "review.opened")
    assert len(opened) == 1 and opened[0]["payment_intent"] == pi["id"]
    small = await confirm(m, 1000)
    assert small["risk"]["outcome"] == "allow" and not (await m.get("/v1/reviews")).json()["data"][1:]


async def test_approve_closes_it_once_and_the_payment_stands(http):
    m = await merchant(http)
    await add_rule(m, REVIEW_BIG)
    pi, review = await reviewed(m)
    approved = await m.post(f"/v1/reviews/{review['id']}/approve")
    assert approved.status_code == 200 and approved.json()["closed_reason"] == "approved"
    assert approved.json()["open"] is False and approved.json()["closed_by"].startswith("key ")
    again = await m.post(f"/v1/reviews/{review['id']}/approve")
    assert again.status_code == 409 and again.json()["error"]["code"] == "review_unexpected_state"
    assert len(await events(review["id"], "review.closed")) == 1
    assert (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["status"] == "succeeded"
    assert (await m.get("/v1/reviews", open="true")).json()["data"] == []
    assert (await m.get("/v1/reviews", open="maybe")).json()["error"]["param"] == "open"


async def test_refund_as_fraud_refunds_in_full_and_blocks_the_card(http):
    m = await merchant(http)
    await add_rule(m, REVIEW_BIG)
    number = fresh_card()
    pi, review = await reviewed(m, 20000, number)
    closed = await m.post(f"/v1/reviews/{review['id']}/refund", {"as_fraud": True})
    assert closed.status_code == 200 and closed.json()["closed_reason"] == "refunded_as_fraud", closed.text
    paid = (await m.get(f"/v1/payment_intents/{pi['id']}")).json()
    assert paid["amount_refunded"] == 20000
    refunds = await db.fetch("SELECT reason, status FROM refunds WHERE payment_intent_id = $1", pi["id"])
    assert [(r["reason"], r["status"]) for r in refunds] == [("fraudulent", "succeeded")]
    lists = {vl["alias"]: vl["id"] for vl in (await m.get("/v1/radar/value_lists")).json()["data"]}
    blocked = (await m.get("/v1/radar/value_list_items", value_list=lists["blocked_card_fingerprints"])).json()["data"]
    assert len(blocked) == 1 and blocked[0]["created_by"] == f"review {review['id']}"
    next_try = await confirm(m, 500, number)
    assert next_try["status"] == "failed" and next_try["outcome"] == "blocked"
    assert "@blocked_card_fingerprints" in next_try["risk"]["rule"]["rule"]
    await assert_ledger_balanced(m)


async def test_refund_releases_an_authorization_not_yet_captured(http):
    m = await merchant(http)
    await add_rule(m, REVIEW_BIG)
    pi = await m.intent(20000, capture_method="manual")
    resp = await m.post(f"/v1/payment_intents/{pi['id']}/confirm", {"card": {
        "number": fresh_card(), "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
    assert resp.json()["status"] == "requires_capture" and resp.json()["risk"]["outcome"] == "review"
    review = (await m.get("/v1/reviews")).json()["data"][0]
    closed = await m.post(f"/v1/reviews/{review['id']}/refund", {"as_fraud": False})
    assert closed.json()["closed_reason"] == "refunded", closed.text
    assert (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["status"] == "canceled"


async def test_graphql_mirrors_the_queue(http):
    m = await merchant(http)
    await add_rule(m, REVIEW_BIG)
    pi, review = await reviewed(m)
    listed = await gql(http, "{ reviews(open: true, first: 5) { nodes { id paymentIntentId subject { amount card } "
                             "evaluation { outcome rule { rule } } } } }", headers=m.headers)
    node = listed["data"]["reviews"]["nodes"][0]
    assert node["paymentIntentId"] == pi["id"] and node["subject"]["amount"] == 20000
    assert node["evaluation"]["rule"]["rule"] == REVIEW_BIG and node["subject"]["card"].startswith("visa ••••")
    done = await gql(http, 'mutation($id: ID!) { approveReview(id: $id) { ... on ReviewPayload '
                           '{ review { closedReason } } } }', {"id": review["id"]}, headers=m.headers)
    assert done["data"]["approveReview"]["review"]["closedReason"] == "approved"
    again = await gql(http, 'mutation($id: ID!) { refundReview(id: $id, asFraud: true) { __typename '
                            '... on ConflictError { code } } }', {"id": review["id"]}, headers=m.headers)
    assert again["data"]["refundReview"] == {"__typename": "ConflictError", "code": "review_unexpected_state"}


@pytest.mark.parametrize("action", ["approve", "refund", "refund_as_fraud"])
async def test_a_review_action_failed_after_each_commit_is_finished_once_by_its_retry(http, action):
    m = await merchant(http)
    await add_rule(m, REVIEW_BIG)
    path = "approve" if action == "approve" else "refund"
    body = {} if action == "approve" else {"as_fraud": action == "refund_as_fraud"}
    reached = 0
    for n in range(1, MAX_COMMITS + 1):
        pi, review = await reviewed(m)
        key = f"review-{secrets.token_hex(6)}"
        url = f"/v1/reviews/{review['id']}/{path}"
        failed = await m.post(url, body, headers={"Idempotency-Key": key, FAULT: f"after-commit={n}"})
        if failed.status_code == 200:
            break
        assert failed.status_code == 500, failed.text
        retried = await m.post(url, body, headers={"Idempotency-Key": key})
        assert retried.status_code == 200, retried.text
        assert retried.json()["closed_reason"] == {"approve": "approved", "refund": "refunded",
                                                   "refund_as_fraud": "refunded_as_fraud"}[action]
        assert len(await events(review["id"], "review.closed")) == 1
        refunds = await db.fetch("SELECT amount FROM refunds WHERE payment_intent_id = $1", pi["id"])
        assert [r["amount"] for r in refunds] == ([] if action == "approve" else [20000])
        if action != "approve":
            assert (await processor().charges_for(pi["id"]))[0]["amount_refunded"] == 20000
        reached = n
    assert reached >= 1
    await assert_ledger_balanced(m)


async def test_a_retry_without_a_key_after_the_money_went_back_only_closes(http):
    m = await merchant(http)
    await add_rule(m, REVIEW_BIG)
    pi, review = await reviewed(m)
    refund = await m.post("/v1/refunds", {"payment_intent": pi["id"]})
    assert refund.status_code == 200
    closed = await m.post(f"/v1/reviews/{review['id']}/refund", {"as_fraud": False})
    assert closed.status_code == 200 and closed.json()["closed_reason"] == "refunded"
    assert len(await db.fetch("SELECT 1 FROM refunds WHERE payment_intent_id = $1", pi["id"])) == 1
