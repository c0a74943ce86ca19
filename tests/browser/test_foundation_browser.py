"""A new user in the browser: log in, see test mode, create a key once, revoke it, use GraphiQL."""

from __future__ import annotations

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, new_account


async def log_in(page, base_url: str, email: str) -> None:
    await page.goto(f"{base_url}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}/")


async def test_login_mode_banner_and_key_lifecycle(page, base_url):
    account = await new_account(name="Browser Shop")
    await log_in(page, base_url, account.user["email"])

    # Test mode is the default, and unmistakable.
    banner = page.locator(".test-banner")
    assert await banner.is_visible()
    assert "TEST MODE" in await banner.inner_text()
    await screenshot(page, "foundation-home-test-mode")

    # Switch to live: the banner goes; back to test: it returns.
    await page.click("[data-testid=mode-toggle]")
    await page.wait_for_load_state("networkidle")
    assert await page.locator(".test-banner").count() == 0
    await screenshot(page, "foundation-home-live-mode")
    await page.click("[data-testid=mode-toggle]")
    await page.wait_for_load_state("networkidle")
    assert await page.locator(".test-banner").is_visible()

    # Create a key: the secret is shown once.
    await page.goto(f"{base_url}/apikeys")
    await page.fill("input[name=name]", "Browser test key")
    await page.click("form[action='/apikeys'] button[type=submit]")
    secret_box = page.locator("[data-testid=new-secret]")
    await secret_box.wait_for()
    secret = (await page.locator("code.secret").inner_text()).strip()
    assert secret.startswith("sk_test_")
    await screenshot(page, "foundation-key-created")

    await page.reload()
    assert await page.locator("[data-testid=new-secret]").count() == 0
    assert secret not in await page.content()

    # Revoke it from its row.
    row = page.locator("tr", has_text="Browser test key")
    page.once("dialog", lambda dialog: dialog.accept())
    await row.locator("button", has_text="Revoke").click()
    await page.locator("tr", has_text="Browser test key").locator(".status-revoked").wait_for()
    await screenshot(page, "foundation-key-revoked")
    assert page.off_host_requests == []  # type: ignore[attr-defined]


async def test_graphiql_runs_a_query_offline(page, base_url):
    account = await new_account(name="GraphiQL Shop")
    await log_in(page, base_url, account.user["email"])
    await page.goto(f"{base_url}/graphql")
    await page.locator(".graphiql-container").wait_for(timeout=15000)
    run = page.locator(".graphiql-execute-button")
    await run.click()
    result = page.locator(".result-window")
    await result.get_by_text(account.account["id"]).wait_for(timeout=15000)
    await screenshot(page, "foundation-graphiql")
    assert page.off_host_requests == [], page.off_host_requests  # type: ignore[attr-defined]
    assert page.csp_violations == [], page.csp_violations  # type: ignore[attr-defined]


async def test_the_api_reference_renders_from_this_host_alone(page, base_url):
    """Redoc at /schema: vendored, started without inline script, within its Content-Security-Policy."""
    await page.goto(f"{base_url}/schema")
    await page.locator("h1", has_text="Paydeck API").wait_for(timeout=20000)
    await page.locator("h2", has_text="Create a payment intent").first.wait_for(state="attached", timeout=20000)
    await page.locator("img[alt='redocly logo']").wait_for(timeout=5000)  # served by us, not by a CDN
    await page.wait_for_load_state("networkidle")
    await screenshot(page, "foundation-redoc", full_page=False)
    assert page.off_host_requests == [], page.off_host_requests  # type: ignore[attr-defined]
    assert page.csp_violations == [], page.csp_violations  # type: ignore[attr-defined]
