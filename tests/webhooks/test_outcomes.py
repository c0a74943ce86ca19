"""What each answer does: the retry schedule (on a controllable clock), 410, 429/503, 3xx, timeouts."""

from __future__ import annotations

from datetime import timedelta

from server import clock, db
from server.webhooks import delivery, service
from tests.support import eventually
from tests.webhooks.helpers import advance, attempts, deliveries, emit, endpoint_row, wait_attempts
from tests.webhooks.receiver import receiver


async def only_delivery(endpoint_id: str) -> dict:
    rows = await eventually(lambda: deliveries(endpoint_id), message="a delivery")
    assert len(rows) == 1
    return rows[0]


async def settled(delivery_id: str, count: int) -> dict:
    """The delivery once its `count`-th attempt is recorded."""
    await wait_attempts(delivery_id, count)

    async def row():
        r = await db.fetchrow("SELECT * FROM webhook_deliveries WHERE id = $1", delivery_id)
        return r if r["attempt_count"] >= count and r["locked_until"] is None else None

    return await eventually(row, message="delivery recorded")


class TestRetrySchedule:
    async def test_failures_follow_the_schedule_with_jitter_then_stop(self, shop, allow_private):
        async with receiver() as rec:
            rec.reply = lambda r: (500, {}, "boom")
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            await emit(shop)
            d = await only_delivery(ep["id"])
            for n, base in enumerate(delivery.SCHEDULE[1:], start=1):
                row = await settled(d["id"], n)
                assert row["status"] == "pending"
                delay = (row["next_attempt_at"] - row["last_attempt_at"]).total_seconds()
                assert base * (1 - delivery.JITTER) - 0.01 <= delay <= base * (1 + delivery.JITTER) + 0.01, (n, delay)
                await advance(delay + 0.01)
            row = await settled(d["id"], len(delivery.SCHEDULE))
            assert row["status"] == "failed" and row["next_attempt_at"] is None
            kept = await attempts(d["id"])
            assert [a["response_status"] for a in kept] == [500] * 8
            assert all(a["response_body"] == "boom" and a["error"] == "HTTP 500" for a in kept)
            assert len({r.headers["webhook-id"] for r in rec.requests}) == 1  # the same id on every retry
            assert (await endpoint_row(ep["id"]))["failing_since"] is not None

    async def test_a_success_after_failures_clears_the_failing_state(self, shop, allow_private):
        async with receiver() as rec:
            answers = iter([503, 200])
            rec.reply = lambda r: (next(answers), {}, "")
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            await emit(shop)
            d = await only_delivery(ep["id"])
            row = await settled(d["id"], 1)
            assert (await endpoint_row(ep["id"]))["failing_since"] is not None
            await advance((row["next_attempt_at"] - clock.WEBHOOKS.now()).total_seconds() + 0.01)
            row = await settled(d["id"], 2)
            assert row["status"] == "succeeded"
            assert (await endpoint_row(ep["id"]))["failing_since"] is None


