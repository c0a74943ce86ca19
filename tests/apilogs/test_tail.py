"""The API-log live tail as a live connection: resumes after Last-Event-ID, shares the process's one Redis
subscription, counts against the live-connection cap, keeps alive and ends when the process drains."""

from __future__ import annotations

import asyncio

from server import health
from server.apilogs import tail
from server.apilogs.writer import flush_all
from server.events.limits import live
from server.infra import redis
from server.settings import get_settings
from tests.events.helpers import SSEClient
from tests.factories import login, new_account
from tests.support import eventually

STREAM = {"Accept": "text/event-stream"}


async def _request(http, key: str, method: str = "GET", path: str = "/v1/account") -> str:
    resp = await http.request(method, path, headers={"Authorization": f"Bearer {key}"},
                              data={"email": "tail@example.com"} if method == "POST" else None)
    assert resp.status_code < 500
    return resp.headers["Request-Id"]


async def test_a_resumed_tail_first_sends_the_rows_it_missed_in_order(base_url, http):
    account = await new_account(name="Tail Co")
    other = await new_account(name="Elsewhere")
    key = account.keys["secret_test"]
    browser = await login(base_url, account.user["email"])
    try:
        async with SSEClient(browser.client, "/logs/tail", headers=STREAM) as first:
            seen = await _request(http, key)
            await flush_all()
            await eventually(lambda: first.ids(), message="the first row on the tail")
        assert first.ids() == [seen]  # each row's SSE id is its log id

        # Disconnected: these happen while nobody is watching, another account's too.
        created = await _request(http, key, "POST", "/v1/customers")
        read = await _request(http, key)
        foreign = await _request(http, other.keys["secret_test"])
        await flush_all()

        async with SSEClient(browser.client, "/logs/tail", headers={**STREAM, "Last-Event-ID": seen}) as resumed:
            after = await _request(http, key)
            await flush_all()
            await eventually(lambda: after in resumed.ids(), message="the live row after the missed ones")
        ids = resumed.ids()
        assert ids.index(created) < ids.index(read) < ids.index(after)  # oldest first: the page prepends each
        assert foreign not in ids
        assert "log-row" in resumed.frames[0]["data"] and 'data-sse-id="' in resumed.frames[0]["data"]

        # The resumed rows follow the tail's filters, as live ones do; the query form works like the header.
        async with SSEClient(browser.client, f"/logs/tail?method=POST&last_event_id={seen}",
                             headers=STREAM) as posts:
            await eventually(lambda: created in posts.ids(), message="the missed POST")
        assert read not in posts.ids()
    finally:
        await browser.client.aclose()


async def test_tails_share_the_process_subscription_and_count_as_live_connections(base_url):
    account = await new_account()
    browser = await login(base_url, account.user["email"])
    channel = tail.channel_of(account.account["id"], False)
    patterns = await redis().pubsub_numpat()
    settings = get_settings()
    cap = settings.max_live_connections
    try:
        async with SSEClient(browser.client, "/logs/tail", headers=STREAM) as one, \
                SSEClient(browser.client, "/logs/tail", headers=STREAM) as two:
            assert one.status == two.status == 200
            await eventually(lambda: tail.feed.connections >= 2, message="both tails joined the feed")
            # No Redis subscription of their own: the events hub's one pattern subscription carries the tail.
            assert await redis().pubsub_numsub(channel) == [(channel, 0)]
            assert await redis().pubsub_numpat() == patterns
            settings.max_live_connections = live.open  # full now
            refused = await browser.client.get("/logs/tail", headers=STREAM)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
            assert refused.json()["error"]["code"] == "service_unavailable"
    finally:
        settings.max_live_connections = cap
        await browser.client.aclose()


async def test_a_tail_keeps_alive_and_ends_when_the_process_drains(base_url):
    account = await new_account()
    browser = await login(base_url, account.user["email"])
    settings = get_settings()
    heartbeat = settings.live_heartbeat_seconds
    settings.live_heartbeat_seconds = 0.2
    try:
        async with browser.client.stream("GET", "/logs/tail", headers=STREAM, timeout=15) as resp:
            lines = resp.aiter_lines()

            async def next_keepalive() -> None:
                async for line in lines:
                    if line == ": keep-alive":
                        return

            await asyncio.wait_for(next_keepalive(), 10)
            health.draining.set()
            try:
                async def to_the_end() -> None:
                    async for _ in lines:
                        pass

                await asyncio.wait_for(to_the_end(), 10)  # the server ended the stream
            finally:
                health.draining.clear()
        await eventually(lambda: tail.feed.connections == 0, message="the tail left the feed")
    finally:
        settings.live_heartbeat_seconds = heartbeat
        await browser.client.aclose()


async def test_a_resume_it_cannot_serve_still_opens_the_live_tail(base_url, http):
    account = await new_account()
    key = account.keys["secret_test"]
    browser = await login(base_url, account.user["email"])
    earlier = await _request(http, key)
    await flush_all()
    future_id = "req_" + "z" * 10 + "0" * 16  # an id from thousands of years ahead
    try:
        for path, headers in ((f"/logs/tail?last_event_id={future_id}", STREAM),
                              ("/logs/tail?status=teapot", {**STREAM, "Last-Event-ID": earlier}),
                              ("/logs/tail", {**STREAM, "Last-Event-ID": "not-an-id"})):
            async with SSEClient(browser.client, path, headers=headers) as stream:
                assert stream.status == 200, path
                fresh = await _request(http, key)
                await flush_all()
                if "status" not in path:  # a filter no row can match shows no row, but the stream stays open
                    await eventually(lambda s=stream, f=fresh: f in s.ids(), message=f"the live row on {path}")
                    assert earlier not in stream.ids()
                assert stream.task is not None and not stream.task.done(), path
    finally:
        await browser.client.aclose()
