"""The dashboard updates itself: a payment made through the REST API shows up without reload."""

from __future__ import annotations

from tests.browser.conftest import screenshot
from tests.browser.test_foundation_browser import log_in
from tests.payments.helpers import Merchant


async def _stream_open(page) -> None:
    await page.wait_for_function("() => window.htmx !== undefined")
    await page.wait_for_timeout(300)  # the EventSource connects right after load


async def test_home_feed_shows_a_rest_payment_live(page, base_url, http):
    from tests.factories import new_account

    shop = Merchant(http, await new_account(name="Live Payments"))
    await log_in(page, base_url, shop.account.user["email"])
    await _stream_open(page)
    paid = await shop.paid(4200)
    await page.wait_for_selector(f"#event-live [data-event-id] code[data-copy='{paid['id']}']", timeout=10000)
    await screenshot(page, "payments-home-live-feed")
    assert page.off_host_requests == []  # type: ignore[attr-defined]


async def test_payments_list_inserts_new_payments_at_the_top(page, base_url, http):
    from tests.factories import new_account

    shop = Merchant(http, await new_account(name="Live List"))
    older = await shop.paid(1000)
    await log_in(page, base_url, shop.account.user["email"])
    await page.goto(f"{base_url}/payments")
    await page.locator(f"#payment-{older['id']}").wait_for()
    await _stream_open(page)

    newer = await shop.paid(2500)
    row = page.locator(f"#payment-rows tr#payment-{newer['id']}")
    await row.wait_for(timeout=10000)
    first = page.locator("#payment-rows tr[data-payment]").first
    assert await first.get_attribute("data-payment") == newer["id"]
    await page.wait_for_timeout(500)  # later events of the same payment replace its row, never duplicate it
    assert await page.locator(f"#payment-rows tr[data-payment='{newer['id']}']").count() == 1
    assert await page.locator(f"#payment-rows tr[data-payment='{older['id']}']").count() == 1
    await screenshot(page, "payments-list-live")
    assert page.off_host_requests == []  # type: ignore[attr-defined]
