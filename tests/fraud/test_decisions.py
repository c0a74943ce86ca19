"""Risk decisions on card payments through the API: blocked before the processor, explained, scored from signals."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
import pytest

from server import clock, db
from server.fraud.signals import VELOCITY_WINDOWS
from server.payments.processor import processor
from server.payments.simulate import Traffic
from server.settings import get_settings
from tests.fraud.helpers import FRAUD_CARD, card, confirm, evaluation, fresh_card, postings_of
from tests.payments.helpers import merchant


async def test_the_fraudulent_card_is_blocked_before_the_processor_with_its_explanation(http):
    m = await merchant(http)
    pi = await confirm(m, 5000, FRAUD_CARD, email="thief@example.com", ip_address="81.2.69.142")
    assert pi["status"] == "failed" and pi["outcome"] == "blocked"
    assert pi["last_payment_error"]["decline_code"] == "fraudulent"
    risk = pi["risk"]
    assert (risk["level"], risk["outcome"]) == ("highest", "block") and risk["score"] >= 75
    assert risk["rule"]["rule"] == "block if :risk_level: = 'highest'"
    assert {"signal": "card_reported_stolen", "points": 85} in risk["reasons"]
    # Never sent to the processor, nothing posted, no money.
    assert await processor().charges_for(pi["id"]) == []
    assert await postings_of(pi["id"]) == 0 and await m.balance() == 0
    assert pi["card"]["last4"] == "0019" and pi["card"]["brand"] == "visa"
    explained = await evaluation(m, pi)
    stolen = next(c for c in explained["contributions"] if c["signal"] == "card_reported_stolen")
    assert stolen["value"] is True and stolen["points"] == 85
    assert explained["signals"]["ip_country"] == "GB" and explained["signals"]["card_country"] == "US"
    assert explained["signals"]["risk_level"] == "highest" and explained["rules_matched"][0]["action"] == "block"
    failed = await db.fetchrow("SELECT data FROM events WHERE object_id = $1 "
                               "AND type = 'payment_intent.payment_failed'", pi["id"])
    assert failed["data"]["risk"]["outcome"] == "block" and failed["data"]["outcome"] == "blocked"


async def test_an_ordinary_payment_is_normal_allowed_and_charged(http):
    m = await merchant(http)
    pi = await confirm(m, 2500, email="ada@example.com", ip_address="8.8.8.8", user_agent="Mozilla/5.0")
    assert pi["status"] == "succeeded" and pi["outcome"] == "authorized"
    assert pi["risk"]["level"] == "normal" and pi["risk"]["outcome"] == "allow" and pi["risk"]["rule"] is None
    assert len(await processor().charges_for(pi["id"])) == 1
    signals = (await evaluation(m, pi))["signals"]
    assert signals["email"] == "ada@example.com" and signals["user_agent"] == "Mozilla/5.0"
    assert signals["amount"] == 2500 and signals["amount_in_usd"] == 25.0 and signals["transaction_type"] == "payment"


async def test_a_burst_on_one_card_climbs_to_highest_and_is_blocked(http):
    m = await merchant(http)
    number = fresh_card()
    decided = [await confirm(m, 1000, number) for _ in range(10)]
    levels = [pi["risk"]["level"] for pi in decided]
    assert levels[:4] == ["normal"] * 4 and "elevated" in levels and levels[-1] == "highest"
    assert decided[-1]["status"] == "failed" and decided[-1]["outcome"] == "blocked"
    assert await processor().charges_for(decided[-1]["id"]) == []


async def test_many_cards_from_one_address_is_card_testing(http):
    m = await merchant(http)
    decided = [await confirm(m, 100, ip_address="81.2.69.160") for _ in range(7)]
    assert decided[0]["risk"]["level"] == "normal" and decided[-1]["risk"]["level"] == "highest"
    signals = (await evaluation(m, decided[-1]))["signals"]
    assert signals["card_count_for_ip_address_hourly"] == 7 and signals["charge_attempts_per_ip_address_minutely"] == 7


async def test_test_cards_are_shared_so_their_history_does_not_score_in_test_mode(http):
    m = await merchant(http)
    decided = [await confirm(m, 1000, "4242424242424242") for _ in range(12)]
    assert {pi["risk"]["level"] for pi in decided} == {"normal"}
    assert all(pi["status"] == "succeeded" for pi in decided)
    last = await evaluation(m, decided[-1])
    assert last["signals"]["charge_attempts_per_card_minutely"] == 12  # counted exactly all the same
    minute = next(c for c in last["contributions"] if c["signal"] == "charge_attempts_per_card_minutely")
    assert minute["points"] == 0 and "test card" in minute["note"]


@pytest.mark.parametrize("window", VELOCITY_WINDOWS, ids=[w.suffix for w in VELOCITY_WINDOWS])
async def test_velocity_windows_are_exact_at_their_edges(http, window):
    """An attempt W - 1 ms old is inside a window of length W; one exactly W old is outside."""
    m = await merchant(http)
    inside, outside = fresh_card(), fresh_card()
    name, amount = f"charge_attempts_per_card_{window.suffix}", f"amount_in_usd_per_card_{window.suffix}"
    with clock.PAYMENTS.frozen():
        await confirm(m, 700, inside)
        await confirm(m, 700, outside)
        clock.PAYMENTS.advance(timedelta(milliseconds=window.milliseconds - 1))
        near = (await evaluation(m, await confirm(m, 300, inside)))["signals"]
        clock.PAYMENTS.advance(timedelta(milliseconds=1))
        far = (await evaluation(m, await confirm(m, 300, outside)))["signals"]
    assert (near[name], near[amount]) == (2, 10.0)
    assert (far[name], far[amount]) == (1, 3.0)


async def test_an_amount_far_above_the_customers_median_scores(http):
    m = await merchant(http)
    customer = (await m.post("/v1/customers", {"email": "regular@example.com"})).json()["id"]
    first = await confirm(m, 1000, customer=customer)
    assert (await evaluation(m, first))["signals"]["is_new_customer"] is True
    for _ in range(2):
        await confirm(m, 1000, customer=customer)
    big = await evaluation(m, await confirm(m, 6000, customer=customer))
    assert big["signals"]["amount_vs_customer_median"] == 6.0 and big["signals"]["is_new_customer"] is False
    assert big["signals"]["email"] == "regular@example.com"  # the customer's, when confirm gives none
    factor = next(c for c in big["contributions"] if c["signal"] == "amount_vs_customer_median")
    assert factor["points"] == 20


async def test_a_card_from_another_country_than_the_address(http):
    m = await merchant(http)
    foreign = await evaluation(m, await confirm(m, 1000, ip_address="81.2.69.142"))
    home = await evaluation(m, await confirm(m, 1000, ip_address="8.8.8.8"))
    points = {e["id"]: next(c["points"] for c in e["contributions"] if c["signal"] == "card_country vs ip_country")
              for e in (foreign, home)}
    assert points == {foreign["id"]: 15, home["id"]: 0}


async def test_from_a_browser_the_requests_own_address_is_the_buyers(http):
    m = await merchant(http)
    pi = await m.intent(1000)
    resp = await http.post(f"/v1/payment_intents/{pi['id']}/confirm", headers=m.pk_headers,
                           json={"card": card(fresh_card()), "client_secret": pi["client_secret"]})
    assert resp.status_code == 200, resp.text
    signals = (await evaluation(m, resp.json()))["signals"]
    assert signals["ip_address"] == "127.0.0.1" and "ip_country" not in signals  # private: neither located nor counted
    assert "charge_attempts_per_ip_address_minutely" not in signals


@pytest.mark.parametrize(("field", "value"), [("ip_address", "not-an-ip"), ("email", "nobody"),
                                              ("user_agent", "x" * 501), ("ip_address", 12)])
async def test_bad_buyer_details_are_refused_naming_the_field(http, field, value):
    m = await merchant(http)
    pi = await m.intent(1000)
    resp = await m.post(f"/v1/payment_intents/{pi['id']}/confirm", {"card": card(fresh_card()), field: value})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == field, resp.text
    assert (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["status"] == "requires_payment_method"


async def test_graphql_confirm_takes_the_buyer_and_answers_the_risk(http):
    m = await merchant(http)
    pi = await m.intent(1000)
    query = """mutation($id: ID!, $card: CardInput!) {
      confirmPaymentIntent(id: $id, card: $card, email: "g@example.com", ipAddress: "81.2.69.142") {
        ... on PaymentIntentPayload { paymentIntent { status outcome
          risk { score level outcome reasons { signal points }
          evaluation { factors { signal points } signals { name value } } } } } } }"""
    result = (await http.post("/graphql", json={"query": query, "variables": {
        "id": pi["id"], "card": {"number": fresh_card(), "expMonth": 12, "expYear": 2034, "cvc": "123"}}},
        headers=m.headers)).json()
    paid = result["data"]["confirmPaymentIntent"]["paymentIntent"]
    assert paid["status"] == "succeeded" and paid["outcome"] == "authorized" and paid["risk"]["level"] == "normal"
    signals = {s["name"]: s["value"] for s in paid["risk"]["evaluation"]["signals"]}
    assert signals["email"] == "g@example.com" and signals["ip_country"] == "GB"


async def test_with_risk_off_nothing_is_evaluated(http):
    m = await merchant(http)
    settings = get_settings()
    settings.risk_enabled = False
    try:
        pi = await confirm(m, 1000, FRAUD_CARD)
    finally:
        settings.risk_enabled = True
    assert pi["risk"] is None and pi["last_payment_error"]["decline_code"] == "fraudulent"  # the processor's own
    assert len(await processor().charges_for(pi["id"])) == 1


async def test_demo_traffic_stays_normal_and_only_the_fraudulent_card_is_highest(http, base_url, monkeypatch):
    monkeypatch.setattr(get_settings(), "api_rate_limit_per_second", 100_000)  # the generator, faster than life
    m = await merchant(http)
    async with httpx.AsyncClient(base_url=base_url, headers=m.headers, timeout=60) as client:
        traffic = Traffic(client, random.Random(20261130))
        for _ in range(150):
            await traffic.step()
    rows = await db.fetch("SELECT e.level, e.signals->>'card_reported_stolen' AS stolen FROM risk_evaluations e "
                          "WHERE e.account_id = $1", m.id)
    assert len(rows) > 80
    ordinary = [r["level"] for r in rows if r["stolen"] != "true"]
    stolen = [r["level"] for r in rows if r["stolen"] == "true"]
    assert set(ordinary) == {"normal"}
    assert stolen and set(stolen) == {"highest"}
