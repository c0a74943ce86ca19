"""Work queued by people reaches a delivery worker through PostgreSQL (LISTEN/NOTIFY), not through memory.

In compose the web and worker processes are separate, so the service cannot
poke a worker object; it notifies at commit. A worker that polls only once an
hour still sends a test event and a resend at once: the notification woke it.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from server.webhooks import service, worker
from tests.support import eventually
from tests.webhooks.receiver import receiver


@pytest.fixture
async def only_a_deaf_worker(allow_private):
    """This process's own workers stand aside; one worker that would poll only every hour takes their place."""
    others = list(worker._running)
    for w in others:
        w.paused = True
    deaf = worker.DeliveryWorker(allow_private=True, poll_seconds=3600)
    task = asyncio.create_task(deaf.run_forever())
    try:
        yield deaf
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for w in others:
            w.paused = False


async def test_a_test_event_and_a_resend_wake_a_worker_in_any_process(shop, only_a_deaf_worker):
    async with receiver() as rec:
        ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
        await eventually(_idle(only_a_deaf_worker), message="the worker waiting for a notification")
        sent = await service.send_test(shop.ctx, ep["id"], "customer.created")
        [first] = await rec.wait_for(1)
        assert first.headers["webhook-id"] == sent["id"]
        await eventually(lambda: _status(shop, sent["id"], "succeeded"), message="the test delivery recorded")

        await eventually(_idle(only_a_deaf_worker), message="the worker waiting again")
        await service.resend(shop.ctx, sent["id"])
        _, second = await rec.wait_for(2)
        assert second.headers["webhook-id"] == sent["id"]


def _idle(w: worker.DeliveryWorker):
    async def check() -> bool:
        return w.idle.is_set() and not w.in_flight

    return check


async def _status(shop, delivery_id: str, status: str) -> bool:
    return (await service.get_delivery(shop.ctx, delivery_id))["status"] == status
