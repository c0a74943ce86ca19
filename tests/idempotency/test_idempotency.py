"""Idempotency-Key on REST POSTs and GraphQL mutations: once, replayed, guarded by PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from server import db
from tests.customers.helpers import api

CREATE = 'mutation { createCustomer(input: {name: "G"}) { ... on CustomerPayload { customer { id } } } }'


async def _count_customers(account_id: str) -> int:
    row = await db.fetchrow("SELECT count(*) AS n FROM customers WHERE account_id = $1", account_id)
    return row["n"]


class TestRest:
    async def test_replay_returns_the_first_response_and_does_not_run_again(self, http):
        a = await api(http)
        first = await a.post("/v1/customers", {"name": "Once"}, key="k-1")
        second = await a.post("/v1/customers", {"name": "Once"}, key="k-1")
        assert first.status_code == second.status_code == 200
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert await _count_customers(a.account.account["id"]) == 1

    async def test_same_key_different_parameters_is_400(self, http):
        a = await api(http)
        await a.post("/v1/customers", {"name": "One"}, key="k-2")
        resp = await a.post("/v1/customers", {"name": "Two"}, key="k-2")
        assert resp.status_code == 400 and resp.json()["error"]["type"] == "idempotency_error"

    async def test_errors_are_stored_and_replayed(self, http):
        a = await api(http)
        c = await a.customer()
        body = {"from_customer": c["id"], "to_customer": (await a.customer())["id"], "amount": 5, "currency": "USD"}
        first = await a.post("/v1/transfers", body, key="k-3")
        await a.credit(c["id"], 100)
        again = await a.post("/v1/transfers", body, key="k-3")
        assert first.status_code == again.status_code == 402
        assert again.headers["idempotent-replayed"] == "true"
        assert await a.balance(c["id"]) == 100

    async def test_keys_are_scoped_to_account_and_mode(self, http):
        a = await api(http)
        live = await api(http)
        live.account, live.mode = a.account, "live"
        first = await a.post("/v1/customers", {"name": "T"}, key="k-4")
        other = await live.post("/v1/customers", {"name": "T"}, key="k-4")
        assert other.status_code == 200 and other.json()["id"] != first.json()["id"]
        assert "idempotent-replayed" not in other.headers

    async def test_key_longer_than_255_is_refused(self, http):
        a = await api(http)
        resp = await a.post("/v1/customers", {"name": "T"}, key="k" * 256)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "idempotency_error"
        assert await _count_customers(a.account.account["id"]) == 0

    async def test_fifty_concurrent_requests_with_one_key_execute_once(self, http):
        a = await api(http)
        c = await a.customer()
        results = await asyncio.gather(*[a.post(f"/v1/customers/{c['id']}/credits",
                                                {"amount": 3, "currency": "USD", "transaction_id": "tx_k"},
                                                key="k-5") for _ in range(50)])
        codes = [r.status_code for r in results]
        assert all(code in (202, 409) for code in codes), codes
        winners = [r for r in results if r.status_code == 202]
        assert winners and all(r.json() == winners[0].json() for r in winners)
        assert sum(1 for r in winners if r.headers.get("idempotent-replayed") != "true") == 1
        assert all(r.json()["error"]["code"] == "idempotency_key_in_use" for r in results if r.status_code == 409)
        assert await a.balance(c["id"]) == 3


class TestGraphQL:
    async def test_mutation_with_a_key_runs_once(self, http):
        a = await api(http)
        headers = {**a.headers, "Idempotency-Key": "g-1"}
        first = await http.post("/graphql", json={"query": CREATE}, headers=headers)
        second = await http.post("/graphql", json={"query": CREATE}, headers=headers)
        assert first.json() == second.json() and second.headers["idempotent-replayed"] == "true"
        assert await _count_customers(a.account.account["id"]) == 1
        changed = await http.post("/graphql", json={"query": CREATE.replace('"G"', '"H"')}, headers=headers)
        assert changed.status_code == 400


class TestPurge:
    async def test_keys_older_than_a_day_are_purged(self, http):
        from server.idempotency.middleware import KEEP
        from server.idempotency.queries import purge

        a = await api(http)
        await a.post("/v1/customers", {"name": "Old"}, key="old")
        await a.post("/v1/customers", {"name": "New"}, key="new")
        await db.execute("UPDATE idempotency_keys SET created = created - interval '25 hours' "
                         "WHERE account_id = $1 AND key = 'old'", a.account.account["id"])
        assert KEEP >= timedelta(hours=24)
        await purge(KEEP)
        rows = await db.fetch("SELECT key FROM idempotency_keys WHERE account_id = $1", a.account.account["id"])
        assert [r["key"] for r in rows] == ["new"]

    def test_the_purge_job_is_registered(self):
        from server.workers import registered_jobs

        assert "idempotency-purge" in [job.name for job in registered_jobs()]