class TestSpecialAnswers:
    async def test_410_disables_the_endpoint_with_an_event(self, shop, allow_private):
        async with receiver() as rec:
            rec.reply = lambda r: (410, {}, "gone")
            ep = await service.create_endpoint(shop.ctx, rec.url, ["customer.*"])
            await emit(shop)
            d = await only_delivery(ep["id"])
            row = await settled(d["id"], 1)
            assert row["status"] == "failed"
            endpoint = await endpoint_row(ep["id"])
            assert endpoint["status"] == "disabled" and "410" in endpoint["disabled_reason"]
            disabled = await db.fetch("SELECT * FROM events WHERE account_id = $1 AND type = "
                                      "'webhook_endpoint.disabled'", shop.account["id"])
            assert [e["object_id"] for e in disabled] == [ep["id"]]

    async def test_429_and_503_honour_retry_after(self, shop, allow_private):
        async with receiver() as rec:
            rec.reply = lambda r: (429, {"retry-after": "120"}, "slow down")
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            await emit(shop)
            d = await only_delivery(ep["id"])
            row = await settled(d["id"], 1)
            assert (row["next_attempt_at"] - row["last_attempt_at"]).total_seconds() >= 120
            rec.reply = lambda r: (503, {"retry-after": "600"}, "")
            await advance(121)
            row = await settled(d["id"], 2)
            assert (row["next_attempt_at"] - row["last_attempt_at"]).total_seconds() >= 600

    async def test_redirects_are_failures_and_are_not_followed(self, shop, allow_private):
        async with receiver() as rec, receiver() as internal:
            rec.reply = lambda r: (302, {"location": internal.url}, "")
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            await emit(shop)
            d = await only_delivery(ep["id"])
            row = await settled(d["id"], 1)
            assert row["status"] == "pending" and row["last_status_code"] == 302
            assert "not followed" in row["last_error"]
            assert internal.requests == []

    async def test_a_receiver_hanging_past_the_timeout_is_a_failure(self, shop, allow_private, monkeypatch):
        monkeypatch.setattr(delivery, "TIMEOUT", 0.5)  # the 15 s limit, shortened so the test does not wait
        async with receiver() as rec:
            rec.delay = 5
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            await emit(shop)
            d = await only_delivery(ep["id"])
            row = await settled(d["id"], 1)
            assert row["status"] == "pending" and row["last_status_code"] is None
            assert "timed out" in row["last_error"]

    async def test_response_bodies_are_kept_up_to_2_kib(self, shop, allow_private):
        async with receiver() as rec:
            rec.reply = lambda r: (200, {"x-receiver": "yes"}, "x" * 100_000)
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            await emit(shop)
            d = await only_delivery(ep["id"])
            await settled(d["id"], 1)
            [a] = await attempts(d["id"])
            assert len(a["response_body"]) == 2048 and a["outcome"] == "succeeded"
            assert a["response_headers"].get("x-receiver") == "yes"


class TestHealth:
    async def test_five_days_of_failure_disable_then_recovery_sends_exactly_what_failed(self, shop, allow_private):
        async with receiver() as rec:
            rec.reply = lambda r: (500, {}, "down")
            ep = await service.create_endpoint(shop.ctx, rec.url, ["customer.*"])
            t0 = clock.WEBHOOKS.now() - timedelta(seconds=1)
            failed_event = await emit(shop)
            d = await only_delivery(ep["id"])
            await settled(d["id"], 1)
            # five days later, with the receiver still down, the sweep disables the endpoint
            await advance(5 * 86400 + 1)
            await delivery.disable_failing()  # unless the retry that came due already did it
            endpoint = await endpoint_row(ep["id"])
            assert endpoint["status"] == "disabled" and "5 days" in endpoint["disabled_reason"]
            assert await db.fetch("SELECT id FROM events WHERE object_id = $1 AND type = 'webhook_endpoint.disabled'",
                                  ep["id"])
            # events that arrive while disabled are kept as skipped deliveries
            missed_event = await emit(shop)
            await eventually(lambda: _skipped(ep["id"], missed_event), message="a skipped delivery")
            await eventually(lambda: _skipped(ep["id"], failed_event), message="the pending retry skipped")
            # the receiver is fixed, the endpoint enabled, and what it missed is recovered
            rec.requests.clear()
            rec.reply = lambda r: (200, {}, "ok")
            await service.update_endpoint(shop.ctx, ep["id"], service.EndpointChanges(status="enabled"))
            assert await service.recover(shop.ctx, ep["id"], t0) == 2
            got = await rec.wait_for(2)
            assert sorted(r.body.split('"id":"')[1].split('"')[0] for r in got) == sorted([failed_event, missed_event])
            await eventually(lambda: _all_succeeded(ep["id"]), message="all succeeded")
            # recovering again finds nothing: everything has been delivered
            assert await service.recover(shop.ctx, ep["id"], t0) == 0


async def _skipped(endpoint_id: str, event_id: str) -> bool:
    return any(r["event_id"] == event_id and r["status"] == "skipped" for r in await deliveries(endpoint_id))


async def _all_succeeded(endpoint_id: str) -> bool:
    return all(r["status"] == "succeeded" for r in await deliveries(endpoint_id))
