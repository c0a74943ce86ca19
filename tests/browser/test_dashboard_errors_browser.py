"""What a person sees when something is refused: the server's message inline, a dashboard 404, a live feed
that keeps time and its newest rows. Screenshots in test-artifacts/."""

from __future__ import annotations

from tests.browser.conftest import screenshot
from tests.browser.test_foundation_browser import log_in
from tests.events.helpers import emit_event, scope_of
from tests.factories import new_account


async def test_key_form_errors_show_inline(page, base_url):
    account = await new_account(name="Inline Errors Shop")
    await log_in(page, base_url, account.user["email"])
    await page.goto(f"{base_url}/apikeys")
    await page.fill("input[name=name]", "expired already")
    await page.fill("input[name=expires_at]", "2001-01-01T10:00")
    await page.click("form[action='/apikeys'] button[type=submit]")
    error = page.locator("#created .form-error")
    await error.wait_for()
    assert "expires_at must be in the future" in await error.inner_text()
    await screenshot(page, "errors-key-expiry-inline")

    # A name longer than the field allows (typed past maxlength by a script, as a crafted request would).
    await page.eval_on_selector("input[name=name]", "(el) => { el.removeAttribute('maxlength'); }")
    await page.fill("input[name=name]", "n" * 121)
    await page.fill("input[name=expires_at]", "")
    await page.click("form[action='/apikeys'] button[type=submit]")
    await page.locator("#created .form-error", has_text="name must be at most 120 characters").wait_for()
    await screenshot(page, "errors-key-name-inline")


async def test_roll_asks_first_and_says_how_long_the_old_key_works(page, base_url):
    account = await new_account(name="Roll Shop")
    await log_in(page, base_url, account.user["email"])
    await page.goto(f"{base_url}/apikeys")
    assert await page.locator("[data-testid=roll-expiry]").first.input_value() == "24"
    asked: list[str] = []

    async def answer(dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", answer)
    await page.locator("button", has_text="Roll").first.click()
    banner = page.locator("[data-testid=previous-key]")
    await banner.wait_for()
    assert asked and asked[0].startswith("Roll ")
    assert "keeps working until" in await banner.inner_text()
    await screenshot(page, "errors-key-rolled")


async def test_logs_status_filter_error_shows_inline(page, base_url):
    account = await new_account(name="Logs Filter Shop")
    await log_in(page, base_url, account.user["email"])
    await page.goto(f"{base_url}/logs")
    await page.fill("input[name=status]", "abc")
    await page.click("form.log-filters button[type=submit]")
    error = page.locator("[data-testid=filter-error] .form-error")
    await error.wait_for()
    assert "status must be a code such as 404" in await error.inner_text()
    assert await page.locator("input[name=status]").input_value() == "abc"
    await screenshot(page, "errors-logs-status-filter")


async def test_an_unknown_dashboard_url_is_a_dashboard_page(page, base_url):
    account = await new_account(name="Lost Shop")
    await log_in(page, base_url, account.user["email"])
    response = await page.goto(f"{base_url}/payments-and-more")
    assert response is not None and response.status == 404
    await page.locator("[data-testid=error-page] h1", has_text="Page not found").wait_for()
    assert await page.locator("nav.sidebar").is_visible()
    await screenshot(page, "errors-dashboard-404")


async def test_home_feed_keeps_the_newest_50_and_its_times_tick(page, base_url):
    account = await new_account(name="Ticking Shop")
    scope = scope_of(account)
    first = await emit_event(scope, "customer.created")
    await page.clock.install()  # the page's clock, advanced below instead of waiting
    await log_in(page, base_url, account.user["email"])
    await page.locator(f"#evt-row-{first}").wait_for()
    await page.wait_for_function("() => document.querySelector('#event-live') !== null")
    await page.clock.run_for(300)  # the stream opens
    for _ in range(55):
        last = await emit_event(scope, "customer.updated")
    await page.wait_for_selector(f"#event-live #evt-row-{last}", timeout=20000)
    rows = page.locator("[data-testid=live-feed] tr[data-event-id]")
    assert await rows.count() == 50
    assert await page.locator(f"#evt-row-{first}").count() == 0, "the oldest row went"
    newest = page.locator(f"#evt-row-{last} time")
    assert (await newest.inner_text()).endswith("s ago")
    await screenshot(page, "home-live-feed-newest-50")
    await page.clock.run_for("03:00")  # the page's clock lags the server's by the seconds spent above
    assert await newest.inner_text() in ("2m ago", "3m ago")
