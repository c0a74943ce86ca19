"""A new user finds an API call by the request id from its response header, opens it, and tails live."""

from __future__ import annotations

from server.apilogs.writer import flush_all
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, new_account


async def test_find_a_request_by_id_open_it_and_tail(page, base_url, http):
    account = await new_account(name="Browser Logs Shop")
    headers = {"Authorization": f"Bearer {account.keys['secret_test']}"}
    for _ in range(3):
        await http.get("/v1/account", headers=headers)
    wanted = await http.get("/v1/request_logs/req_not_there", headers=headers)
    request_id = wanted.headers["Request-Id"]
    await flush_all()

    await page.goto(f"{base_url}/login")
    await page.fill("input[name=email]", account.user["email"])
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}/")

    # Search by the id copied from the response header.
    await page.goto(f"{base_url}/logs")
    await page.keyboard.press("/")
    await page.keyboard.type(request_id)
    await page.keyboard.press("Enter")
    await page.wait_for_function("() => document.querySelectorAll('tr.log-row').length === 1")
    row = page.locator(f"tr[data-log-id='{request_id}']")
    assert await row.count() == 1
    assert f"q={request_id}" in page.url
    await screenshot(page, "apilogs-search-by-request-id")

    # Open its detail: redacted request, the error, copy as curl.
    await row.click()
    detail = page.locator("[data-testid=log-detail]")
    await detail.wait_for()
    text = await detail.text_content() or ""  # headers sit in a collapsed <details>
    assert request_id in text and "resource_missing" in text and "[REDACTED]" in text
    assert account.keys["secret_test"] not in await page.content()
    assert await page.locator("[data-testid=copy-curl]").is_visible()
    await screenshot(page, "apilogs-detail")

    # Live tail: a new call appears without a reload.
    await page.add_init_script("document.addEventListener('htmx:sseOpen', () => { window.sseOpen = true; })")
    await page.goto(f"{base_url}/logs")
    await page.click("[data-testid=tail-toggle]")
    await page.wait_for_function("() => window.sseOpen === true", timeout=15_000)
    fresh = await http.get("/v1/account", headers=headers)
    await flush_all()
    await page.locator(f"tr[data-log-id='{fresh.headers['Request-Id']}']").wait_for(timeout=15_000)
    await screenshot(page, "apilogs-live-tail")
    assert page.off_host_requests == []  # type: ignore[attr-defined]
