"""Amounts at their limits (64-bit columns, one shared validation) over REST and GraphQL, and strict input."""

from __future__ import annotations

import pytest

from server import db
from server.ledger.money import MAX_AMOUNT
from server.payments.accounting import fee_for
from tests.customers.helpers import api
from tests.factories import gql
from tests.payments.helpers import merchant

INT32 = 2**31  # the first amount a 32-bit column could not hold


async def test_amounts_beyond_32_bits_are_paid_captured_and_refunded(http):
    m = await merchant(http)
    pi = await m.paid(INT32 + 5)
    assert pi["status"] == "succeeded" and pi["amount_received"] == INT32 + 5
    assert pi["fee"] == fee_for(INT32 + 5, 290, 30)
    refund = await m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": INT32})
    assert refund.status_code == 200 and refund.json()["amount"] == INT32, refund.text
    held = await m.paid(MAX_AMOUNT, capture_method="manual")
    assert held["status"] == "requires_capture" and held["amount_capturable"] == MAX_AMOUNT
    done = await m.post(f"/v1/payment_intents/{held['id']}/capture", {"amount_to_capture": MAX_AMOUNT - 1})
    assert done.status_code == 200 and done.json()["amount_received"] == MAX_AMOUNT - 1, done.text
    row = await db.fetchrow("SELECT sum(amount) AS total FROM postings WHERE account_id = $1", m.id)
    assert row["total"] == 0


@pytest.mark.parametrize(("body", "param"), [
    ({"amount": MAX_AMOUNT + 1, "currency": "usd"}, "amount"),
    ({"amount": 2**63, "currency": "usd"}, "amount"),
    ({"amount": 2**70, "currency": "usd"}, "amount"),
    ({"amount": 0, "currency": "usd"}, "amount"),
    ({"amount": -1, "currency": "usd"}, "amount"),
    ({"amount": "2000", "currency": "usd"}, "amount"),
    ({"amount": 2000.0, "currency": "usd"}, "amount"),
    ({"amount": True, "currency": "usd"}, "amount"),
    ({"amount": None, "currency": "usd"}, "amount"),
])
async def test_intent_amounts_are_strict_integers_within_the_limit(http, body, param):
    m = await merchant(http)
    resp = await m.post("/v1/payment_intents", body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param


@pytest.mark.parametrize("amount", ["500", 500.0, True, 0, MAX_AMOUNT + 1])
async def test_refund_and_capture_amounts_are_strict(http, amount):
    m = await merchant(http)
    paid = await m.paid(1000)
    refund = await m.post("/v1/refunds", {"payment_intent": paid["id"], "amount": amount})
    assert refund.status_code == 400 and refund.json()["error"]["param"] == "amount", refund.text
    held = await m.paid(1000, capture_method="manual")
    capture = await m.post(f"/v1/payment_intents/{held['id']}/capture", {"amount_to_capture": amount})
    assert capture.status_code == 400 and capture.json()["error"]["param"] == "amount_to_capture", capture.text
    assert (await m.get(f"/v1/payment_intents/{held['id']}")).json()["status"] == "requires_capture"


@pytest.mark.parametrize("text", ["1_000", "١٢٣", "１２", "1e999999999", "1e3", " 12", "12.", ".5", "-5", "NaN",
                                  "Infinity", "12.345", "9" * 30])
async def test_amount_decimal_is_plain_ascii_digits(http, text):
    a = await api(http)
    c = await a.customer()
    resp = await a.post(f"/v1/customers/{c['id']}/credits",
                        {"amount_decimal": text, "currency": "USD", "transaction_id": "t1"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "amount_decimal", resp.text


async def test_amount_decimal_accepts_plain_decimals(http):
    a = await api(http)
    c = await a.customer()
    for text, minor in (("12.34", 1234), ("0.50", 50), ("1000000000000", 10**14)):
        resp = await a.post(f"/v1/customers/{c['id']}/credits",
                            {"amount_decimal": text, "currency": "USD", "transaction_id": f"t-{minor}"})
        assert resp.status_code == 202 and resp.json()["amount"] == minor, resp.text


async def test_amount_filters_refuse_what_is_not_a_bounded_integer(http):
    m = await merchant(http)
    for value in ("99999999999999999999999", "١٢", "-1", "1.5"):
        resp = await m.get("/v1/payment_intents", **{"amount[gte]": value})
        assert resp.status_code == 400 and resp.json()["error"]["param"] == "amount[gte]", resp.text


CREATE = ("mutation($a: Long!) { createPaymentIntent(input: {amount: $a, currency: \"usd\"}) { __typename "
          "... on PaymentIntentPayload { paymentIntent { id amount } } ... on Error { code field } } }")
CAPTURE = ("mutation($id: ID!, $a: Long) { capturePaymentIntent(id: $id, amountToCapture: $a) { __typename "
           "... on PaymentIntentPayload { paymentIntent { amountReceived } } ... on Error { code field } } }")


async def test_graphql_amounts_are_long_everywhere(http):
    m = await merchant(http)
    made = await gql(http, CREATE, {"a": INT32 * 3}, m.headers)
    assert made["data"]["createPaymentIntent"]["paymentIntent"]["amount"] == INT32 * 3
    over = await gql(http, CREATE, {"a": MAX_AMOUNT + 1}, m.headers)
    assert over["data"]["createPaymentIntent"] == {"__typename": "ValidationError", "code": "invalid_request",
                                                   "field": "amount"}
    beyond = await gql(http, CREATE, {"a": 2**63}, m.headers)
    assert beyond.get("errors") and not beyond.get("data"), beyond
    held = await m.paid(INT32 * 2, capture_method="manual")
    captured = await gql(http, CAPTURE, {"id": held["id"], "a": INT32 + 1}, m.headers)
    assert captured["data"]["capturePaymentIntent"]["paymentIntent"]["amountReceived"] == INT32 + 1
    listed = await gql(http, "query($g: Long) { paymentIntents(amountGte: $g) { nodes { id } } }",
                       {"g": INT32 * 2}, m.headers)
    assert {n["id"] for n in listed["data"]["paymentIntents"]["nodes"]} == {
        made["data"]["createPaymentIntent"]["paymentIntent"]["id"], held["id"]}


async def test_graphql_refuses_fractional_amounts(http):
    m = await merchant(http)
    for literal in ("2000.0", '"2000"'):
        document = "mutation { createPaymentIntent(input: {amount: AMOUNT, currency: \"usd\"}) { __typename } }"
        result = await gql(http, document.replace("AMOUNT", literal), headers=m.headers)
        assert result.get("errors") and not result.get("data"), result
