"""GraphQL guards: depth, aliases, tokens, page sizes, cursors, wrong types, unknown fields; never a 500."""

from __future__ import annotations

import pytest

from server.settings import get_settings
from tests.factories import bearer, login, new_account


@pytest.fixture(scope="module")
async def key(server):
    account = await new_account(name="Limits Co")
    return bearer(account.keys["secret_test"])


@pytest.fixture(scope="module")
async def owner(server):
    account = await new_account(name="Limits Owner")
    session = await login(server, account.user["email"])
    yield session
    await session.client.aclose()


async def _post(http, key, query: str, variables: dict | None = None):
    resp = await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=key)
    assert resp.status_code < 500, resp.text
    return resp


def _messages(resp) -> str:
    body = resp.json()
    assert body.get("errors"), body
    return " ".join(e["message"] for e in body["errors"])


async def test_a_query_within_the_limits_runs(http, key):
    resp = await _post(http, key, "{ a: viewer { accountId } b: viewer { livemode } }")
    assert resp.status_code == 200 and "errors" not in resp.json()


async def test_over_deep_query_is_refused(http, key):
    depth = get_settings().graphql_max_depth + 2
    # The schema has no cycle deep enough yet, so the fields repeat; the depth rule reports regardless.
    query = "{ " + "apiKeys { nodes { " * depth + "id" + " } }" * depth + " }"
    resp = await _post(http, key, query)
    assert "exceeds maximum operation depth" in _messages(resp)
    assert resp.json().get("data") is None


async def test_over_deep_introspection_is_refused(http, key):
    """Nested introspection lists grow exponentially; the depth limiter ignores introspection."""
    inner = "name"
    for _ in range(6):
        inner = f"fields {{ type {{ {inner} }} }}"
    resp = await _post(http, key, f"{{ __schema {{ types {{ {inner} }} }} }}")
    assert "introspection depth" in _messages(resp)
    assert resp.json().get("data") is None


async def test_the_standard_introspection_query_runs(http, key):
    from graphql import get_introspection_query

    resp = await _post(http, key, get_introspection_query(descriptions=True))
    assert "errors" not in resp.json(), resp.json()["errors"]
    assert resp.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_over_aliased_query_is_refused(http, key):
    count = get_settings().graphql_max_aliases + 1
    query = "{ " + " ".join(f"a{i}: viewer {{ accountId }}" for i in range(count)) + " }"
    resp = await _post(http, key, query)
    assert "aliases" in _messages(resp).lower()
    assert resp.json().get("data") is None


async def test_too_many_tokens_is_refused(http, key):
    query = "{ viewer { " + "accountId " * (get_settings().graphql_max_tokens + 1) + "} }"
    resp = await _post(http, key, query)
    assert "token" in _messages(resp).lower()
    assert resp.json().get("data") is None


@pytest.mark.parametrize(("args", "message"), [
    ("first: 101", "first must be an integer between 1 and 100"),
    ("first: 0", "first must be an integer between 1 and 100"),
    ('after: "not-a-cursor"', "invalid pagination cursor"),
])
async def test_page_size_and_cursor_are_validated(owner, args, message):
    result = await owner.graphql(f"{{ apiKeys({args}) {{ nodes {{ id }} }} }}")
    assert result["errors"][0]["message"] == message
    assert result["errors"][0]["extensions"]["code"] == "invalid_request"


@pytest.mark.parametrize(("query", "variables", "fragment"), [
    ("{ viewer { noSuchField } }", None, "Cannot query field 'noSuchField'"),
    ("query($n: Int) { apiKeys(first: $n) { nodes { id } } }", {"n": "three"}, "Int cannot represent"),
    ("mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { __typename } }",
     {"input": {"name": "x", "favouriteColour": "blue"}}, "favouriteColour"),
    ("mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { __typename } }",
     {"input": {"logRetentionDays": "thirty"}}, "Int cannot represent"),
    ("{ viewer { accountId ", None, "Syntax Error"),
])
async def test_invalid_documents_and_variables_say_what_is_wrong(http, key, query, variables, fragment):
    resp = await _post(http, key, query, variables)
    assert fragment in _messages(resp)


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"a string"', b'{"query": 42}', b"{}"])
async def test_malformed_http_bodies_are_4xx(http, key, body):
    resp = await http.post("/graphql", content=body, headers={**key, "Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.text


async def test_mutations_are_refused_over_get(http, key):
    resp = await http.get("/graphql", params={"query": "mutation { deleteTestData(confirm: \"DELETE\") "
                                                        "{ __typename } }"}, headers=key)
    assert 400 <= resp.status_code < 500


async def test_queries_run_over_get(http, key):
    resp = await http.get("/graphql", params={"query": "{ viewer { kind } }"},
                          headers={**key, "Accept": "application/json"})
    assert resp.status_code == 200 and resp.json()["data"]["viewer"]["kind"] == "api_key"


async def test_unauthenticated_query_says_how_to_authenticate(http):
    resp = await http.post("/graphql", json={"query": "{ account { id } }"})
    body = resp.json()
    assert body["errors"][0]["extensions"]["code"] == "authentication_required"
    assert "Authorization: Bearer" in body["errors"][0]["message"]
