"""GET /v1/events, GET /v1/events/{id} and the GraphQL `events` / `event` fields."""

from __future__ import annotations

import time

from server.context import RequestContext
from tests.events.helpers import emit_event, scope_of
from tests.factories import new_account


def auth(account, mode: str = "test") -> dict[str, str]:
    return {"Authorization": f"Bearer {account.keys['secret_' + mode]}"}


class TestList:
    async def test_newest_first_with_cursor_pagination(self, http):
        # given five events
        account = await new_account()
        ids = [await emit_event(scope_of(account)) for _ in range(5)]
        # when listing two at a time
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            body = (await http.get("/v1/events", params=params, headers=auth(account))).json()
            assert body["object"] == "list" and len(body["data"]) <= 2
            seen += [e["id"] for e in body["data"]]
            if not body["has_more"]:
                assert body["next_cursor"] is None
                break
            cursor = body["next_cursor"]
        # then every event once, newest first (by id: ids of the same millisecond order by their random part)
        assert seen == sorted(ids, reverse=True)

    async def test_filters_by_one_or_several_types_and_wildcards(self, http):
        account = await new_account()
        scope = scope_of(account)
        created = await emit_event(scope, "customer.created")
        paid = await emit_event(scope, "payment_intent.succeeded")
        failed = await emit_event(scope, "payment_intent.payment_failed")

        async def ids(params):
            resp = await http.get("/v1/events", params=params, headers=auth(account))
            assert resp.status_code == 200, resp.text
            return [e["id"] for e in resp.json()["data"]]

        def newest_first(*ids):
            return sorted(ids, reverse=True)

        assert await ids({"type": "customer.created"}) == [created]
        repeated = [("type", "customer.created"), ("type", "payment_intent.succeeded")]
        assert await ids(repeated) == newest_first(paid, created)
        assert await ids({"type": "customer.created,payment_intent.payment_failed"}) == newest_first(failed, created)
        assert await ids({"type": "payment_intent.*"}) == newest_first(failed, paid)
        assert await ids({"types[]": "payment_intent.succeeded"}) == [paid]

    async def test_created_range(self, http):
        account = await new_account()
        first = await emit_event(scope_of(account))
        one = (await http.get(f"/v1/events/{first}", headers=auth(account))).json()
        now = int(time.time())
        assert [e["id"] for e in (await http.get("/v1/events", params={"created[gte]": one["created"]},
                                                  headers=auth(account))).json()["data"]] == [first]
        assert [e["id"] for e in (await http.get("/v1/events", params={"created[lte]": one["created"]},
                                                  headers=auth(account))).json()["data"]] == [first]
        assert (await http.get("/v1/events", params={"created[gte]": now + 5},
                               headers=auth(account))).json()["data"] == []
        assert (await http.get("/v1/events", params={"created[lt]": one["created"]},
                               headers=auth(account))).json()["data"] == []

    async def test_bad_parameters_are_clear_400s(self, http):
        account = await new_account()
        for params, param in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "x"}, "limit"),
                              ({"cursor": "nope!"}, "cursor"), ({"created[gte]": "yesterday"}, "created[gte]"),
                              ({"type": "bad type!"}, "type"), ({"colour": "red"}, "colour")):
            resp = await http.get("/v1/events", params=params, headers=auth(account))
            assert resp.status_code == 400, (params, resp.text)
            assert resp.json()["error"]["param"] == param

    async def test_needs_an_api_key(self, http):
        assert (await http.get("/v1/events")).status_code == 401


class TestRetrieve:
    async def test_snapshot_request_id_and_idempotency_key(self, http):
        account = await new_account()
        ctx = RequestContext(request_id="req_test123", idempotency_key="idem-42")
        event_id = await emit_event(scope_of(account), "customer.created", object_id="cus_abc",
                                    data={"id": "cus_abc", "email": "a@example.com"}, ctx=ctx)
        body = (await http.get(f"/v1/events/{event_id}", headers=auth(account))).json()
        assert body["object"] == "event" and body["type"] == "customer.created" and body["livemode"] is False
        assert body["data"]["object"] == {"id": "cus_abc", "email": "a@example.com"}
        assert body["data"]["object_id"] == "cus_abc" and body["data"]["object_type"] == "customer"
        assert body["request"] == {"id": "req_test123", "idempotency_key": "idem-42"}
        assert isinstance(body["created"], int)

    async def test_unknown_is_404(self, http):
        account = await new_account()
        resp = await http.get("/v1/events/evt_missing", headers=auth(account))
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "resource_missing"


class TestGraphQL:
    async def test_connection_with_types_and_one_event(self, http):
        account = await new_account()
        scope = scope_of(account)
        await emit_event(scope, "customer.created")
        paid = await emit_event(scope, "payment_intent.succeeded", data={"amount": 1000})
        query = """query($types: [String!], $id: ID!) { events(types: $types, first: 10) {
                     nodes { id type objectType data } pageInfo { hasNextPage endCursor } }
                   event(id: $id) { id data requestId } }"""
        variables = {"types": ["payment_intent.*"], "id": paid}
        body = (await http.post("/graphql", json={"query": query, "variables": variables},
                                headers=auth(account))).json()
        assert [n["id"] for n in body["data"]["events"]["nodes"]] == [paid]
        assert body["data"]["events"]["pageInfo"]["hasNextPage"] is False
        assert body["data"]["event"]["data"] == {"amount": 1000}

    async def test_first_is_bounded(self, http):
        account = await new_account()
        body = (await http.post("/graphql", json={"query": "{ events(first: 500) { nodes { id } } }"},
                                headers=auth(account))).json()
        assert body["errors"][0]["extensions"]["field"] == "first"
