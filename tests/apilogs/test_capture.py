"""What gets logged: API-key requests to /v1 and /graphql, dashboard mutations; with the right fields."""

from __future__ import annotations

import pytest

from server import db
from server.apilogs.writer import flush_all
from tests.factories import login, new_account


@pytest.fixture
async def account(server):
    return await new_account(name="Capture Co")


async def logged(request_id: str) -> dict | None:
    await flush_all()
    return await db.fetchrow("SELECT *, host(ip_address) AS ip FROM api_request_logs WHERE id = $1", request_id)


class TestApiRequests:
    async def test_rest_request_is_logged_with_its_request_id_and_key(self, http, account):
        resp = await http.get("/v1/account?expand=x", headers={"Authorization": f"Bearer {account.keys['secret_test']}",
                                                                 "Idempotency-Key": "idem-123"})
        row = await logged(resp.headers["Request-Id"])
        assert row is not None
        assert (row["account_id"], row["livemode"], row["source"], row["method"], row["path"]) == (
            account.account["id"], False, "api", "GET", "/v1/account")
        assert row["status_code"] == 200 and row["api_key_type"] == "secret" and row["api_key_id"].startswith("key_")
        assert row["idempotency_key"] == "idem-123" and row["ip"] == "127.0.0.1"
        assert account.account["id"] in row["response_body"] and row["duration_ms"] > 0
        assert row["query_params"] == {"expand": "x"}

    async def test_live_key_is_logged_in_live_mode(self, http, account):
        resp = await http.get("/v1/account", headers={"Authorization": f"Bearer {account.keys['secret_live']}"})
        row = await logged(resp.headers["Request-Id"])
        assert row["livemode"] is True

    async def test_errors_carry_type_code_and_message(self, http, account):
        resp = await http.get("/v1/request_logs/req_missing", headers={
            "Authorization": f"Bearer {account.keys['secret_test']}"})
        assert resp.status_code == 404 and resp.json()["error"]["request_id"] == resp.headers["Request-Id"]
        row = await logged(resp.headers["Request-Id"])
        assert (row["status_code"], row["error_type"], row["error_code"]) == (
            404, "invalid_request_error", "resource_missing")
        assert "req_missing" in row["error_message"]

    async def test_graphql_operation_name_type_and_errors(self, http, account):
        auth = {"Authorization": f"Bearer {account.keys['secret_test']}"}
        ok = await http.post("/graphql", json={"query": "query Who { viewer { accountId } }"}, headers=auth)
        bad = await http.post("/graphql", json={"query": "query Keys { apiKeys { nodes { id } } }"}, headers=auth)
        row = await logged(ok.headers["Request-Id"])
        assert (row["operation_name"], row["operation_type"], row["error_type"]) == ("Who", "query", None)
        row = await logged(bad.headers["Request-Id"])
        assert row["operation_name"] == "Keys" and row["error_code"] == "permission_denied"

    async def test_requests_without_a_valid_key_are_not_attributed(self, http, account):
        resp = await http.get("/v1/account", headers={"Authorization": "Bearer sk_test_nope"})
        assert resp.status_code == 401
        assert await logged(resp.headers["Request-Id"]) is None

    async def test_large_bodies_are_truncated_with_a_marker(self, http, account):
        big = "word " * 5000  # 25,000 bytes, above the 16 KiB default
        resp = await http.post("/graphql", json={"query": "query Big { viewer { accountId } }",
                                                 "variables": {"note": big}},
                               headers={"Authorization": f"Bearer {account.keys['secret_test']}"})
        row = await logged(resp.headers["Request-Id"])
        assert "truncated by Paydeck" in row["request_body"]
        assert len(row["request_body"].encode()) < 16_384 + 100


class TestDashboard:
    async def test_mutations_are_logged_with_the_user_and_reads_are_not(self, base_url, account):
        browser = await login(base_url, account.user["email"])
        try:
            page = await browser.get("/settings")
            created = await browser.post("/apikeys", {"name": "From the dashboard", "kind": "secret"})
            mutation = await browser.graphql('mutation Revoke($id: ID!) { revokeApiKey(id: $id) { __typename } }',
                                             {"id": "key_nope"})
            assert mutation["data"]["revokeApiKey"]["__typename"] == "NotFoundError"
            query = await browser.client.post("/graphql", json={"query": "{ viewer { email } }"},
                                              headers={"X-CSRF-Token": browser.csrf})
        finally:
            await browser.client.aclose()
        assert await logged(page.headers["Request-Id"]) is None
        assert await logged(query.headers["Request-Id"]) is None
        row = await logged(created.headers["Request-Id"])
        assert (row["source"], row["user_id"], row["method"], row["path"]) == (
            "dashboard", account.user["id"], "POST", "/apikeys")
        assert "_csrf=%5BREDACTED%5D" in row["request_body"] and "sk_test_[REDACTED]" in row["response_body"]
        rows = await db.fetch("SELECT operation_name, operation_type FROM api_request_logs WHERE account_id = $1 "
                              "AND source = 'dashboard' AND path = '/graphql'", account.account["id"])
        assert [(r["operation_name"], r["operation_type"]) for r in rows] == [("Revoke", "mutation")]
