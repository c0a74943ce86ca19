"""The Events page, event detail and the home page's live feed."""

from __future__ import annotations

from server.context import RequestContext
from server.events import queries
from server.events.tasks import delete_expired
from server.ids import new_id
from tests.events.helpers import emit_event, scope_of
from tests.factories import login, new_account


class TestEventsPage:
    async def test_lists_filters_and_scrolls(self, base_url):
        account = await new_account()
        scope = scope_of(account)
        ids = [await emit_event(scope, "customer.created") for _ in range(55)]
        paid = await emit_event(scope, "payment_intent.succeeded", "payment_intent")
        browser = await login(base_url, account.user["email"])
        try:
            page = await browser.get("/events")
            assert page.status_code == 200
            assert 'sse-connect="/events/stream?since=' in page.text
            assert paid in page.text and ids[-1] in page.text and ids[0] not in page.text
            assert 'hx-trigger="revealed"' in page.text
            cursor = page.text.split('hx-get="/events?after=', 1)[1].split('"', 1)[0]
            more = await browser.get(f"/events?after={cursor}", headers={"HX-Request": "true"})
            assert ids[0] in more.text and "<html" not in more.text and 'hx-trigger="revealed"' not in more.text
            filtered = await browser.get("/events", params={"type": "payment_intent.*"})
            assert paid in filtered.text and ids[-1] not in filtered.text
            assert "types=payment_intent.%2A" in filtered.text or "types=payment_intent.*" in filtered.text
        finally:
            await browser.client.aclose()

    async def test_detail_shows_snapshot_request_and_idempotency_key(self, base_url):
        account = await new_account()
        ctx = RequestContext(request_id="req_page1", idempotency_key="key-page-1")
        event_id = await emit_event(scope_of(account), data={"email": "snap@example.com"}, ctx=ctx)
        browser = await login(base_url, account.user["email"])
        try:
            page = await browser.get(f"/events/{event_id}")
            assert page.status_code == 200
            for text in (event_id, "snap@example.com", "req_page1", "key-page-1", "customer.created"):
                assert text in page.text
            other = await new_account()
            foreign = await emit_event(scope_of(other))
            assert (await browser.get(f"/events/{foreign}")).status_code == 404
        finally:
            await browser.client.aclose()

    async def test_home_has_a_live_feed(self, base_url):
        account = await new_account()
        event_id = await emit_event(scope_of(account))
        browser = await login(base_url, account.user["email"])
        try:
            home = await browser.get("/")
            assert home.status_code == 200
            assert event_id in home.text and 'sse-connect="/events/stream?since=' in home.text
        finally:
            await browser.client.aclose()


class TestRetention:
    async def test_older_events_go_younger_stay(self):
        account = await new_account()
        scope = scope_of(account)
        from datetime import UTC, datetime, timedelta

        from server import db

        old_at = datetime.now(UTC) - timedelta(days=31)
        old_id = new_id("evt", at_ms=int(old_at.timestamp() * 1000))
        async with db.transaction():
            await queries.insert({"id": old_id, "account_id": scope.account_id, "livemode": False,
                                  "type": "customer.created", "object_type": "customer", "object_id": "cus_old",
                                  "data": {}, "request_id": None, "idempotency_key": None, "created": old_at},
                                 notify_channel="paydeck_events")
        young = await emit_event(scope)
        assert await delete_expired(30) >= 1
        assert await queries.get(scope, old_id) is None
        assert await queries.get(scope, young) is not None
