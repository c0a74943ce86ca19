"""Rules and value lists over REST and GraphQL: defaults, refusal with a column, order, shadow mode, the audit log."""

from __future__ import annotations

import pytest

from server import db
from tests.factories import gql
from tests.fraud.helpers import add_rule, confirm, evaluation, fresh_card
from tests.payments.helpers import merchant


async def test_an_account_starts_with_the_default_rules_and_lists(http):
    m = await merchant(http)
    rules = (await m.get("/v1/radar/rules")).json()["data"]
    assert [r["action"] for r in rules] == ["allow", "block", "block"]
    assert rules[-1]["rule"] == "block if :risk_level: = 'highest'" and all(r["default"] for r in rules)
    assert rules[-1]["predicate"] == ":risk_level: = 'highest'"
    lists = {vl["alias"]: vl["item_type"] for vl in (await m.get("/v1/radar/value_lists")).json()["data"]}
    assert lists["blocked_emails"] == "email" and lists["blocked_card_fingerprints"] == "card_fingerprint"
    assert lists["blocked_countries"] == "country" and lists["allowed_customers"] == "customer_id"


@pytest.mark.parametrize(("rule", "column", "expected"), [
    ("block if :amount: >", 20, "a number"),
    ("block if :amont: > 1", 10, "an attribute from the signal catalogue"),
    ("block if :email: in @nobody_has_this", 21, "a value list alias"),
    ("blok if :amount: > 1", 1, "allow, block or review"),
])
async def test_an_invalid_rule_is_refused_with_its_column_and_what_was_expected(http, rule, column, expected):
    m = await merchant(http)
    resp = await m.post("/v1/radar/rules", {"rule": rule})
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_rule" and error["param"] == "rule" and error["column"] == column
    assert expected in error["expected"] and f"column {column}" in error["message"]
    assert len((await m.get("/v1/radar/rules")).json()["data"]) == 3  # nothing saved


async def test_graphql_refuses_an_invalid_rule_as_a_validation_error(http):
    m = await merchant(http)
    result = await gql(http, 'mutation { createRadarRule(input: {rule: "review if :amount_in_usd: >> 5"}) '
                             '{ __typename ... on ValidationError { message code field } } }', headers=m.headers)
    error = result["data"]["createRadarRule"]
    assert error["__typename"] == "ValidationError" and error["code"] == "invalid_rule" and error["field"] == "rule"
    assert "column 28" in error["message"]


async def test_allow_then_block_then_review_and_the_first_match_decides(http):
    m = await merchant(http)
    await add_rule(m, "review if :amount_in_usd: > 50")
    await add_rule(m, "block if :amount_in_usd: > 100")
    await add_rule(m, "allow if :email: = 'vip@example.com'")
    vip = await confirm(m, 15000, email="vip@example.com")
    blocked = await confirm(m, 15000, email="someone@example.com")
    reviewed = await confirm(m, 6000, email="someone@example.com")
    allowed = await confirm(m, 1000, email="someone@example.com")
    assert (vip["risk"]["outcome"], vip["status"]) == ("allow", "succeeded")
    assert vip["risk"]["rule"]["rule"] == "allow if :email: = 'vip@example.com'"
    assert (blocked["risk"]["outcome"], blocked["status"]) == ("block", "failed")
    assert [r["action"] for r in (await evaluation(m, blocked))["rules_matched"]] == ["block", "review"]
    assert (reviewed["risk"]["outcome"], reviewed["status"], reviewed["outcome"]) == (
        "review", "succeeded", "manual_review")
    assert allowed["risk"]["outcome"] == "allow" and allowed["risk"]["rule"] is None


async def test_a_shadow_rule_is_reported_but_never_decides(http):
    m = await merchant(http)
    shadow = await add_rule(m, "block if :amount: > 500", shadow=True)
    pi = await confirm(m, 1000)
    assert pi["status"] == "succeeded" and pi["risk"]["outcome"] == "allow"
    explained = await evaluation(m, pi)
    assert [r["id"] for r in explained["shadow_rules_matched"]] == [shadow["id"]] and not explained["rules_matched"]
    enforced = await m.post(f"/v1/radar/rules/{shadow['id']}", {"shadow": False})
    assert enforced.json()["shadow"] is False
    assert (await confirm(m, 1000))["status"] == "failed"


async def test_rule_changes_go_to_the_audit_log(http):
    m = await merchant(http)
    rule = await add_rule(m, "review if :amount_in_usd: > 100")
    await m.post(f"/v1/radar/rules/{rule['id']}", {"rule": "review if :amount_in_usd: > 200", "shadow": True})
    assert (await http.delete(f"/v1/radar/rules/{rule['id']}", headers=m.headers)).json()["deleted"] is True
    rows = await db.fetch("SELECT action, details FROM audit_log WHERE target_id = $1 ORDER BY id", rule["id"])
    assert [r["action"] for r in rows] == ["radar_rule.created", "radar_rule.updated", "radar_rule.deleted"]
    assert rows[1]["details"]["before"]["rule"] == "review if :amount_in_usd: > 100"
    assert rows[1]["details"]["after"] == {"rule": "review if :amount_in_usd: > 200", "shadow": True}
    assert (await m.get(f"/v1/radar/rules/{rule['id']}")).status_code == 404


