"""API keys from creation to revocation: use, last use, roll with expiry, expiry, revoke, storage, audit."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest

from server import db
from server.keys import cache, tokens
from tests.factories import bearer, create_key, login, new_account

KEY_QUERY = "query($id: ID!) { apiKey(id: $id) { id status lastUsedAt expiresAt revokedAt rolledTo } }"
ROLL = ("mutation($id: ID!, $h: Int!) { rollApiKey(id: $id, expiresInHours: $h) { __typename "
        "... on ApiKeySecretPayload { secret apiKey { id } previousKey { id status expiresAt } } "
        "... on Error { code message field } } }")
REVOKE = ("mutation($id: ID!) { revokeApiKey(id: $id) { __typename ... on ApiKeyPayload { apiKey { status } } "
          "... on Error { code message } } }")


@pytest.fixture
async def owner(base_url):
    account = await new_account(name="Key Co")
    session = await login(base_url, account.user["email"])
    yield session
    await session.client.aclose()


async def _status(http, token: str) -> tuple[int, dict]:
    resp = await http.get("/v1/account", headers=bearer(token))
    return resp.status_code, resp.json()


async def _expire_now(key_id: str) -> None:
    """Simulate the passing of time: the key's expiry is reached."""
    await db.execute("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", key_id)
    await cache.keys_changed()  # the row changed behind the service's back: processes must read it again


class TestCreateAndUse:
    async def test_a_new_key_works_and_records_its_last_use(self, http, owner):
        key = await create_key(owner, "secret", name="backend")
        assert key["secret"].startswith("sk_test_")
        assert key["display"].startswith("sk_test_") and key["display"].endswith(key["secret"][-4:])
        before = await owner.graphql(KEY_QUERY, {"id": key["id"]})
        assert before["data"]["apiKey"]["lastUsedAt"] is None
        assert before["data"]["apiKey"]["status"] == "active"

        status, body = await _status(http, key["secret"])

        assert status == 200, body
        assert body["object"] == "account" and body["livemode"] is False
        after = await owner.graphql(KEY_QUERY, {"id": key["id"]})
        assert after["data"]["apiKey"]["lastUsedAt"] is not None

    async def test_a_live_mode_session_creates_live_keys(self, http, owner):
        await owner.post("/mode", {"livemode": "true", "next": "/"})
        key = await create_key(owner, "secret")
        assert key["secret"].startswith("sk_live_")
        status, body = await _status(http, key["secret"])
        assert status == 200 and body["livemode"] is True

    async def test_only_a_sha256_hash_is_stored(self, owner):
        key = await create_key(owner, "restricted", permissions=[{"resource": "customers", "level": "read"}])
        row = await db.fetchrow("SELECT * FROM api_keys WHERE id = $1", key["id"])
        assert row["token_hash"] == hashlib.sha256(key["secret"].encode()).hexdigest()
        for column, value in row.items():
            assert key["secret"] not in str(value), column
            # Not even the random part without its prefix.
            assert key["secret"][8:-6] not in str(value), column

    async def test_the_secret_is_not_readable_after_creation(self, owner):
        key = await create_key(owner, "secret")
        listed = await owner.graphql("{ apiKeys(first: 100) { nodes { id display } } }")
        assert key["secret"] not in str(listed)
        page = await owner.get("/apikeys")
        assert page.status_code == 200
        assert key["display"] in page.text and key["secret"] not in page.text

    async def test_expiry_in_the_past_is_refused(self, owner):
        result = await owner.graphql(
            'mutation { createApiKey(input: {kind: "secret", expiresAt: "2020-01-01T00:00:00Z"}) '
            "{ __typename ... on Error { field } } }")
        assert result["data"]["createApiKey"] == {"__typename": "ValidationError", "field": "expires_at"}

    async def test_an_expiry_without_a_time_zone_is_taken_as_utc(self, owner):
        key = await create_key(owner, "secret", expiresAt="2100-01-01T00:00:00")
        assert key["expiresAt"].startswith("2100-01-01T00:00:00")
        assert key["expiresAt"].endswith(("+00:00", "Z"))

    async def test_a_key_stops_at_its_own_expiry(self, http, owner):
        key = await create_key(owner, "secret", expiresAt="2100-01-01T00:00:00Z")
        assert (await _status(http, key["secret"]))[0] == 200
        await _expire_now(key["id"])
        status, body = await _status(http, key["secret"])
        assert status == 401
        assert body["error"]["code"] == "api_key_expired" and "expired" in body["error"]["message"]


