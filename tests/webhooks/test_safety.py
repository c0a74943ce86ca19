"""SSRF refusals, a slow endpoint that delays no one, and a worker killed mid-delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from server.errors import InvalidRequest
from server.settings import get_settings
from server.webhooks import delivery, service, worker
from tests.support import eventually
from tests.webhooks.helpers import advance, deliveries, emit
from tests.webhooks.receiver import receiver

REFUSED = ["http://127.0.0.1/hooks", "http://10.0.0.1/hooks", "http://169.254.169.254/latest/meta-data",
           "http://[::1]/hooks", "http://[::ffff:127.0.0.1]/hooks", "http://100.64.0.1/hooks",
           "http://2130706433/hooks", "http://0177.0.0.1/hooks", "http://0x7f.1/hooks", "http://localhost:8000/hooks",
           "http://[fd00::1]/hooks", "http://[fe80::1]/hooks", "http://192.168.1.10/hooks", "http://0.0.0.0/hooks"]


class TestSsrfAtCreation:
    @pytest.mark.parametrize("url", REFUSED)
    async def test_private_targets_are_refused_with_a_clear_error(self, shop, url):
        assert get_settings().allow_private_webhook_urls is False
        with pytest.raises(InvalidRequest) as refused:
            await service.create_endpoint(shop.ctx, url, ["*"])
        assert refused.value.param == "url" and refused.value.code == "url_not_allowed"
        assert "webhooks only reach public addresses" in refused.value.message

    async def test_live_mode_needs_https_and_rest_says_why(self, http, shop):
        resp = await http.post("/v1/webhook_endpoints", headers={"Authorization": f"Bearer {shop.keys['secret_live']}"},
                               json={"url": "http://hooks.example.com/x", "enabled_events": ["*"]})
        assert resp.status_code == 400
        assert resp.json()["error"]["message"] == "live-mode webhook URLs must use https"

    async def test_the_operator_setting_allows_private_targets(self, shop, allow_private):
        created = await service.create_endpoint(shop.ctx, "http://127.0.0.1:9/hooks", ["*"])
        assert created["secret"].startswith("whsec_")


class TestSsrfAtDelivery:
    async def test_every_connect_is_checked_again(self, shop, allow_private):
        async with receiver() as rec:
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            get_settings().allow_private_webhook_urls = False  # as if DNS now pointed somewhere private
            await emit(shop)
            rows = await eventually(lambda: _attempted(ep["id"]), message="an attempt")
            assert rows[0]["last_error"].startswith("refused: '127.0.0.1' resolves to a blocked loopback address")
            assert rec.requests == []

    async def test_a_redirect_to_an_internal_address_is_not_followed(self, shop, allow_private):
        async with receiver() as rec, receiver() as internal:
            rec.reply = lambda r: (307, {"location": internal.url}, "")
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            await emit(shop)
            rows = await eventually(lambda: _attempted(ep["id"]), message="an attempt")
            assert rows[0]["last_status_code"] == 307 and internal.requests == []


class TestIsolationOfEndpoints:
    async def test_a_slow_endpoint_does_not_delay_a_healthy_one(self, shop, allow_private):
        async with receiver() as slow, receiver() as healthy:
            slow.delay = 3
            await service.create_endpoint(shop.ctx, slow.url, ["*"])
            await service.create_endpoint(shop.ctx, healthy.url, ["*"])
            for _ in range(10):
                await emit(shop)
            await healthy.wait_for(10)
            # every healthy delivery arrived while the slow receiver was still on its first answers
            assert slow.max_active <= delivery.PER_ENDPOINT
            assert len(slow.requests) <= delivery.PER_ENDPOINT


class TestCrash:
    async def test_sigkill_mid_delivery_is_delivered_again_with_the_same_webhook_id(self, shop, allow_private):
        async with receiver() as rec:
            rec.delay = 60  # the first answer never comes in time
            ep = await service.create_endpoint(shop.ctx, rec.url, ["*"])
            local = list(worker._running)
            for w in local:
                w.paused = True  # this process's workers stand aside: the subprocess claims the work
            proc = _start_worker()
            try:
                event_id = await emit(shop)
                [first] = await rec.wait_for(1, within=60)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
            finally:
                if proc.poll() is None:
                    proc.kill()
                for w in local:
                    w.paused = False
            rec.delay = 0
            await advance(delivery.LEASE.total_seconds() + 1)  # the dead worker's lease runs out
            _, second = await rec.wait_for(2)
            assert second.headers["webhook-id"] == first.headers["webhook-id"]
            assert event_id in second.body
            rows = await eventually(lambda: _done(ep["id"]), message="succeeded")
            assert [r["event_id"] for r in rows] == [event_id]


def _start_worker() -> subprocess.Popen:
    env = {**os.environ, "PAYDECK_ALLOW_PRIVATE_WEBHOOK_URLS": "true"}
    paydeck = Path(sys.executable).parent / "paydeck"
    return subprocess.Popen([str(paydeck), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _attempted(endpoint_id: str):
    rows = await deliveries(endpoint_id)
    return rows if rows and rows[0]["attempt_count"] >= 1 and rows[0]["locked_until"] is None else None


async def _done(endpoint_id: str):
    rows = await deliveries(endpoint_id)
    return rows if rows and all(r["status"] == "succeeded" for r in rows) else None



class TestOrdering:
    async def test_an_ordered_endpoint_gets_one_delivery_at_a_time_in_event_order(self, shop, allow_private):
        async with receiver() as rec:
            rec.delay = 0.05
            await service.create_endpoint(shop.ctx, rec.url, ["*"], ordered=True)
            sent = [await emit(shop) for _ in range(6)]
            got = await rec.wait_for(6)
            assert [r.body.split('"id":"')[1].split('"')[0] for r in got] == sent
            assert rec.max_active == 1
