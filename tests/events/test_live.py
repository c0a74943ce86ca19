"""Live delivery: GraphQL subscriptions and the dashboard's SSE stream, scoped, resumable."""

from __future__ import annotations

import asyncio

from server import db
from server.events.hub import hub
from server.events.service import emit
from tests.events.helpers import SSEClient, WSClient, emit_event, nudging, scope_of
from tests.factories import login, new_account
from tests.support import eventually


def key(account, mode: str = "test") -> dict[str, str]:
    return {"Authorization": f"Bearer {account.keys['secret_' + mode]}"}


async def live(ids, scope) -> list[str]:
    """Emit markers into `scope` until `ids()` shows one: the stream is live from here."""
    markers: list[str] = []

    async def nudge():
        markers.append(await emit_event(scope, "test.marker", "test"))

    await eventually(nudging(lambda: any(m in ids() for m in markers), nudge))
    return markers


class TestGraphQLSubscriptions:
    async def test_types_filter_and_snapshot(self, base_url):
        account = await new_account()
        scope = scope_of(account)
        query = 'subscription { events(types: ["customer.*", "test.marker"]) { id type data livemode } }'
        async with WSClient(base_url, key(account), query) as ws:
            await live(ws.ids, scope)
            skipped = await emit_event(scope, "payment_intent.created", "payment_intent")
            wanted = await emit_event(scope, "customer.created", data={"email": "x@example.com"})
            await eventually(lambda: wanted in ws.ids())
        assert skipped not in ws.ids()
        assert [e for e in ws.received if e["id"] == wanted][0]["data"] == {"email": "x@example.com"}

    async def test_payment_updated_carries_only_payment_intent_events(self, base_url):
        account = await new_account()
        scope = scope_of(account)
        query = "subscription { paymentUpdated { id objectType objectId } }"
        async with WSClient(base_url, key(account), query) as ws:
            markers: list[str] = []

            async def nudge():
                await emit_event(scope, "customer.created")
                markers.append(await emit_event(scope, "payment_intent.succeeded", "payment_intent"))

            await eventually(nudging(lambda: any(m in ws.ids() for m in markers), nudge))
        assert {e["objectType"] for e in ws.received} == {"payment_intent"}

    async def test_one_payment_by_id(self, base_url):
        account = await new_account()
        scope = scope_of(account)
        query = 'subscription { paymentUpdated(id: "pi_one") { id objectId } }'
        async with WSClient(base_url, key(account), query) as ws:
            async def nudge():
                await emit_event(scope, "payment_intent.created", "payment_intent", "pi_other")
                await emit_event(scope, "payment_intent.succeeded", "payment_intent", "pi_one")

            await eventually(nudging(lambda: len(ws.received) > 0, nudge))
        assert {e["objectId"] for e in ws.received} == {"pi_one"}

    async def test_session_subscriber_sees_its_mode_only(self, base_url):
        account = await new_account()
        browser = await login(base_url, account.user["email"])  # sessions start in test mode
        cookie = "; ".join(f"{k}={v}" for k, v in browser.client.cookies.items())
        import json

        import websockets

        url = str(base_url).replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"],
                                      additional_headers={"Cookie": cookie}) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                      "payload": {"query": "subscription { events { id livemode } }"}}))
            got: list[dict] = []

            async def reader():
                async for raw in ws:
                    message = json.loads(raw)
                    if message["type"] == "next":
                        got.append(message["payload"]["data"]["events"])

            task = asyncio.create_task(reader())
            live_ids: list[str] = []

            async def nudge():
                await emit_event(scope_of(account, livemode=True))
                live_ids.append(await emit_event(scope_of(account)))

            await eventually(nudging(lambda: any(e["id"] in live_ids for e in got), nudge))
            task.cancel()
        assert all(e["livemode"] is False for e in got)
        await browser.client.aclose()


class TestSSE:
    async def test_requires_a_dashboard_session(self, http):
        resp = await http.get("/events/stream")
        assert resp.status_code == 401

    async def test_streams_own_account_and_mode_only(self, base_url):
        mine, theirs = await new_account(), await new_account()
        browser = await login(base_url, mine.user["email"])
        try:
            async with SSEClient(browser.client, "/events/stream") as sse:
                assert sse.status == 200
                foreign: list[str] = []

                async def leak():
                    foreign.append(await emit_event(scope_of(theirs)))
                    foreign.append(await emit_event(scope_of(mine, livemode=True)))

                await leak()
                await live(sse.ids, scope_of(mine))
                await leak()
                marker = (await live(sse.ids, scope_of(mine)))[-1]
                assert marker in sse.ids()
            assert not set(sse.ids()) & set(foreign)
            frame = sse.frames[-1]
            assert frame["event"] == "event" and f'id="evt-row-{frame["id"]}"' in frame["data"]
        finally:
            await browser.client.aclose()

    async def test_resumes_after_last_event_id_without_gap_or_duplicate(self, base_url):
        account = await new_account()
        scope = scope_of(account)
        browser = await login(base_url, account.user["email"])
        try:
            # given a stream that received some events
            async with SSEClient(browser.client, "/events/stream") as first:
                await live(first.ids, scope)
                release, emitted = asyncio.Event(), asyncio.Event()
                slow: list[str] = []

                async def slow_change():  # emitted now, committed only while the client is away
                    async with db.transaction():
                        slow.append(await emit(None, scope, "customer.created", "customer", "cus_slow", {}))
                        emitted.set()
                        await release.wait()

                task = asyncio.create_task(slow_change())
                await emitted.wait()
                before = [await emit_event(scope) for _ in range(3)]
                await eventually(lambda: before[-1] in first.ids())
            last = first.ids()[-1]
            # when the connection drops and more happens meanwhile (including an older, late commit)
            release.set()
            await task
            missed = [await emit_event(scope) for _ in range(3)]
            # then reconnecting with Last-Event-ID delivers exactly what was missed, then live events
            async with SSEClient(browser.client, "/events/stream", headers={"Last-Event-ID": last}) as second:
                await eventually(lambda: all(i in second.ids() for i in missed + slow))
                after = await emit_event(scope)
                await eventually(lambda: after in second.ids())
            assert not set(second.ids()) & set(first.ids())
            assert len(second.ids()) == len(set(second.ids()))
            assert set(first.ids()) | set(second.ids()) >= set(before + missed + slow + [after])
            assert second.ids().index(slow[0]) < second.ids().index(after)
        finally:
            await browser.client.aclose()

    async def test_page_position_replays_what_happened_since_render(self, base_url):
        account = await new_account()
        scope = scope_of(account)
        browser = await login(base_url, account.user["email"])
        try:
            page = await browser.get("/events")
            url = page.text.split('sse-connect="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
            happened = await emit_event(scope)
            # the stream opens only after the event went out live: it must come from the table
            await eventually(lambda: hub().max_pos > 0)
            row: dict = {}

            async def dispatched():
                row.update(await db.fetchrow("SELECT pos FROM events WHERE id = $1", happened))

            await eventually(nudging(lambda: row.get("pos") is not None and hub().max_pos >= row["pos"], dispatched))
            async with SSEClient(browser.client, url) as sse:
                await eventually(lambda: happened in sse.ids())
        finally:
            await browser.client.aclose()