async def test_a_blocked_email_is_blocked_by_the_default_rule_and_the_hit_is_explained(http):
    m = await merchant(http)
    lists = {vl["alias"]: vl["id"] for vl in (await m.get("/v1/radar/value_lists")).json()["data"]}
    item = await m.post("/v1/radar/value_list_items", {"value_list": lists["blocked_emails"],
                                                       "value": " Mallory@Example.COM "})
    assert item.status_code == 200 and item.json()["value"] == "mallory@example.com"
    again = await m.post("/v1/radar/value_list_items", {"value_list": lists["blocked_emails"],
                                                        "value": "mallory@example.com"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "resource_already_exists"
    pi = await confirm(m, 1000, email="MALLORY@example.com")
    assert pi["status"] == "failed" and pi["risk"]["outcome"] == "block"
    assert pi["risk"]["rule"]["rule"].startswith("block if :card_fingerprint: in @blocked_card_fingerprints")
    assert {"list": "blocked_emails", "value": "mallory@example.com"} in (await evaluation(m, pi))["list_hits"]
    listed = (await m.get("/v1/radar/value_list_items", value_list=lists["blocked_emails"])).json()
    assert [i["value"] for i in listed["data"]] == ["mallory@example.com"]


async def test_value_lists_stripe_shapes_and_refusals(http):
    m = await merchant(http)
    made = await m.post("/v1/radar/value_lists", {"alias": "vip_customers", "name": "VIPs", "item_type": "email",
                                                  "metadata": {"owner": "ops"}})
    assert made.status_code == 200, made.text
    vl = made.json()
    assert vl["object"] == "radar.value_list" and vl["alias"] == "vip_customers" and vl["metadata"] == {"owner": "ops"}
    assert (await m.post("/v1/radar/value_lists", {"alias": "vip_customers", "name": "x"})).status_code == 409
    assert (await m.post("/v1/radar/value_lists", {"alias": "no spaces", "name": "x"})).json()["error"][
        "param"] == "alias"
    assert (await m.post("/v1/radar/value_lists", {"alias": "x", "name": "x", "item_type": "bin"})).json()["error"][
        "param"] == "item_type"
    bad = await m.post("/v1/radar/value_list_items", {"value_list": vl["id"], "value": "not an email"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "value"
    item = (await m.post("/v1/radar/value_list_items", {"value_list": vl["id"], "value": "vip@example.com"})).json()
    assert item["object"] == "radar.value_list_item" and item["value_list"] == vl["id"]
    rule = await add_rule(m, "allow if :email: in @vip_customers")
    refused = await http.delete(f"/v1/radar/value_lists/{vl['id']}", headers=m.headers)
    assert refused.status_code == 409 and rule["id"] in refused.json()["error"]["message"]
    renamed = await m.post(f"/v1/radar/value_lists/{vl['id']}", {"alias": "vips"})
    assert renamed.status_code == 409
    assert (await m.get(f"/v1/radar/value_lists/{vl['id']}")).json()["item_count"] == 1
    await http.delete(f"/v1/radar/rules/{rule['id']}", headers=m.headers)
    assert (await http.delete(f"/v1/radar/value_list_items/{item['id']}", headers=m.headers)).json()["deleted"]
    assert (await http.delete(f"/v1/radar/value_lists/{vl['id']}", headers=m.headers)).json()["deleted"]
    assert (await m.get("/v1/radar/value_list_items", value_list=vl["id"])).status_code == 404


async def test_a_list_rule_allows_before_the_highest_risk_block(http):
    m = await merchant(http)
    vl = (await m.post("/v1/radar/value_lists", {"alias": "trusted_ips", "name": "Office", "item_type": "ip_address"}
                       )).json()
    await m.post("/v1/radar/value_list_items", {"value_list": vl["id"], "value": "81.2.69.142"})
    await add_rule(m, "allow if :ip_address: in @trusted_ips")
    pi = await confirm(m, 1000, "4100000000000019", ip_address="81.2.69.142")
    assert pi["risk"]["level"] == "highest" and pi["risk"]["outcome"] == "allow"
    assert pi["last_payment_error"]["decline_code"] == "fraudulent"  # Radar let it through; the processor declined


async def test_graphql_mirrors_rules_and_lists(http):
    m = await merchant(http)
    made = await gql(http, 'mutation { createRadarRule(input: {rule: "review if :amount_in_usd: > 10", shadow: true})'
                           ' { ... on RadarRulePayload { rule { id action predicate shadow } } } }', headers=m.headers)
    rule = made["data"]["createRadarRule"]["rule"]
    assert rule["action"] == "review" and rule["predicate"] == ":amount_in_usd: > 10" and rule["shadow"]
    listed = await gql(http, "{ radarRules { id } radarValueLists(first: 20) { nodes { alias itemCount } } }",
                       headers=m.headers)
    assert rule["id"] in [r["id"] for r in listed["data"]["radarRules"]]
    assert {"alias": "blocked_emails", "itemCount": 0} in listed["data"]["radarValueLists"]["nodes"]
    pi = await confirm(m, 5000, fresh_card())
    shadowed = await gql(http, 'query($id: ID!) { riskEvaluation(id: $id) { shadowRulesMatched { id } } }',
                         {"id": pi["risk"]["evaluation"]}, headers=m.headers)
    assert shadowed["data"]["riskEvaluation"]["shadowRulesMatched"] == [{"id": rule["id"]}]