class TestRoll:
    async def test_old_key_works_until_its_expiry_then_says_expired(self, http, owner):
        old = await create_key(owner, "secret")

        result = await owner.graphql(ROLL, {"id": old["id"], "h": 24})

        payload = result["data"]["rollApiKey"]
        assert payload["__typename"] == "ApiKeySecretPayload", result
        new_secret = payload["secret"]
        assert new_secret != old["secret"] and new_secret.startswith("sk_test_")
        assert payload["previousKey"]["status"] == "expiring"
        assert payload["previousKey"]["expiresAt"] is not None
        assert (await _status(http, old["secret"]))[0] == 200
        assert (await _status(http, new_secret))[0] == 200

        await _expire_now(old["id"])

        status, body = await _status(http, old["secret"])
        assert status == 401
        assert body["error"]["type"] == "authentication_error"
        assert body["error"]["code"] == "api_key_expired" and "expired" in body["error"]["message"]
        assert (await _status(http, new_secret))[0] == 200

    async def test_roll_now_stops_the_old_key_at_once(self, http, owner):
        old = await create_key(owner, "secret")
        result = await owner.graphql(ROLL, {"id": old["id"], "h": 0})
        assert result["data"]["rollApiKey"]["__typename"] == "ApiKeySecretPayload"
        status, body = await _status(http, old["secret"])
        assert status == 401 and body["error"]["code"] in ("api_key_revoked", "api_key_expired")

    async def test_a_restricted_key_keeps_its_rights_when_rolled(self, http, owner):
        old = await create_key(owner, "restricted", permissions=[{"resource": "account", "level": "read"}])
        result = await owner.graphql(ROLL, {"id": old["id"], "h": 1})
        new_secret = result["data"]["rollApiKey"]["secret"]
        assert new_secret.startswith("rk_test_")
        assert (await _status(http, new_secret))[0] == 200

    @pytest.mark.parametrize("hours", [-1, 169])
    async def test_expiry_beyond_seven_days_is_refused(self, owner, hours):
        old = await create_key(owner, "secret")
        result = await owner.graphql(ROLL, {"id": old["id"], "h": hours})
        assert result["data"]["rollApiKey"]["__typename"] == "ValidationError"
        assert result["data"]["rollApiKey"]["field"] == "expires_in_hours"

    async def test_a_key_is_rolled_once(self, owner):
        old = await create_key(owner, "secret")
        await owner.graphql(ROLL, {"id": old["id"], "h": 2})
        again = await owner.graphql(ROLL, {"id": old["id"], "h": 2})
        assert again["data"]["rollApiKey"]["__typename"] == "ConflictError"


class TestRevoke:
    async def test_a_revoked_key_gets_401_revoked(self, http, owner):
        key = await create_key(owner, "secret")
        assert (await _status(http, key["secret"]))[0] == 200

        result = await owner.graphql(REVOKE, {"id": key["id"]})

        assert result["data"]["revokeApiKey"]["apiKey"]["status"] == "revoked"
        status, body = await _status(http, key["secret"])
        assert status == 401
        assert body["error"]["code"] == "api_key_revoked" and "revoked" in body["error"]["message"]

    async def test_revoking_twice_is_a_conflict(self, owner):
        key = await create_key(owner, "secret")
        await owner.graphql(REVOKE, {"id": key["id"]})
        again = await owner.graphql(REVOKE, {"id": key["id"]})
        assert again["data"]["revokeApiKey"]["__typename"] == "ConflictError"

    async def test_revoked_keys_are_hidden_unless_asked_for(self, owner):
        key = await create_key(owner, "secret")
        await owner.graphql(REVOKE, {"id": key["id"]})
        default = await owner.graphql("{ apiKeys(first: 100) { nodes { id } } }")
        assert key["id"] not in str(default)
        everything = await owner.graphql("{ apiKeys(first: 100, includeRevoked: true) { nodes { id } } }")
        assert key["id"] in str(everything)


