"""Every failure of a REST or page request in the one JSON error shape; bad input is never a 500."""

from __future__ import annotations

import json

import httpx
import pytest

from server.settings import get_settings
from tests.factories import bearer, gql, login, new_account


def _shape(resp, status: int, type_: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    error = resp.json()["error"]
    assert error["type"] == type_
    assert error["code"] and error["message"]
    assert error["request_id"] == resp.headers["request-id"]
    return error


async def test_unknown_route(http):
    error = _shape(await http.get("/v1/nothing-here"), 404, "invalid_request_error")
    assert error["message"] == "no route for GET /v1/nothing-here"


async def test_wrong_method(http):
    account = await new_account()
    _shape(await http.post("/v1/account", json={}, headers=bearer(account.keys["secret_test"])), 405,
           "invalid_request_error")


async def test_authentication_errors(http):
    error = _shape(await http.get("/v1/account"), 401, "authentication_error")
    assert "Authorization: Bearer" in error["message"]


class TestOversizedBodies:
    """PAYDECK_MAX_BODY_BYTES (default 1 MiB) → 413 in the JSON error shape, before any parsing."""

    def _body(self) -> bytes:
        return b'{"query": "' + b"x" * (get_settings().max_body_bytes + 1) + b'"}'

    async def test_graphql(self, http):
        error = _shape(await http.post("/graphql", content=self._body(),
                                       headers={"Content-Type": "application/json"}), 413, "invalid_request_error")
        assert error["message"] == "request body too large"

    async def test_graphql_chunked_without_length(self, http):
        body = self._body()

        async def chunks():
            for i in range(0, len(body), 65536):
                yield body[i:i + 65536]

        resp = await http.post("/graphql", content=chunks(), headers={"Content-Type": "application/json"})
        _shape(resp, 413, "invalid_request_error")

    async def test_page_form(self, http, base_url):
        account = await new_account()
        session = await login(base_url, account.user["email"])
        try:
            resp = await session.post("/settings", {"name": "x" * (get_settings().max_body_bytes + 1)})
        finally:
            await session.client.aclose()
        assert resp.status_code == 413

    async def test_a_body_under_the_limit_is_fine(self, http):
        account = await new_account()
        query = "{ viewer { kind } }" + " " * (get_settings().max_body_bytes // 2)
        resp = await http.post("/graphql", json={"query": query}, headers=bearer(account.keys["secret_test"]))
        assert resp.status_code == 200


@pytest.fixture(scope="module")
async def owner(server):
    account = await new_account(name="Forms Co")
    session = await login(server, account.user["email"])
    yield session
    await session.client.aclose()


@pytest.mark.parametrize(("form", "message"), [
    ({"fee_percent_bps": "abc"}, "fee_percent_bps must be a whole number"),
    ({"fee_percent_bps": "2001"}, "fee_percent_bps must be an integer from 0 to 2000"),
    ({"log_retention_days": "0"}, "log_retention_days must be an integer from 1 to 400"),
    ({"log_retention_days": "401"}, "log_retention_days must be an integer from 1 to 400"),
    ({"default_currency": "XYZ"}, "unknown currency"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"country": "USA"}, "two-letter"),
    ({"name": ""}, "name must be 1 to 200 characters"),
])
async def test_settings_form_says_what_is_wrong(owner, form, message):
    resp = await owner.post("/settings", form)
    assert resp.status_code == 400
    assert message in resp.text and "form-error" in resp.text


async def test_settings_change_is_saved_and_audited(owner):
    resp = await owner.post("/settings", {"name": "Renamed Co", "log_retention_days": "90", "timezone": "Europe/Paris"})
    assert resp.status_code == 303 and resp.headers["location"] == "/settings?saved=1"
    account = await owner.graphql("{ account { name logRetentionDays timezone } }")
    assert account["data"]["account"] == {"name": "Renamed Co", "logRetentionDays": 90, "timezone": "Europe/Paris"}
    log = await owner.graphql("{ auditLog { nodes { action details } } }")
    changed = next(n for n in log["data"]["auditLog"]["nodes"] if n["action"] == "settings.changed")
    assert changed["details"]["log_retention_days"] == {"from": 30, "to": 90}


async def test_graphql_settings_validation(owner):
    result = await owner.graphql(
        'mutation { r: updateAccountSettings(input: {logRetentionDays: 0}) { __typename ... on Error { field } } }')
    assert result["data"]["r"] == {"__typename": "ValidationError", "field": "log_retention_days"}


async def test_login_form_with_garbage_is_not_a_500(http):
    resp = await http.post("/login", content=b"\xff\xfe\x00garbage",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= resp.status_code < 500


class TestBadInputIsA400NamingTheField:
    """Input no handler can use is refused once, centrally, before it reaches a query: never a 500."""

    @pytest.fixture(scope="class")
    async def key(self, server):
        account = await new_account(name="Bad Input Co")
        return bearer(account.keys["secret_test"])

    @pytest.fixture(scope="class")
    async def customer_id(self, server, key):
        async with httpx.AsyncClient(base_url=server) as client:
            return (await client.post("/v1/customers", json={"email": "nul@example.com"}, headers=key)).json()["id"]

    @pytest.mark.parametrize(("method", "path", "body", "param"), [
        ("POST", "/v1/customers", {"name": "a\x00b"}, "name"),
        ("POST", "/v1/customers", {"metadata": {"note": "x\x00"}}, "metadata.note"),
        ("POST", "/v1/customers", {"metadata": {"n\x00te": "x"}}, "metadata.n\\u0000te"),
        ("POST", "/v1/customers", {"name": "\ud800"}, "name"),
        ("POST", "/v1/webhook_endpoints", {"url": "https://example.com/\x00", "enabled_events": ["*"]}, "url"),
        ("POST", "/v1/refunds", {"payment_intent": "pi_\x00"}, "payment_intent"),
        ("GET", "/v1/customers/cus_%00x", None, "customer_id"),
        ("GET", "/v1/payment_intents/pi_%00x", None, "pi_id"),
        ("GET", "/v1/customers?email=a%00b", None, "email"),
        ("GET", "/v1/request_logs?query=a%00b", None, "query"),
        ("GET", "/v1/events?object_id=%00", None, "object_id"),
    ])
    async def test_nul_anywhere(self, http, key, method, path, body, param):
        content = json.dumps(body).encode() if body is not None else None  # ASCII escapes: "\ud800" too
        resp = await http.request(method, path, content=content, headers={**key, "Content-Type": "application/json"})
        error = _shape(resp, 400, "invalid_request_error")
        assert error["param"] == param
        assert "must not contain the NUL character" in error["message"] or "must be valid UTF-8" in error["message"]

    async def test_nul_in_a_customer_balance_query(self, http, key, customer_id):
        error = _shape(await http.get(f"/v1/customers/{customer_id}/history?cursor=%00", headers=key), 400,
                       "invalid_request_error")
        assert error["param"] == "cursor"

    async def test_invalid_utf8_names_the_field(self, http, key):
        resp = await http.post("/v1/customers", content=b'{"email": "a@example.com", "name": "\xff\xfe"}',
                               headers={**key, "Content-Type": "application/json"})
        error = _shape(resp, 400, "invalid_request_error")
        assert error["param"] == "name" and "UTF-8" in error["message"]

    async def test_invalid_utf8_to_graphql(self, http, key):
        resp = await http.post("/graphql", content=b'{"query": "{ viewer { kind } }", "variables": {"a": "\xff"}}',
                               headers={**key, "Content-Type": "application/json"})
        assert _shape(resp, 400, "invalid_request_error")["param"] == "variables.a"

    async def test_json_nested_100000_deep(self, http, key):
        body = b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        resp = await http.post("/v1/customers", content=body, headers={**key, "Content-Type": "application/json"})
        error = _shape(resp, 400, "invalid_request_error")
        assert "nested too deeply" in error["message"] and error["param"] == "body"

    async def test_json_nested_too_deep_for_graphql_is_a_400_and_is_logged(self, http):
        from server.apilogs.writer import flush_all

        account = await new_account(name="Deep Co")
        key = bearer(account.keys["secret_test"])
        body = b'{"query": "{ viewer { kind } }", "variables": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
        resp = await http.post("/graphql", content=body, headers={**key, "Content-Type": "application/json"})
        error = _shape(resp, 400, "invalid_request_error")
        assert "nested too deeply" in error["message"]
        await flush_all()
        logged = await http.get(f"/v1/request_logs/{resp.headers['request-id']}", headers=key)
        assert logged.status_code == 200, logged.text
        assert logged.json()["status"] == 400 and logged.json()["path"] == "/graphql"

    async def test_a_number_too_large_for_json(self, http, key):
        resp = await http.post("/v1/customers", content=b'{"metadata": {"n": 1e999999}}',
                               headers={**key, "Content-Type": "application/json"})
        assert _shape(resp, 400, "invalid_request_error")["param"] == "metadata.n"

    @pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "99999999999999"])
    async def test_a_time_outside_what_can_be_stored(self, http, key, customer_id, at):
        resp = await http.get(f"/v1/customers/{customer_id}/balance", params={"at": at}, headers=key)
        assert _shape(resp, 400, "invalid_request_error")["param"] == "at"
        resp = await http.get("/v1/payment_intents", params={"created[gte]": at}, headers=key)
        assert _shape(resp, 400, "invalid_request_error")["param"] == "created[gte]"

    async def test_events_after_the_last_second_there_is(self, http, key):
        resp = await http.get("/v1/events", params={"created[gt]": "253402300799"}, headers=key)
        assert resp.status_code == 200 and resp.json()["data"] == []

    async def test_unsupported_content_type_is_a_415(self, http, key):
        for path in ("/v1/customers", "/graphql"):
            resp = await http.post(path, content=b"name=x", headers={**key, "Content-Type": "text/plain"})
            error = _shape(resp, 415, "invalid_request_error")
            assert error["param"] == "Content-Type" and "application/json" in error["message"]

    async def test_an_empty_body_gets_a_real_message(self, http, key):
        for path in ("/v1/customers", "/v1/payment_intents"):
            resp = await http.post(path, content=b"", headers={**key, "Content-Type": "application/json"})
            error = _shape(resp, 400, "invalid_request_error")
            assert error["param"] == "body" and error["message"].startswith("the request body is empty")
        resp = await http.post("/graphql", content=b"", headers={**key, "Content-Type": "application/json"})
        assert _shape(resp, 400, "invalid_request_error")["message"].startswith("the request body is empty")

    async def test_malformed_json_says_so(self, http, key):
        resp = await http.post("/v1/customers", content=b'{"name": ',
                               headers={**key, "Content-Type": "application/json"})
        error = _shape(resp, 400, "invalid_request_error")
        assert "not valid JSON" in error["message"] and error["param"] == "body"


