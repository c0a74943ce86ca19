"""Claims on a key: a running request is left alone (409), a dead or expired one is taken over."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import asyncpg

from server import db
from server.context import Scope
from server.faults import HEADER as FAULT
from server.idempotency import owner, queries
from server.idempotency.queries import NAMESPACE
from tests.payments.helpers import merchant


def _scope() -> Scope:
    return Scope(f"acct_{secrets.token_hex(6)}", False)


async def _claim(scope: Scope, key: str, owner_id: int | None, print_: str = "f" * 64) -> queries.Claimed:
    return await queries.claim(scope, key, print_, "POST", "/v1/x", f"claim_{secrets.token_hex(4)}", owner_id)


async def test_a_claim_of_a_live_process_is_busy_until_it_ends(server):
    scope = _scope()
    me = await owner.current()
    assert me is not None
    first = await _claim(scope, "k", me)
    assert first.outcome == "run"
    assert (await _claim(scope, "k", me)).outcome == "busy"
    assert (await _claim(scope, "k", me, "0" * 64)).outcome == "mismatch"
    await queries.finish(first.row["id"], 200, {"content-type": "application/json"}, "{}")
    again = await _claim(scope, "k", me)
    assert again.outcome == "replay" and again.row["response_status"] == 200


async def test_a_claim_whose_process_died_is_taken_over_with_its_effects(server):
    scope = _scope()
    other = await asyncpg.connect(**db.engine().config)  # stands in for another process
    dead_id = secrets.randbelow(2**30) + 1
    assert await other.fetchval("SELECT pg_try_advisory_lock($1, $2)", NAMESPACE, dead_id)
    first = await _claim(scope, "k", dead_id)
    await queries.bind(first.row["id"], "refund:pi_1#1", {"type": "refund", "id": "re_1"})
    assert (await _claim(scope, "k", await owner.current())).outcome == "busy"
    await other.close()  # the process dies: PostgreSQL drops its lock
    taken = await _claim(scope, "k", await owner.current())
    assert taken.outcome == "run" and taken.row["id"] == first.row["id"]
    async with db.transaction():
        assert await queries.recall(taken.row["id"], "refund:pi_1#1") == {"type": "refund", "id": "re_1"}


async def test_a_claim_older_than_its_ttl_is_taken_over_even_if_its_process_lives(server):
    scope = _scope()
    me = await owner.current()
    first = await _claim(scope, "k", me)
    await db.execute("UPDATE idempotency_keys SET locked_at = $2 WHERE id = $1", first.row["id"],
                     datetime.now(UTC) - queries.CLAIM_TTL * 2)
    assert (await _claim(scope, "k", me)).outcome == "run"


async def test_a_failure_before_anything_committed_forgets_the_key(http):
    m = await merchant(http)
    failed = await m.post("/v1/payment_intents", {"amount": 100, "currency": "usd"},
                          headers={"Idempotency-Key": "forget-me", FAULT: "before-commit=1"})
    assert failed.status_code == 500
    assert not await db.fetch("SELECT 1 FROM idempotency_keys WHERE account_id = $1", m.id)
    other = await m.post("/v1/payment_intents", {"amount": 200, "currency": "usd"},
                         headers={"Idempotency-Key": "forget-me"})
    assert other.status_code == 200 and other.json()["amount"] == 200


async def test_a_failure_after_a_commit_keeps_the_key_bound_to_its_parameters(http):
    m = await merchant(http)
    failed = await m.post("/v1/payment_intents", {"amount": 100, "currency": "usd"},
                          headers={"Idempotency-Key": "bound", FAULT: "after-commit=1"})
    assert failed.status_code == 500
    other = await m.post("/v1/payment_intents", {"amount": 200, "currency": "usd"},
                         headers={"Idempotency-Key": "bound"})
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    same = await m.post("/v1/payment_intents", {"amount": 100, "currency": "usd"},
                        headers={"Idempotency-Key": "bound"})
    assert same.status_code == 200 and same.json()["amount"] == 100
    rows = await db.fetch("SELECT id FROM payment_intents WHERE account_id = $1", m.id)
    assert [r["id"] for r in rows] == [same.json()["id"]]


async def test_the_owner_lock_comes_back_with_the_same_id_after_its_connection_drops(server):
    import asyncio

    me = await owner.current()
    first = owner._owner.conn
    await db.execute("SELECT pg_terminate_backend($1)", first.get_server_pid())  # as a database restart would
    for _ in range(300):
        current = owner._owner.conn
        if current is not None and current is not first and not current.is_closed() and owner._owner.id:
            break
        await asyncio.sleep(0.05)
    assert owner._owner.conn is not first and await owner.current() == me
    held = await db.fetchrow("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 "
                             "AND objid = $2 AND granted", NAMESPACE, me)
    assert held["n"] == 1
