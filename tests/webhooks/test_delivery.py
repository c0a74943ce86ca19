"""Deliveries reach a real receiver, signed per Standard Webhooks, from committed events only."""

from __future__ import annotations

from standardwebhooks import Webhook

from server import db
from server.context import Scope
from server.events import service as events
from server.webhooks import service
from tests.webhooks.receiver import receiver


async def emit(account, type_: str = "customer.created", data: dict | None = None, livemode: bool = False) -> str:
    async with db.transaction():
        return await events.emit(None, Scope(account.account["id"], livemode), type_, type_.split(".")[0],
                                 "cus_x", data or {"id": "cus_x", "name": "Jenny"})


class TestSignedDelivery:
    async def test_event_arrives_signed_and_verifies(self, shop, allow_private):
        async with receiver() as rec:
            ep = await service.create_endpoint(shop.ctx, rec.url, ["customer.*"])
            event_id = await emit(shop)
            [got] = await rec.wait_for(1)
            payload = Webhook(ep["secret"]).verify(got.body, got.headers)
            assert payload["id"] == event_id and payload["type"] == "customer.created"
            assert payload["data"]["object"]["name"] == "Jenny"
            assert got.headers["webhook-id"].startswith("msg_")
