"""/metrics: Prometheus figures of the process, guarded by a token or kept to loopback; live-connection cap."""

from __future__ import annotations

import pytest
import websockets
from litestar import Request

from server import db, metrics
from server.events.limits import live
from server.settings import get_settings
from tests.events.helpers import SSEClient
from tests.factories import bearer, login, new_account
from tests.support import eventually


def value(text: str, prefix: str) -> float:
    """The value of the first sample line starting with `prefix`."""
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return float(line.rsplit(" ", 1)[1])


async def test_requests_are_timed_per_route_template_and_status_class(http):
    account = await new_account()
    await http.get("/v1/customers", headers=bearer(account.keys["secret_test"]))
    await http.get("/v1/customers/cus_nothere", headers=bearer(account.keys["secret_test"]))
    text = (await http.get("/metrics")).text
    assert 'route="/v1/customers",status="2xx"' in text
    assert value(text, 'paydeck_http_request_duration_seconds_count{method="GET",route="/v1/customers/{') >= 1
    assert "cus_nothere" not in text  # a route's template, never its ids
    for name in ("paydeck_event_dispatch_lag_seconds", "paydeck_webhook_queue_depth", "paydeck_reconciler_backlog",
                 "paydeck_apilog_buffer_records", "paydeck_live_connections", "paydeck_db_pool_waiting",
                 "paydeck_worker_heartbeat_timestamp_seconds{"):
        assert name in text, name


async def test_pool_connections_in_use_are_counted(http):
    pool = db.engine().pool
    assert pool is not None
    async with pool.acquire(), pool.acquire():  # the app serves from this process: its pool is ours
        held = value((await http.get("/metrics")).text, "paydeck_db_pool_in_use")
    assert held >= 2

    async def released() -> bool:  # the app's jobs share this pool: wait out a connection one of them holds
        return value((await http.get("/metrics")).text, "paydeck_db_pool_in_use") <= held - 2

    await eventually(released, message="the two connections released from the gauge")


async def test_a_token_guards_metrics_when_set(http):
    settings = get_settings()
    settings.metrics_token = "s3cret-token"
    try:
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/metrics", headers=bearer("wrong"))).status_code == 404
        allowed = await http.get("/metrics", headers=bearer("s3cret-token"))
        assert allowed.status_code == 200 and "paydeck_http_request_duration_seconds" in allowed.text
    finally:
        settings.metrics_token = None


@pytest.mark.parametrize(("client", "allowed"), [("127.0.0.1", True), ("::1", True), ("10.1.2.3", False)])
def test_without_a_token_only_loopback_may_scrape(client, allowed):
    request: Request = Request({"type": "http", "method": "GET", "path": "/metrics", "headers": [],
                                "client": (client, 50000), "query_string": b""})  # type: ignore[arg-type]
    assert metrics._allowed(request) is allowed


async def test_past_the_cap_new_live_connections_get_503_with_retry_after(base_url):
    account = await new_account()
    browser = await login(base_url, account.user["email"])
    settings = get_settings()
    cap = settings.max_live_connections
    try:
        async with SSEClient(browser.client, "/events/stream") as first:
            assert first.status == 200
            settings.max_live_connections = live.open  # full now
            refused = await browser.client.get("/events/stream")
            assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
            assert refused.json()["error"]["code"] == "service_unavailable"
            url = base_url.replace("http://", "ws://") + "/graphql"
            with pytest.raises(websockets.InvalidStatus) as upgrade:
                async with websockets.connect(url, subprotocols=["graphql-transport-ws"]):
                    pass
            assert upgrade.value.response.status_code == 503
            assert upgrade.value.response.headers["Retry-After"] == "5"
    finally:
        settings.max_live_connections = cap
        await browser.client.aclose()
    again = await login(base_url, account.user["email"])  # room again: streams are served
    try:
        async with SSEClient(again.client, "/events/stream") as stream:
            assert stream.status == 200
    finally:
        await again.client.aclose()
