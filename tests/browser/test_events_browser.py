"""The live parts in a real browser: an event committed on the server appears without reload."""

from __future__ import annotations

from tests.browser.conftest import screenshot
from tests.browser.test_foundation_browser import log_in
from tests.events.helpers import emit_event, scope_of
from tests.factories import new_account


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
