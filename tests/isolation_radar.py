"""Isolation cases of Radar's routes and fields (registered in tests/isolation_cases.py's tables)."""

from __future__ import annotations

from typing import Any

from tests.isolation_cases import Tenants, graphql, rest

CARD = {"number": "4000000000000077", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
RULE = "review if :amount_in_usd: > 100"


async def _owner_radar(t: Tenants) -> dict[str, Any]:
    """In the owner's test mode: a rule, a list with an item, and a payment that rule sent to review."""
    if "radar" in t.objects:
        return t.objects["radar"]
    h = t.key("owner")
    rule = (await t.http.post("/v1/radar/rules", json={"rule": RULE}, headers=h)).json()
    vl = (await t.http.post("/v1/radar/value_lists", json={"alias": "owner_list", "name": "Owner's",
                                                          "item_type": "email"}, headers=h)).json()
    item = (await t.http.post("/v1/radar/value_list_items", json={"value_list": vl["id"], "value": "o@example.com"},
                              headers=h)).json()
    pi = (await t.http.post("/v1/payment_intents", json={"amount": 20_000, "currency": "usd"}, headers=h)).json()
    pi = (await t.http.post(f"/v1/payment_intents/{pi['id']}/confirm", json={"card": CARD}, headers=h)).json()
    review = (await t.http.get("/v1/reviews", headers=h)).json()["data"][0]
    t.objects["radar"] = {"rule": rule["id"], "list": vl["id"], "item": item["id"], "pi": pi["id"],
                          "evaluation": pi["risk"]["evaluation"], "review": review["id"]}
    return t.objects["radar"]


async def _owner_radar_unchanged(t: Tenants, r: dict[str, Any]) -> None:
    h = t.key("owner")
    rule = (await t.http.get(f"/v1/radar/rules/{r['rule']}", headers=h)).json()
    assert (rule["rule"], rule["shadow"]) == (RULE, False), rule
    assert (await t.http.get(f"/v1/radar/value_lists/{r['list']}", headers=h)).json()["alias"] == "owner_list"
    assert (await t.http.get(f"/v1/radar/value_list_items/{r['item']}", headers=h)).status_code == 200
    assert (await t.http.get(f"/v1/reviews/{r['review']}", headers=h)).json()["open"] is True
    pi = (await t.http.get(f"/v1/payment_intents/{r['pi']}", headers=h)).json()
    assert (pi["status"], pi["amount_refunded"]) == ("succeeded", 0)


@rest("GET /v1/radar/rules", "POST /v1/radar/rules", "GET /v1/radar/rules/{rule_id:str}",
      "POST /v1/radar/rules/{rule_id:str}", "DELETE /v1/radar/rules/{rule_id:str}", "POST /v1/radar/backtests",
      "GET /v1/radar/evaluations/{evaluation_id:str}")
async def _radar_rules_rest(t: Tenants) -> None:
    r = await _owner_radar(t)
    for _, headers in t.intruders:
        listed = (await t.http.get("/v1/radar/rules", headers=headers)).json()["data"]
        assert r["rule"] not in [x["id"] for x in listed] and all(x["default"] for x in listed)
        assert (await t.http.get(f"/v1/radar/rules/{r['rule']}", headers=headers)).status_code == 404
        changed = await t.http.post(f"/v1/radar/rules/{r['rule']}", json={"shadow": True}, headers=headers)
        assert changed.status_code == 404
        assert (await t.http.delete(f"/v1/radar/rules/{r['rule']}", headers=headers)).status_code == 404
        assert (await t.http.get(f"/v1/radar/evaluations/{r['evaluation']}", headers=headers)).status_code == 404
        tried = (await t.http.post("/v1/radar/backtests", json={"rule": RULE}, headers=headers)).json()
        assert tried["matched"] == 0 and tried["examples"] == []
        # Their own rule names their own lists: the owner's list is unknown to them.
        foreign = await t.http.post("/v1/radar/rules", json={"rule": "block if :email: in @owner_list"},
                                    headers=headers)
        assert foreign.status_code == 400 and foreign.json()["error"]["code"] == "invalid_rule"
        made = await t.http.post("/v1/radar/rules", json={"rule": "review if :amount: > 1"}, headers=headers)
        assert made.status_code == 200
        mine = (await t.http.get("/v1/radar/rules", headers=t.key("owner"))).json()["data"]
        assert made.json()["id"] not in [x["id"] for x in mine]
    await _owner_radar_unchanged(t, r)


@rest("GET /v1/radar/value_lists", "POST /v1/radar/value_lists", "GET /v1/radar/value_lists/{value_list_id:str}",
      "POST /v1/radar/value_lists/{value_list_id:str}", "DELETE /v1/radar/value_lists/{value_list_id:str}",
      "GET /v1/radar/value_list_items", "POST /v1/radar/value_list_items",
      "GET /v1/radar/value_list_items/{item_id:str}", "DELETE /v1/radar/value_list_items/{item_id:str}")
async def _radar_lists_rest(t: Tenants) -> None:
    r = await _owner_radar(t)
    for _, headers in t.intruders:
        listed = (await t.http.get("/v1/radar/value_lists", params={"limit": 100}, headers=headers)).json()["data"]
        assert r["list"] not in [x["id"] for x in listed]
        assert (await t.http.get(f"/v1/radar/value_lists/{r['list']}", headers=headers)).status_code == 404
        renamed = await t.http.post(f"/v1/radar/value_lists/{r['list']}", json={"name": "mine"}, headers=headers)
        assert renamed.status_code == 404
        assert (await t.http.delete(f"/v1/radar/value_lists/{r['list']}", headers=headers)).status_code == 404
        items = await t.http.get("/v1/radar/value_list_items", params={"value_list": r["list"]}, headers=headers)
        assert items.status_code == 404
        added = await t.http.post("/v1/radar/value_list_items", json={"value_list": r["list"], "value": "x@y.co"},
                                  headers=headers)
        assert added.status_code == 404
        assert (await t.http.get(f"/v1/radar/value_list_items/{r['item']}", headers=headers)).status_code == 404
        assert (await t.http.delete(f"/v1/radar/value_list_items/{r['item']}", headers=headers)).status_code == 404
        own = await t.http.post("/v1/radar/value_lists", json={"alias": "owner_list", "name": "Same alias, theirs"},
                                headers=headers)
        assert own.status_code == 200  # aliases are per account and mode
    await _owner_radar_unchanged(t, r)


@rest("GET /v1/reviews", "GET /v1/reviews/{review_id:str}", "POST /v1/reviews/{review_id:str}/approve",
      "POST /v1/reviews/{review_id:str}/refund")
async def _reviews_rest(t: Tenants) -> None:
    r = await _owner_radar(t)
    for _, headers in t.intruders:
        assert (await t.http.get("/v1/reviews", headers=headers)).json()["data"] == []
        assert (await t.http.get(f"/v1/reviews/{r['review']}", headers=headers)).status_code == 404
        assert (await t.http.post(f"/v1/reviews/{r['review']}/approve", headers=headers)).status_code == 404
        refund = await t.http.post(f"/v1/reviews/{r['review']}/refund", json={"as_fraud": True}, headers=headers)
        assert refund.status_code == 404
    await _owner_radar_unchanged(t, r)


@graphql("Query.radarRules", "Query.radarRule", "Query.radarBacktest", "Query.riskEvaluation",
         "Query.radarValueLists", "Query.radarValueList", "Query.radarValueListItems", "Query.radarValueListItem",
         "Query.reviews", "Query.review", "Query.radarAlert")
async def _radar_graphql_reads(t: Tenants) -> None:
    r = await _owner_radar(t)
    query = """query($rule: ID!, $list: ID!, $item: ID!, $ev: ID!, $review: ID!) {
      radarRules { id } radarRule(id: $rule) { id } riskEvaluation(id: $ev) { id }
      radarBacktest(rule: "review if :amount_in_usd: > 100") { ... on RadarBacktest { matched } }
      radarValueLists(first: 100) { nodes { id } } radarValueList(id: $list) { id }
      radarValueListItem(id: $item) { id }
      reviews(first: 100) { nodes { id } } review(id: $review) { id } radarAlert { id } }"""
    variables = {"rule": r["rule"], "list": r["list"], "item": r["item"], "ev": r["evaluation"],
                 "review": r["review"]}
    for _, headers in t.intruders:
        result = await t.gql(headers, query, variables)
        data = result["data"]
        assert r["rule"] not in [x["id"] for x in data["radarRules"]]
        assert data["radarRule"] is None and data["riskEvaluation"] is None and data["review"] is None
        assert data["radarBacktest"]["matched"] == 0 and data["radarValueList"] is None
        assert r["list"] not in [x["id"] for x in data["radarValueLists"]["nodes"]]
        assert data["radarValueListItem"] is None and data["reviews"]["nodes"] == [] and data["radarAlert"] is None
        items = await t.gql(headers, "query($l: ID!) { radarValueListItems(valueList: $l) { nodes { id } } }",
                            {"l": r["list"]})
        assert items["data"]["radarValueListItems"]["nodes"] == []  # a list not theirs has nothing to show
    await _owner_radar_unchanged(t, r)


@graphql("Mutation.createRadarRule", "Mutation.updateRadarRule", "Mutation.deleteRadarRule",
         "Mutation.createRadarValueList", "Mutation.updateRadarValueList", "Mutation.deleteRadarValueList",
         "Mutation.createRadarValueListItem", "Mutation.deleteRadarValueListItem", "Mutation.approveReview",
         "Mutation.refundReview", "Mutation.createTestPayment")
async def _radar_graphql_writes(t: Tenants) -> None:
    r = await _owner_radar(t)
    for _, headers in t.intruders:
        for mutation in (f'updateRadarRule(id: "{r["rule"]}", input: {{shadow: true}})',
                         f'deleteRadarRule(id: "{r["rule"]}")',
                         f'updateRadarValueList(id: "{r["list"]}", input: {{name: "x"}})',
                         f'deleteRadarValueList(id: "{r["list"]}")',
                         f'createRadarValueListItem(input: {{valueList: "{r["list"]}", value: "x@y.co"}})',
                         f'deleteRadarValueListItem(id: "{r["item"]}")',
                         f'approveReview(id: "{r["review"]}")', f'refundReview(id: "{r["review"]}", asFraud: true)'):
            result = await t.gql(headers, f"mutation {{ m: {mutation} {{ __typename ... on Error {{ code }} }} }}")
            assert result["data"]["m"] == {"__typename": "NotFoundError", "code": "resource_missing"}, mutation
        made = await t.gql(headers, 'mutation { m: createRadarRule(input: {rule: "review if :amount: > 1"}) '
                                    '{ ... on RadarRulePayload { rule { id } } } }')
        listed = await t.gql(headers, 'mutation { m: createRadarValueList(input: {alias: "theirs", name: "T"}) '
                                      '{ ... on RadarValueListPayload { valueList { id } } } }')
        mine = (await t.http.get("/v1/radar/rules", headers=t.key("owner"))).json()["data"]
        assert made["data"]["m"]["rule"]["id"] not in [x["id"] for x in mine]
        assert listed["data"]["m"]["valueList"]["id"] != r["list"]
        paid = await t.gql(headers, 'mutation { m: createTestPayment(input: {amount: 500, currency: "usd", '
                                    'cardNumber: "4242424242424242"}) { __typename ... on PaymentIntentPayload '
                                    '{ paymentIntent { id } } } }')
        if headers == t.key("owner", "live"):
            assert paid["data"]["m"]["__typename"] == "ValidationError"  # test mode only
        else:
            theirs = paid["data"]["m"]["paymentIntent"]["id"]
            owner = (await t.http.get(f"/v1/payment_intents/{theirs}", headers=t.key("owner")))
            assert owner.status_code == 404
    await _owner_radar_unchanged(t, r)
