"""Every failure of a REST or page request in the one JSON error shape; bad input is never a 500."""

from __future__ import annotations

import pytest

from server.settings import get_settings
from tests.factories import bearer, login, new_account


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
