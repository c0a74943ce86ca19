"""Bad input never writes: every case is a 4xx that names the field, and no ledger row appears."""

from __future__ import annotations

import pytest

from server import db
from tests.customers.helpers import api

CREDIT_CASES = [
    ({"amount": -5, "currency": "USD", "transaction_id": "t1"}, 400, "amount"),
    ({"amount": 0, "currency": "USD", "transaction_id": "t1"}, 400, "amount"),
    ({"amount": 10**15, "currency": "USD", "transaction_id": "t1"}, 400, "amount"),
    ({"amount": 10**30, "currency": "USD", "transaction_id": "t1"}, 400, "amount"),
    ({"amount": 10.5, "currency": "USD", "transaction_id": "t1"}, 400, "amount"),
    ({"amount": "10", "currency": "USD", "transaction_id": "t1"}, 400, "amount"),
    ({"amount": True, "currency": "USD", "transaction_id": "t1"}, 400, "amount"),
    ({"amount": None, "currency": "USD", "transaction_id": "t1"}, 400, "amount"),
    ({"amount": 10, "currency": "ZZZ", "transaction_id": "t1"}, 400, "currency"),
    ({"amount": 10, "currency": 840, "transaction_id": "t1"}, 400, "currency"),
    ({"amount": 10, "transaction_id": "t1"}, 400, "currency"),
    ({"amount_decimal": "1.005", "currency": "USD", "transaction_id": "t1"}, 400, "amount_decimal"),
    ({"amount_decimal": "1.5", "currency": "JPY", "transaction_id": "t1"}, 400, "amount_decimal"),
    ({"amount_decimal": "NaN", "currency": "USD", "transaction_id": "t1"}, 400, "amount_decimal"),
    ({"amount_decimal": "1.0001", "currency": "KWD", "transaction_id": "t1"}, 400, "amount_decimal"),
    ({"amount": 10, "currency": "USD"}, 400, "transaction_id"),
    ({"amount": 10, "currency": "USD", "transaction_id": ""}, 400, "transaction_id"),
    ({"amount": 10, "currency": "USD", "transaction_id": 12}, 400, "transaction_id"),
    ({"amount": 10, "currency": "USD", "transaction_id": "x" * 256}, 400, "transaction_id"),
    ({"amount": 10, "currency": "USD", "transaction_id": "has space"}, 400, "transaction_id"),
    ({"amount": 10, "currency": "USD", "transaction_id": "t1", "surprise": 1}, 400, "surprise"),
]

TRANSFER_CASES = [
    ({"amount": 10, "currency": "USD"}, 400, "from_customer"),
    ({"from_customer": "FROM", "amount": 10, "currency": "USD"}, 400, "to_customer"),
    ({"from_customer": "FROM", "to_customer": "FROM", "amount": 10, "currency": "USD"}, 400, "to_customer"),
    ({"from_customer": "FROM", "to_customer": "TO", "amount": -1, "currency": "USD"}, 400, "amount"),
    ({"from_customer": "FROM", "to_customer": "TO", "amount": 10, "currency": "usd", "to_currency": "QQQ"}, 400,
     "to_currency"),
    ({"from_customer": "FROM", "to_customer": "TO", "amount": 10, "currency": "USD", "to_currency": "EUR"}, 400,
     "to_currency"),
    ({"from_customer": "cus_missing", "to_customer": "TO", "amount": 10, "currency": "USD"}, 404, "from_customer"),
    ({"from_customer": "FROM", "to_customer": "TO", "amount": 10_000, "currency": "USD"}, 402, "amount"),
    ({"from_customer": "FROM", "to_customer": "TO", "amount": 10, "currency": "USD", "description": ["x"]}, 400,
     "description"),
]


async def _ledger_rows(account_id: str) -> int:
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM journal_entries WHERE account_id = $1) + "
        "(SELECT count(*) FROM postings WHERE account_id = $1) + (SELECT count(*) FROM credits WHERE account_id = $1) "
        "+ (SELECT count(*) FROM transfers WHERE account_id = $1) AS n", account_id)
    return row["n"]


@pytest.fixture
async def seeded(http):
    a = await api(http)
    sender, receiver = await a.customer(), await a.customer()
    assert (await a.credit(sender["id"], 100)).status_code == 202
    return a, sender["id"], receiver["id"]


async def test_bad_credits_name_the_field_and_write_nothing(seeded):
    a, sender, _ = seeded
    before = await _ledger_rows(a.account.account["id"])
    for body, status, param in CREDIT_CASES:
        resp = await a.post(f"/v1/customers/{sender}/credits", body)
        assert resp.status_code == status, (body, resp.text)
        assert param in (resp.json()["error"].get("param") or resp.json()["error"]["message"]), (body, resp.text)
    assert await _ledger_rows(a.account.account["id"]) == before


async def test_bad_transfers_name_the_field_and_write_nothing(seeded):
    a, sender, receiver = seeded
    before = await _ledger_rows(a.account.account["id"])
    for body, status, param in TRANSFER_CASES:
        body = {k: {"FROM": sender, "TO": receiver}.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
        resp = await a.post("/v1/transfers", body)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["error"].get("param") == param, (body, resp.text)
    assert await _ledger_rows(a.account.account["id"]) == before
    assert await a.balance(sender) == 100


async def test_malformed_and_huge_bodies_are_refused(seeded):
    a, sender, _ = seeded
    before = await _ledger_rows(a.account.account["id"])
    malformed = await a.http.post(f"/v1/customers/{sender}/credits", content=b'{"amount": 1,',
                                  headers={**a.headers, "Content-Type": "application/json"})
    assert malformed.status_code == 400
    huge = await a.http.post(f"/v1/customers/{sender}/credits", content=b'{"x": "' + b"a" * 2_000_000 + b'"}',
                             headers={**a.headers, "Content-Type": "application/json"})
    assert huge.status_code == 413
    not_object = await a.post(f"/v1/customers/{sender}/credits", [1, 2])
    assert not_object.status_code == 400
    assert await _ledger_rows(a.account.account["id"]) == before


async def test_the_database_refuses_an_unbalanced_entry_and_direct_balance_edits(seeded):
    import asyncpg

    a, sender, _ = seeded
    account_id = a.account.account["id"]
    wallet = await db.fetchrow("SELECT id FROM ledger_accounts WHERE account_id = $1 AND owner_id = $2",
                               account_id, sender)
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        async with db.transaction():
            await db.fetch("SELECT * FROM ledger_post_entry('je_bad', $1, false, 'adjustment', NULL, '', '{}', "
                           "ARRAY['pst_bad'], ARRAY[$2], ARRAY['USD'], ARRAY[5]::bigint[])", account_id, wallet["id"])
    with pytest.raises(asyncpg.PostgresError, match="only through postings"):
        await db.execute("UPDATE ledger_accounts SET balance = 1000000 WHERE id = $1", wallet["id"])
    with pytest.raises(asyncpg.PostgresError, match="immutable"):
        await db.execute("UPDATE postings SET amount = amount * 2 WHERE account_id = $1", account_id)
    assert await a.balance(sender) == 100