class TestUnusableKeys:
    async def test_unknown_key(self, http):
        status, body = await _status(http, tokens.generate("secret", False))
        assert status == 401
        assert body["error"]["code"] == "api_key_unknown" and "unknown" in body["error"]["message"]

    @pytest.mark.parametrize("token", ["sk_test_abc", "hello", "sk_test_" + "A" * 38, "xk_test_" + "A" * 38])
    async def test_malformed_key(self, http, token):
        status, body = await _status(http, token)
        assert status == 401
        assert body["error"]["code"] == "api_key_malformed" and "malformed" in body["error"]["message"]

    async def test_a_key_with_a_wrong_checksum_is_malformed(self, http):
        good = tokens.generate("secret", False)
        bad = good[:-1] + ("A" if good[-1] != "A" else "B")
        status, body = await _status(http, bad)
        assert status == 401 and body["error"]["code"] == "api_key_malformed"

    async def test_not_a_key_header(self, http):
        for header in ("Basic dXNlcjpwYXNz", "Basic !!!", "Digest abc", "Basic"):  # user:pass, not base64, ...
            resp = await http.get("/v1/account", headers={"Authorization": header})
            assert resp.status_code == 401
            assert resp.json()["error"]["code"] == "authorization_header_invalid"

    async def test_basic_with_the_key_as_user_name_is_a_key_as_in_stripes_curl_examples(self, http):
        account = await new_account()
        key = account.keys["secret_test"]
        basic = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        for path in ("/v1/account", "/stripe/v1/customers"):
            resp = await http.get(path, headers={"Authorization": basic})
            assert resp.status_code == 200, resp.text
        assert (await http.get("/v1/account", headers={"Authorization": basic})).json()["id"] == account.account["id"]

    async def test_no_key(self, http):
        resp = await http.get("/v1/account")
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "api_key_missing"

    async def test_graphql_reports_the_same_reason(self, http):
        resp = await http.post("/graphql", json={"query": "{ viewer { accountId } }"},
                               headers=bearer("sk_test_abc"))
        assert resp.status_code == 401
        assert "malformed" in resp.text


async def test_audit_log_records_created_rolled_and_revoked(owner):
    key = await create_key(owner, "secret")
    rolled = await owner.graphql(ROLL, {"id": key["id"], "h": 1})
    new_id = rolled["data"]["rollApiKey"]["apiKey"]["id"]
    await owner.graphql(REVOKE, {"id": new_id})

    log = await owner.graphql("{ auditLog(first: 100) { nodes { action targetId actorUserId livemode details } } }")

    entries = [(n["action"], n["targetId"]) for n in log["data"]["auditLog"]["nodes"]]
    assert ("api_key.created", key["id"]) in entries
    assert ("api_key.rolled", key["id"]) in entries
    assert ("api_key.revoked", new_id) in entries
    assert all(n["actorUserId"] for n in log["data"]["auditLog"]["nodes"] if n["action"].startswith("api_key."))
    assert key["secret"] not in str(log)


async def test_per_key_rate_limit_answers_429_with_retry_after(http):
    """Tests run with PAYDECK_API_RATE_LIMIT_PER_SECOND=60."""
    account = await new_account()
    token = account.keys["secret_test"]
    limited = None
    for _ in range(5):  # bursts of 125 fill one one-second window past 60, whatever the clock
        responses = await asyncio.gather(*[http.get("/v1/account", headers=bearer(token)) for _ in range(125)])
        assert {r.status_code for r in responses} <= {200, 429}
        limited = next((r for r in responses if r.status_code == 429), None)
        if limited is not None:
            break
    assert limited is not None, "no request was limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["type"] == "rate_limit_error"
    # The limit is per key: another key of the same account is not affected.
    assert (await http.get("/v1/account", headers=bearer(account.keys["secret_live"]))).status_code == 200
