"""Deliveries reach real receivers, signed per Standard Webhooks, from committed events only, in scope only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from server import db
from server.context import Scope
from server.events import service as events
from server.webhooks import service, signing
from tests.factories import new_account, user_ctx
from tests.support import eventually
from tests.webhooks.helpers import deliveries, emit
from tests.webhooks.receiver import receiver


class TestStandardWebhooksSignature:
    def test_the_specifications_published_test_vector(self):
        # given the Standard Webhooks specification's example secret, id, timestamp and body
        secret, msg_id, ts = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330
        body = '{"test": 2432232314}'
        # when we sign them
        header = signing.signature_header([secret], msg_id, datetime.fromtimestamp(ts, UTC), body)
        # then the signature is the one the specification publishes
        assert header == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    def test_rotation_headers_verify_with_either_secret(self):
        old, new = signing.new_secret(), signing.new_secret()
        now = datetime.now(UTC)
        headers = signing.headers([new, old], "msg_1", now, "{}")
        assert len(headers["webhook-signature"].split(" ")) == 2
        Webhook(old).verify("{}", headers)
        Webhook(new).verify("{}", headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(signing.new_secret()).verify("{}", headers)


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
            await eventually(lambda: _status(ep["id"], "succeeded"), message="succeeded")

    async def test_rolled_back_events_are_never_delivered_and_types_filter(self, shop, allow_private):
        async with receiver() as rec:
            ep = await service.create_endpoint(shop.ctx, rec.url, ["payment_intent.*"])
            with pytest.raises(RuntimeError):
                async with db.transaction():
                    await events.emit(None, Scope(shop.account["id"], False), "payment_intent.created",
                                      "payment_intent", "pi_1", {"id": "pi_1"})
                    raise RuntimeError("rollback")
            await emit(shop, "customer.created")
            wanted = await emit(shop, "payment_intent.succeeded", {"id": "pi_2"})
            [got] = await rec.wait_for(1)
            assert Webhook(ep["secret"]).verify(got.body, got.headers)["id"] == wanted
            rows = await deliveries(ep["id"])
            assert [r["event_id"] for r in rows] == [wanted]

    async def test_secret_rotation_signs_with_both_secrets_during_the_overlap(self, shop, allow_private):
        async with receiver() as rec:
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            new_secret = await service.rotate_secret(shop.ctx, ep["id"], 24)
            await emit(shop)
            [got] = await rec.wait_for(1)
            Webhook(ep["secret"]).verify(got.body, got.headers)   # receivers not yet updated
            Webhook(new_secret).verify(got.body, got.headers)     # receivers already updated
            assert await service.reveal_secret(shop.ctx, ep["id"]) == new_secret


class TestScope:
    async def test_events_reach_only_endpoints_of_their_account_and_mode(self, allow_private):
        a, b = await new_account(), await new_account()
        async with receiver() as a_test, receiver() as a_live, receiver() as b_test:
            ctx_a_live = user_ctx(a.account["id"], a.user["id"], livemode=True)
            await service.create_endpoint(user_ctx(a.account["id"], a.user["id"]), a_test.url, ["*"])
            await service.create_endpoint(ctx_a_live, a_live.url.replace("http:", "https:"), ["*"])
            await service.create_endpoint(user_ctx(b.account["id"], b.user["id"]), b_test.url, ["*"])
            sent = {"a_test": [await emit(a) for _ in range(3)], "b_test": [await emit(b) for _ in range(2)]}
            await a_test.wait_for(3)
            await b_test.wait_for(2)
            got = {name: sorted(r.headers["webhook-id"] and r.body.split('"id":"')[1].split('"')[0]
                                for r in rec.requests) for name, rec in (("a_test", a_test), ("b_test", b_test))}
            assert got == {k: sorted(v) for k, v in sent.items()}
            assert a_live.requests == []


class TestTools:
    async def test_test_event_and_resend_keep_the_webhook_id(self, shop, allow_private):
        async with receiver() as rec:
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            delivery = await service.send_test(shop.ctx, ep["id"], "payment_intent.succeeded")
            [first] = await rec.wait_for(1)
            body = Webhook(ep["secret"]).verify(first.body, first.headers)
            assert body["test"] is True and body["data"]["object"]["status"] == "succeeded"
            await eventually(lambda: _status(ep["id"], "succeeded"), message="succeeded")
            await service.resend(shop.ctx, delivery["id"])
            _, second = await rec.wait_for(2)
            assert second.headers["webhook-id"] == first.headers["webhook-id"] == delivery["id"]


async def _status(endpoint_id: str, status: str) -> bool:
    rows = await deliveries(endpoint_id)
    return bool(rows) and all(r["status"] == status for r in rows)
