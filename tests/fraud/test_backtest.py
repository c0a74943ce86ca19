"""Backtests: one SQL statement over stored signals, agreeing with what the live rules decided on the same payments."""

from __future__ import annotations

import random

from server import db
from server.fraud.engine import parsed
from server.fraud.rules import fold_list
from server.fraud.storage import from_stored
from server.settings import get_settings
from tests.factories import gql
from tests.fraud.helpers import add_rule, confirm, fresh_card
from tests.payments.helpers import merchant

RULES = [
    "review if :amount_in_usd: > 40",
    "block if :card_country: != :ip_country: and :amount_in_usd: > 20",
    "review if :card_count_for_ip_address_hourly: > 2",
    "review if :email: in @watched",
    "block if not :is_new_customer: and :amount_vs_customer_median: >= 2",
    "review if :email_domain: in ('example.net', 'EXAMPLE.ORG') or :risk_score: >= 20",
    "review if :ip_country: = 'gb' or :currency: = 'eur'",
    "block if not :user_agent: = 'curl/8'",
    "review if :charge_attempts_per_card_hourly: >= 2 and :amount: < 3000",
]
IPS = ["81.2.69.142", "8.8.8.8", "81.2.69.160", "85.214.132.117", None]


async def test_the_backtest_agrees_with_live_evaluation_on_the_same_payments(http, monkeypatch):
    monkeypatch.setattr(get_settings(), "api_rate_limit_per_second", 100_000)  # 40 payments and 20 backtests at once
    m = await merchant(http)
    watched = (await m.post("/v1/radar/value_lists", {"alias": "watched", "name": "Watched", "item_type": "email"})
               ).json()
    await m.post("/v1/radar/value_list_items", {"value_list": watched["id"], "value": "b@example.net"})
    shadows = {text: (await add_rule(m, text, shadow=True))["id"] for text in RULES}
    customers = [(await m.post("/v1/customers", {"email": f"c{i}@example.com"})).json()["id"] for i in range(3)]
    rng = random.Random(42)
    cards = [fresh_card() for _ in range(4)]
    for _ in range(40):
        buyer = {"email": rng.choice(["a@example.com", "b@example.net", "C@Example.org", None]),
                 "ip_address": rng.choice(IPS), "user_agent": rng.choice(["curl/8", "Mozilla/5.0", None]),
                 "customer": rng.choice([*customers, None])}
        await confirm(m, rng.choice([500, 1500, 2500, 4500, 9000]), rng.choice(cards),
                      currency=rng.choice(["usd", "usd", "eur"]), **{k: v for k, v in buyer.items() if v})
    stored = await db.fetch("SELECT explanation, signals FROM risk_evaluations WHERE account_id = $1", m.id)
    assert len(stored) == 40
    for text, rule_id in shadows.items():
        live = sum(rule_id in [r["id"] for r in e["explanation"]["shadow_rules_matched"]] for e in stored)
        recomputed = sum(parsed(text).evaluate(from_stored(e["signals"]), {"watched": fold_list(["b@example.net"])})
                         for e in stored)
        backtest = (await m.post("/v1/radar/backtests", {"rule": text, "days": 1})).json()
        assert backtest["evaluated"] == 40
        assert backtest["matched"] == live == recomputed, text
        assert backtest["payments_matched"] == live and backtest["transfers_matched"] == 0
    matched_some = [t for t in RULES if (await m.post("/v1/radar/backtests", {"rule": t, "days": 1})).json()["matched"]]
    assert len(matched_some) >= 7, "the traffic should exercise most rules"


async def test_a_backtest_shows_the_latest_matches_and_refuses_bad_input(http):
    m = await merchant(http)
    small, big = await confirm(m, 500), await confirm(m, 90000)
    result = (await m.post("/v1/radar/backtests", {"rule": "review if :amount_in_usd: > 100"})).json()
    assert result["days"] == 30 and result["evaluated"] == 2 and result["matched"] == 1
    assert [e["object_id"] for e in result["examples"]] == [big["id"]] and small["id"]
    bad = await m.post("/v1/radar/backtests", {"rule": "review if :amount_in_usd: >"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_rule"
    for days in (0, 366, "7", True):
        resp = await m.post("/v1/radar/backtests", {"rule": "review if :amount: > 1", "days": days})
        assert resp.status_code == 400 and resp.json()["error"]["param"] == "days"
    graphql = await gql(http, '{ radarBacktest(rule: "review if :amount_in_usd: > 100", days: 7) '
                              '{ ... on RadarBacktest { matched evaluated examples { objectId } } } }',
                        headers=m.headers)
    assert graphql["data"]["radarBacktest"] == {"matched": 1, "evaluated": 2, "examples": [{"objectId": big["id"]}]}
