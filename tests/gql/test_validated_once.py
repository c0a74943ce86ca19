"""Each distinct document is validated once per process (ValidatedOnce): the answer is the same the second time,
and a document validated before is still refused when a request's variables carry text no handler can store."""

from __future__ import annotations

import pytest

from tests.factories import bearer, new_account

SEARCH = "query($s: String) { customers(search: $s) { nodes { id } } }"


@pytest.fixture(scope="module")
async def key(server):
    return bearer((await new_account(name="Validated Co")).keys["secret_test"])


async def _post(http, key, query: str, variables: dict | None = None) -> dict:
    resp = await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=key)
    assert resp.status_code < 500, resp.text
    return resp.json()


async def test_an_invalid_document_is_refused_every_time_with_the_same_errors(http, key):
    query = "{ customers { nodes { id noSuchField } } }"
    first, second = await _post(http, key, query), await _post(http, key, query)
    assert first.get("data") is None and "noSuchField" in first["errors"][0]["message"]
    assert second == first


async def test_a_valid_document_runs_every_time(http, key):
    for _ in range(3):
        body = await _post(http, key, SEARCH, {"s": "ada"})
        assert "errors" not in body and body["data"]["customers"]["nodes"] == []


async def test_text_no_handler_can_store_is_refused_after_the_document_was_validated(http, key):
    assert "errors" not in await _post(http, key, SEARCH, {"s": "fine"})
    refused = await _post(http, key, SEARCH, {"s": "bad\x00text"})
    assert refused.get("data") is None and refused["errors"], refused
    assert "errors" not in await _post(http, key, SEARCH, {"s": "fine again"})
