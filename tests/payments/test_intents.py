"""Payment intents over REST: create, confirm with each test card, transitions, publishable keys, lists."""

from __future__ import annotations

import pytest

from server.payments.cards import TEST_CARDS
from tests.payments.helpers import card, merchant
from tests.support import eventually


async def test_create_and_confirm_success_posts_gross_fee_and_net(http):
    m = await merchant(http)
    pi = await m.intent(10_000, description="Order 1", metadata={"order": "1"})
    assert pi["status"] == "requires_payment_method"
    assert pi["client_secret"].startswith(pi["id"] + "_secret_")
    resp = await m.confirm(pi["id"])
    assert resp.status_code == 200, resp.text
    done = resp.json()
    assert done["status"] == "succeeded" and done["amount_received"] == 10_000
    assert done["fee"] == 290 + 30  # default pricing 2.9% + 30
    assert done["card"]["brand"] == "visa" and done["card"]["last4"] == "4242"
    assert "number" not in done["card"] and done["card"]["fingerprint"]
    assert done["receipt"]["number"] and "/receipts/" in done["receipt"]["url"]
    assert await m.balance() == 10_000 - 320


@pytest.mark.parametrize("test_card", [c for c in TEST_CARDS if c.outcome != "timeout"], ids=lambda c: c.number)
async def test_every_test_card(http, test_card):
    m = await merchant(http)
    pi = await m.intent(500)
    resp = await m.confirm(pi["id"], test_card.number)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    if test_card.outcome == "declined":
        assert body["status"] == "failed"
        assert body["last_payment_error"]["decline_code"] == test_card.decline_code
        assert await m.balance() == 0
    else:
        assert body["status"] == "succeeded"
        assert body["disputed"] is False or test_card.outcome == "dispute"
        if test_card.outcome == "dispute":  # the processor reports the chargeback afterwards, in its dispute feed
            async def disputed() -> bool:
                return (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["disputed"]

            await eventually(disputed, message="the dispute card's payment was never disputed")


async def test_card_numbers_are_luhn_checked_and_never_stored(http):
    from server import db

    m = await merchant(http)
    pi = await m.intent()
    bad = await m.confirm(pi["id"], "4242424242424241")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "card[number]"
    assert (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["status"] == "requires_payment_method"
    await m.confirm(pi["id"])
    row = await db.fetchrow("SELECT * FROM payment_intents WHERE id = $1", pi["id"])
    assert not any("4242424242424242" in str(v) for v in row.values())


async def test_expired_card_date_is_declined(http):
    m = await merchant(http)
    pi = await m.intent()
    resp = await m.post(f"/v1/payment_intents/{pi['id']}/confirm", {"card": card("4242424242424242", exp_year=2020)})
    assert resp.json()["status"] == "failed" and resp.json()["last_payment_error"]["code"] == "expired_card"


REFUSED = {
    # status -> actions that must be refused (409 naming both statuses)
    "succeeded": ["confirm", "capture", "cancel"],
    "failed": ["confirm", "capture", "cancel"],
    "canceled": ["confirm", "capture", "cancel"],
    "requires_payment_method": ["capture"],
    "requires_capture": ["confirm"],
}


async def _in_status(m, status: str) -> dict:
    if status == "requires_payment_method":
        return await m.intent()
    if status == "succeeded":
        return await m.paid()
    if status == "failed":
        return await m.paid(number="4000000000000002")
    if status == "requires_capture":
        return await m.paid(capture_method="manual")
    pi = await m.intent()
    resp = await m.post(f"/v1/payment_intents/{pi['id']}/cancel")
    return resp.json()


@pytest.mark.parametrize("status,action", [(s, a) for s, acts in REFUSED.items() for a in acts])
async def test_refused_transitions_are_409_naming_both_statuses(http, status, action):
    m = await merchant(http)
    pi = await _in_status(m, status)
    assert pi["status"] == status
    body = {"card": card("4242424242424242")} if action == "confirm" else {}
    resp = await m.post(f"/v1/payment_intents/{pi['id']}/{action}", body)
    assert resp.status_code == 409, resp.text
    err = resp.json()["error"]
    target = {"confirm": "processing", "capture": "succeeded", "cancel": "canceled"}[action]
    assert f"'{status}'" in err["message"] and f"'{target}'" in err["message"]
    assert (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["status"] == status


async def test_allowed_transitions(http):
    m = await merchant(http)
    canceled = await _in_status(m, "canceled")
    assert canceled["status"] == "canceled"
    held = await m.paid(2000, capture_method="manual")
    assert held["status"] == "requires_capture" and held["amount_capturable"] == 2000
    released = await m.post(f"/v1/payment_intents/{held['id']}/cancel")
    assert released.json()["status"] == "canceled"
    held = await m.paid(2000, capture_method="manual")
    captured = await m.post(f"/v1/payment_intents/{held['id']}/capture")
    assert captured.json()["status"] == "succeeded" and captured.json()["amount_received"] == 2000


async def test_publishable_key_confirms_only_with_the_client_secret(http):
    m = await merchant(http)
    pi = await m.intent(700)
    url = f"/v1/payment_intents/{pi['id']}/confirm"
    wrong = await http.post(url, json={"card": card("4242424242424242"), "client_secret": pi["id"] + "_secret_x"},
                            headers=m.pk_headers)
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "client_secret"
    for path, body in (("/v1/payment_intents", {"amount": 1, "currency": "usd"}),):
        assert (await http.post(path, json=body, headers=m.pk_headers)).status_code == 403
    assert (await http.get(f"/v1/payment_intents/{pi['id']}", headers=m.pk_headers)).status_code == 403
    ok = await http.post(url, json={"card": card("4242424242424242"), "client_secret": pi["client_secret"]},
                         headers=m.pk_headers)
    assert ok.status_code == 200 and ok.json()["status"] == "succeeded"
    assert "client_secret" not in ok.json()


async def test_list_filters_and_keyset_pages(http):
    m = await merchant(http)
    small = await m.paid(100)
    await m.paid(200, number="4000000000000002")
    big = await m.intent(5000)
    listed = (await m.get("/v1/payment_intents", limit=2)).json()
    assert [p["id"] for p in listed["data"]] == [big["id"], listed["data"][1]["id"]] and listed["has_more"]
    rest = (await m.get("/v1/payment_intents", limit=2, cursor=listed["next_cursor"])).json()
    assert [p["id"] for p in rest["data"]] == [small["id"]] and not rest["has_more"]
    assert [p["id"] for p in (await m.get("/v1/payment_intents", status="succeeded")).json()["data"]] == [small["id"]]
    ranged = (await m.get("/v1/payment_intents", **{"amount[gte]": "150", "amount[lte]": "5000"})).json()["data"]
    assert {p["amount"] for p in ranged} == {200, 5000}
    bad = await m.get("/v1/payment_intents", status="nope")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "status"


async def test_graphql_flow_with_publishable_confirmation(http):
    m = await merchant(http)
    await m.paid(50_000)

    async def gql(headers, query, variables=None):
        resp = await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        return resp.json()

    made = await gql(m.headers, 'mutation { createPaymentIntent(input: {amount: 1500, currency: "eur", '
                                'description: "via graphql"}) { ... on PaymentIntentPayload '
                                '{ clientSecret paymentIntent { id status } } } }')
    payload = made["data"]["createPaymentIntent"]
    pi_id, secret = payload["paymentIntent"]["id"], payload["clientSecret"]
    confirm = ('mutation($id: ID!, $s: String) { confirmPaymentIntent(id: $id, clientSecret: $s, card: {number: '
               '"5555555555554444", expMonth: 1, expYear: 2033, cvc: "999"}) { __typename '
               '... on PaymentIntentPayload { paymentIntent { status card { brand last4 } } } '
               '... on Error { code } } }')
    wrong = await gql(m.pk_headers, confirm, {"id": pi_id, "s": "nope"})
    assert wrong["data"]["confirmPaymentIntent"] == {"__typename": "ValidationError", "code": "client_secret_invalid"}
    ok = await gql(m.pk_headers, confirm, {"id": pi_id, "s": secret})
    intent = ok["data"]["confirmPaymentIntent"]["paymentIntent"]
    assert intent["status"] == "succeeded" and intent["card"] == {"brand": "mastercard", "last4": "4444"}
    again = await gql(m.headers, confirm, {"id": pi_id, "s": None})
    assert again["data"]["confirmPaymentIntent"]["__typename"] == "ConflictError"
    refund = await gql(m.headers, 'mutation($p: String!) { createRefund(input: {paymentIntent: $p, amount: 500}) '
                                  '{ __typename ... on RefundPayload { refund { amount status } } } }', {"p": pi_id})
    assert refund["data"]["createRefund"]["refund"] == {"amount": 500, "status": "succeeded"}
    read = await gql(m.headers, 'query($id: ID!) { paymentIntent(id: $id) { amountRefunded receipt { number } '
                                'refunds { amount } timeline { type } } balance { amount currency } }', {"id": pi_id})
    data = read["data"]
    assert data["paymentIntent"]["amountRefunded"] == 500 and data["paymentIntent"]["receipt"]["number"]
    assert [e["type"] for e in data["paymentIntent"]["timeline"]] == [
        "payment_intent.created", "payment_intent.processing", "payment_intent.succeeded", "refund.created",
        "charge.refunded", "refund.updated"]
    assert {"amount": 1500 - 74 - 500, "currency": "EUR"} in data["balance"]
