"""Nested fields of listed objects are batched (server/gql/loaders.py): the SQL a list runs does not grow
with its length. Statements are counted on the database connection itself, not timed."""

from __future__ import annotations

import asyncio
from typing import Any

from server import db
from server.customers import service as customers
from server.gql.loaders import OperationContext
from server.schema import schema
from server.webhooks import service as webhooks
from tests.factories import new_account, user_ctx
from tests.payments.helpers import merchant

PAYMENTS = """query($n: Int!) { paymentIntents(first: $n) { nodes {
  id refunds { id amount status } receipt { number url } timeline { type objectId } } } }"""
ENDPOINTS = "{ webhookEndpoints(first: 100) { nodes { id successRate attemptsLast7Days lastDeliveryOutcome } } }"
CUSTOMERS = "{ customers(first: 100) { nodes { id balances { amount currency } } } }"


async def run_counting(ctx, query: str, variables: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
    """Run `query` as a page's stored operation runs, in one transaction whose connection logs every statement
    (tasks started inside a transaction share its connection, so every resolver's SQL passes through it)."""
    statements: list[str] = []

    def log(record: Any) -> None:
        statements.append(record.query)

    async with db.transaction() as txn:
        txn.connection.add_query_logger(log)
        try:
            result = await schema.execute(query, variable_values=variables, context_value=OperationContext(ctx))
            await asyncio.sleep(0)  # asyncpg hands each record to its loggers on the next turn of the loop
        finally:
            txn.connection.remove_query_logger(log)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data, len(statements)


async def paid_with_refund(m) -> None:
    pi = await m.paid(1_000)
    resp = await m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 100})
    assert resp.status_code == 200, resp.text


async def test_a_list_of_payments_with_refunds_receipts_and_timelines_is_a_fixed_number_of_statements(http):
    m = await merchant(http)
    ctx = user_ctx(m.id, m.account.user["id"])
    counts = {}
    for n in (2, 5):
        while len((await run_counting(ctx, PAYMENTS, {"n": 100}))[0]["paymentIntents"]["nodes"]) < n:
            await paid_with_refund(m)
        data, counts[n] = await run_counting(ctx, PAYMENTS, {"n": n})
        nodes = data["paymentIntents"]["nodes"]
        assert len(nodes) == n and all(len(p["refunds"]) == 1 and p["receipt"]["number"] for p in nodes)
        assert all("refund.created" in [e["type"] for e in p["timeline"]] for p in nodes)
        assert all({e["objectId"] for e in p["timeline"]} == {p["id"], p["refunds"][0]["id"]} for p in nodes)
    assert counts[2] == counts[5] <= 4, counts  # the list, then one statement per nested field


async def test_webhook_endpoint_stats_and_customer_balances_are_batched(server, allow_private):
    account = await new_account()
    ctx = user_ctx(account.account["id"], account.user["id"])
    counts = {}
    for n in (1, 4):
        while len((await run_counting(ctx, ENDPOINTS))[0]["webhookEndpoints"]["nodes"]) < n:
            await webhooks.create_endpoint(ctx, "http://127.0.0.1:9/hooks", ["*"])
            await customers.create(ctx, name="Ada")
        endpoints, endpoint_statements = await run_counting(ctx, ENDPOINTS)
        listed, customer_statements = await run_counting(ctx, CUSTOMERS)
        assert len(endpoints["webhookEndpoints"]["nodes"]) == len(listed["customers"]["nodes"]) == n
        counts[n] = (endpoint_statements, customer_statements)
    assert counts[1] == counts[4], counts
