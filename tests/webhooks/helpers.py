"""Helpers of the webhook tests: emit events, read deliveries, wait for attempts, move the clock."""

from __future__ import annotations

from datetime import timedelta

from server import clock, db
from server.context import Scope
from server.events import service as events
from server.webhooks import queries
from tests.support import eventually


async def emit(account, type_: str = "customer.created", data: dict | None = None, livemode: bool = False) -> str:
    async with db.transaction():
        return await events.emit(None, Scope(account.account["id"], livemode), type_, type_.split(".")[0],
                                 "cus_x", data or {"id": "cus_x", "name": "Jenny"})


async def deliveries(endpoint_id: str) -> list[dict]:
    return await db.fetch("SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id", endpoint_id)


async def attempts(delivery_id: str) -> list[dict]:
    return await db.fetch("SELECT * FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt_number",
                          delivery_id)


async def endpoint_row(endpoint_id: str) -> dict:
    row = await db.fetchrow("SELECT * FROM webhook_endpoints WHERE id = $1", endpoint_id)
    assert row
    return row


async def wait_attempts(delivery_id: str, count: int) -> list[dict]:
    async def enough():
        rows = await attempts(delivery_id)
        return rows if len(rows) >= count else None

    return await eventually(enough, message=f"{count} attempts of {delivery_id}")


async def advance(seconds: float) -> None:
    """Move the webhooks clock forward and wake the workers: retries come due without sleeping."""
    clock.WEBHOOKS.advance(timedelta(seconds=seconds))
    await queries.notify_workers()
