"""One service per rule: the balance, receipts and the status list answer the same on every surface."""

from __future__ import annotations

import re

from server import db
from server.payments.rows import STATUSES
from tests.factories import gql
from tests.payments.helpers import merchant


async def test_the_balance_is_the_same_rule_over_rest_and_graphql(http):
    m = await merchant(http)
    await m.paid(2_000)
    rest = await m.get("/v1/balance")
    graphql = await gql(http, "{ balance { amount currency } }", headers=m.headers)
    assert rest.json()["available"] == graphql["data"]["balance"] == [{"amount": 2_000 - 88, "currency": "USD"}]
    refused = await http.get("/v1/balance", headers=m.pk_headers)
    assert refused.status_code == 403
    denied = await gql(http, "{ balance { amount } }", headers=m.pk_headers)
    assert denied["errors"][0]["extensions"]["code"] == refused.json()["error"]["code"] == "permission_denied"


async def test_a_public_receipt_is_found_by_its_token_only(http):
    m = await merchant(http)
    pi = await m.paid(1_000)
    token = pi["receipt"]["url"].rsplit("/", 1)[1]
    assert (await http.get(f"/receipts/{token}")).status_code == 200
    for guess in (pi["receipt"]["id"], pi["id"], pi["receipt"]["number"], token[:-1] + "A" if token[-1] != "A"
                  else token[:-1] + "B"):
        assert (await http.get(f"/receipts/{guess}")).status_code == 404, guess


async def test_an_intent_shows_its_receipt_the_same_over_rest_and_graphql(http):
    m = await merchant(http)
    pi = await m.paid(1_000)
    read = await gql(http, 'query($id: ID!, $r: ID!) { paymentIntent(id: $id) { receipt { id number url } } '
                           'receipt(id: $r) { id number url } }', {"id": pi["id"], "r": pi["receipt"]["id"]},
                     headers=m.headers)
    assert read["data"]["paymentIntent"]["receipt"] == read["data"]["receipt"] == {
        "id": pi["receipt"]["id"], "number": pi["receipt"]["number"], "url": pi["receipt"]["url"]}
    assert (await m.get(f"/v1/receipts/{pi['receipt']['id']}")).json()["number"] == pi["receipt"]["number"]


async def test_the_status_list_is_the_one_the_database_enforces(server):
    row = await db.fetchrow("SELECT pg_get_constraintdef(oid) AS check FROM pg_constraint "
                            "WHERE conname = 'payment_intents_status_valid'")
    assert row is not None
    assert sorted(STATUSES) == sorted(re.findall(r"'([a-z_]+)'", row["check"]))
