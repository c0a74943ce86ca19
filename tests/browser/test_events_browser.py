"""The live parts in a real browser: an event committed on the server appears without reload."""

from __future__ import annotations

from tests.browser.conftest import screenshot
from tests.browser.test_foundation_browser import log_in
from tests.events.helpers import emit_event, scope_of
from tests.factories import new_account
from tests.support import eventually


async def test_home_feed_and_events_page_update_live(page, base_url):
    account = await new_account(name="Live Shop")
    await log_in(page, base_url, account.user["email"])
    # the stream is open once htmx reports it
    await page.wait_for_function("() => document.querySelector('#event-live') !== null")
    await page.wait_for_timeout(300)
    first = await emit_event(scope_of(account), "payment_intent.succeeded", "payment_intent")
    await page.wait_for_selector(f"#event-live #evt-row-{first}", timeout=15000)
    await screenshot(page, "events-home-live-feed")

    await page.goto(f"{base_url}/events")
    second = await emit_event(scope_of(account), "customer.created")
    await page.wait_for_selector(f"#evt-row-{second}", timeout=15000)
    assert await page.locator(f"#evt-row-{first}").count() == 1  # rendered with the page, not inserted twice
    await screenshot(page, "events-page-live")
    await page.click(f"#evt-row-{second} a")
    await page.wait_for_url(f"{base_url}/events/{second}")
    assert "customer.created" in await page.inner_text("h1")
    assert page.off_host_requests == []  # type: ignore[attr-defined]


async def test_live_feed_resumes_after_a_503_with_the_last_event_id(page, base_url):
    """The stream ends and the server refuses the reconnects (503, at its cap) while events are made:
    the page backs off, then resumes after the last event it received: each missed event arrives once, in order."""
    from server.events.hub import hub
    from server.events.limits import live
    from server.settings import get_settings

    account = await new_account(name="Resuming Shop")
    scope = scope_of(account)
    stream_requests: list[str] = []
    refused: list[str] = []
    page.on("request", lambda r: stream_requests.append(r.url) if "/events/stream" in r.url else None)
    page.on("response", lambda r: refused.append(r.url) if "/events/stream" in r.url and r.status == 503 else None)
    await log_in(page, base_url, account.user["email"])
    await page.wait_for_function("() => document.querySelector('#event-live') !== null")
    # every message the server sent, duplicates included (app.js hides a duplicate row, so count them here)
    await page.evaluate("""() => { window.seenIds = [];
        document.addEventListener('htmx:sseBeforeMessage', (e) => window.seenIds.push(e.detail.lastEventId)); }""")
    await page.wait_for_timeout(300)
    before = await emit_event(scope, "customer.created")
    await page.wait_for_selector(f"#event-live #evt-row-{before}", timeout=15000)

    settings = get_settings()
    cap = settings.max_live_connections
    try:
        settings.max_live_connections = 0  # every reconnect is refused with 503 ...
        hub().close_all()  # ... after the server ends the open stream
        missed = [await emit_event(scope, "customer.created") for _ in range(3)]
        await eventually(lambda: len(refused) >= 2)  # refused, retried after a backoff, refused again
    finally:
        settings.max_live_connections = cap
    for event_id in missed:
        await page.wait_for_selector(f"#event-live #evt-row-{event_id}", timeout=30000)
    after = await emit_event(scope, "customer.created")
    await page.wait_for_selector(f"#event-live #evt-row-{after}", timeout=15000)

    assert await page.evaluate("window.seenIds") == [before, *missed, after]  # once each, in order, no gap
    assert all(f"last_event_id={before}" in url for url in stream_requests[1:])  # resumed, not from `since`
    assert live.open >= 1

