"""The writer never lets one odd request block the others."""

from __future__ import annotations

from server import db
from server.apilogs.writer import flush_all
from tests.apilogs.helpers import capture, new_account_id, store
from tests.factories import new_account


async def test_nul_characters_are_stored_without_breaking_the_batch(http, server):
    account = await new_account(name="NUL Co")
    resp = await http.post("/graphql?note=a%00b", content=b'{"query": "{ viewer { accountId } }", "x": "\\u0000"}',
                           headers={"Authorization": f"Bearer {account.keys['secret_test']}",
                                    "Content-Type": "application/json"})
    await flush_all()
    row = await db.fetchrow("SELECT query_params::text AS q FROM api_request_logs WHERE id = $1",
                            resp.headers["Request-Id"])
    assert row is not None and "a\ufffdb" in row["q"]


async def test_a_row_postgresql_refuses_is_dropped_and_the_rest_written(server):
    account = new_account_id()
    good = [capture(account) for _ in range(3)]
    bad = capture(account, status=2**40)  # not an integer PostgreSQL can store
    await store(good[0], bad, *good[1:])
    rows = await db.fetch("SELECT id FROM api_request_logs WHERE account_id = $1", account)
    assert {r["id"] for r in rows} == {c.request_id for c in good}