class TestGraphQLBadInput:
    @pytest.fixture(scope="class")
    async def key(self, server):
        account = await new_account(name="GraphQL Bad Input Co")
        return bearer(account.keys["secret_test"])

    async def test_a_subscription_over_post_is_a_400(self, http, key):
        resp = await http.post("/graphql", json={"query": "subscription { heartbeat { at } }"}, headers=key)
        error = _shape(resp, 400, "invalid_request_error")
        assert error["param"] == "query" and "WebSocket" in error["message"]

    async def test_a_subscription_over_get_is_a_400(self, http, key):
        resp = await http.get("/graphql", params={"query": "subscription S { heartbeat { at } }"}, headers=key)
        assert _shape(resp, 400, "invalid_request_error")["param"] == "query"

    @pytest.mark.parametrize(("query", "variables", "field"), [
        ('{ customers(email: "a\\u0000b") { nodes { id } } }', {}, "email"),
        ('query($e: String) { customers(email: $e) { nodes { id } } }', {"e": "a\x00"}, "e"),
        ('mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { __typename } }',
         {"i": {"email": "x@example.com", "name": "n\x00"}}, "i.name"),
        ('mutation { createCustomer(input: {email: "x@example.com", name: "\\u0000"}) { __typename } }', {},
         "input.name"),
    ])
    async def test_nul_in_an_argument_or_variable(self, http, key, query, variables, field):
        result = await gql(http, query, variables, headers=key)
        assert result["data"] is None
        (error,) = result["errors"]
        assert error["extensions"] == {"code": "parameter_invalid", "type": "invalid_request_error", "status": 400,
                                       "classification": "BAD_REQUEST", "field": field}
        assert "NUL" in error["message"]

    async def test_a_time_outside_what_can_be_stored(self, http, key):
        result = await gql(http, 'query($at: DateTime) { payments: paymentIntents(createdGte: $at) { nodes { id } } }',
                           {"at": "0001-01-01T00:00:00+14:00"}, headers=key)
        assert "internal" not in str(result) and "out of range" in result["errors"][0]["message"]

    async def test_request_errors_are_json(self, http, key):
        resp = await http.post("/graphql", json={"variables": {}}, headers=key)
        error = _shape(resp, 400, "invalid_request_error")
        assert error["param"] == "query"
