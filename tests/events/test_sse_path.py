"""The lean path live streams are served on (server/events/sse.py): outside the middleware stack, yet
answering like the app (request id, security headers, refusals, metrics), and freeing its place when the
client leaves; heartbeats poke an idle stream instead of timing every wait."""

from __future__ import annotations

import asyncio
import re

import httpx

from server import health
from server.events import limits
from server.events.hub import hub
from server.events.queries import TypeFilter
from server.settings import get_settings
from tests.events.helpers import SSEClient, emit_event, scope_of
from tests.factories import login, new_account
from tests.support import eventually


def await_chain(task: asyncio.Task) -> list[str]:
    """The qualified names of the coroutines a task is suspended in, outermost first."""
    names: list[str] = []
    coro = task.get_coro()
    while coro is not None and hasattr(coro, "cr_code"):
        names.append(coro.cr_code.co_qualname)
        coro = coro.cr_await
    return names


def serving_chains() -> list[list[str]]:
    return [chain for task in asyncio.all_tasks() if "_write" in (chain := await_chain(task))]


async def test_a_held_stream_keeps_no_middleware_or_route_handler_alive(base_url):
    account = await new_account()
    browser = await login(base_url, account.user["email"])
    try:
        before = len(serving_chains())
        async with SSEClient(browser.client, "/events/stream") as sse:
            assert sse.status == 200
            chains = await eventually(lambda: (c := serving_chains()) and len(c) > before and c,
                                      message="the server task writing the stream")
            for chain in chains:  # uvicorn's frames, then the app's entry, then the lean path only
                assert chain[chain.index("Litestar.__call__") + 1:] == ["live_streams.<locals>.handler", "_serve",
                                                                       "_write"], chain
    finally:
        await browser.client.aclose()


async def test_the_stream_answers_like_the_app(base_url):
    account = await new_account()
    browser = await login(base_url, account.user["email"])
    try:
        async with browser.client.stream("GET", "/events/stream", timeout=15) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            assert resp.headers["cache-control"] == "no-cache"
            assert re.fullmatch(r"req_\w+", resp.headers["request-id"])
            assert resp.headers["x-content-type-options"] == "nosniff"  # the app's before_send hook still runs
            assert "default-src 'none'" in resp.headers["content-security-policy"]
        bad = await browser.client.get("/events/stream?types=customer.%00")
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == "types"
        assert bad.json()["error"]["request_id"] == bad.headers["request-id"]
        wrong_view = await browser.client.get("/events/stream?view=nope")
        assert wrong_view.status_code == 400 and wrong_view.json()["error"]["param"] == "view"
    finally:
        await browser.client.aclose()
    anonymous = await httpx.AsyncClient(base_url=base_url).get("/events/stream")
    assert anonymous.status_code == 401 and anonymous.headers["request-id"]
    async with httpx.AsyncClient(base_url=base_url) as client:
        for method in ("HEAD", "POST", "DELETE"):  # the app has no route of its own here: not a 404
            resp = await client.request(method, "/events/stream")
            assert resp.status_code == 405 and resp.headers["allow"] == "GET", (method, resp.status_code)
            if method != "HEAD":
                assert resp.json()["error"]["code"] == "http_405"
    async with httpx.AsyncClient(base_url=base_url) as client:
        text = (await client.get("/metrics")).text
    assert re.search(r'paydeck_http_request_duration_seconds_count\{[^}]*route="/events/stream"[^}]*status="2xx"', text)
    assert re.search(r'paydeck_http_request_duration_seconds_count\{[^}]*route="/events/stream"[^}]*status="4xx"', text)


async def test_a_client_that_leaves_frees_its_place_at_once(base_url):
    account = await new_account()
    browser = await login(base_url, account.user["email"])
    open_before, subscribed_before = limits.live.open, hub().connections
    try:
        async with SSEClient(browser.client, "/events/stream") as sse:
            assert sse.status == 200
            await eventually(lambda: hub().connections > subscribed_before, message="the stream subscribed")
            assert limits.live.open > open_before
    finally:
        await browser.client.aclose()
    # no event and no heartbeat is due: only the disconnect can end it
    await eventually(lambda: limits.live.open == open_before and hub().connections == subscribed_before,
                     message="the stream left the hub and the live count")


async def test_an_idle_stream_gets_keep_alives_and_ends_when_the_process_drains(base_url):
    account = await new_account()
    browser = await login(base_url, account.user["email"])
    settings = get_settings()
    heartbeat = settings.live_heartbeat_seconds
    settings.live_heartbeat_seconds = 0.2
    try:
        async with browser.client.stream("GET", "/events/stream", timeout=15) as resp:
            lines = resp.aiter_lines()

            async def keepalives(count: int) -> None:
                async for line in lines:
                    if line == ": keep-alive":
                        count -= 1
                        if count == 0:
                            return

            await asyncio.wait_for(keepalives(2), 10)  # one, and the timer re-armed for the next
            health.draining.set()
            try:
                async def to_the_end() -> None:
                    async for _ in lines:
                        pass

                await asyncio.wait_for(to_the_end(), 10)
            finally:
                health.draining.clear()
    finally:
        settings.live_heartbeat_seconds = heartbeat
        await browser.client.aclose()


class TestPoke:
    async def test_a_poke_ends_a_wait_but_a_waiting_message_comes_first(self, server):
        account = await new_account()
        scope = scope_of(account)
        async with hub().subscribe(scope, TypeFilter()) as subscriber:
            waiting = asyncio.create_task(subscriber.next_or_poked())
            await eventually(lambda: subscriber.waiter is not None)
            subscriber.poke()
            assert await asyncio.wait_for(waiting, 5) is None
            emitted = await emit_event(scope)
            await eventually(lambda: subscriber.channel.messages)
            subscriber.poke()
            message = await asyncio.wait_for(subscriber.next_or_poked(), 5)
            assert message is not None and message.id == emitted
            assert await asyncio.wait_for(subscriber.next_or_poked(), 5) is None  # the poke is still owed

    async def test_iterating_ignores_pokes(self, server):
        account = await new_account()
        scope = scope_of(account)
        async with hub().subscribe(scope, TypeFilter()) as subscriber:
            waiting = asyncio.create_task(anext(subscriber))
            await eventually(lambda: subscriber.waiter is not None)
            subscriber.poke()
            await asyncio.sleep(0.05)
            assert not waiting.done()
            emitted = await emit_event(scope)
            assert (await asyncio.wait_for(waiting, 10)).id == emitted
