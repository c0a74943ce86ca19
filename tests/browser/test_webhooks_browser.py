"""In Chromium: add an endpoint pointing at a local receiver, send a test event, read the attempt and its response."""

from __future__ import annotations

from standardwebhooks import Webhook

from tests.browser.conftest import screenshot
from tests.browser.test_foundation_browser import log_in
from tests.factories import new_account
from tests.support import eventually
from tests.webhooks.fixtures import allow_private
from tests.webhooks.receiver import receiver

__all__ = ["allow_private"]  # the fixture, used below


async def test_endpoint_test_event_and_attempt_detail(page, base_url, allow_private):
    account = await new_account(name="Webhook Browser Shop")
    await log_in(page, base_url, account.user["email"])
    async with receiver() as rec:
        rec.reply = lambda r: (200, {"x-receiver": "browser-test"}, '{"received": true}')
        await page.goto(f"{base_url}/webhooks")
        assert "No webhook endpoints yet" in await page.content()
        await page.fill("input[name=url]", rec.url)
        await page.fill("input[name=enabled_events]", "payment_intent.*")
        await page.fill("input[name=description]", "Local receiver")
        await page.click("form[action='/webhooks'] button[type=submit]")
        await page.locator("[data-testid=new-endpoint]").wait_for()
        secret = (await page.locator("code.secret").inner_text()).strip()
        assert secret.startswith("whsec_")
        await screenshot(page, "webhooks-endpoint-created")

        await page.click("[data-testid=new-endpoint-link]")
        await page.select_option("select[name=event_type]", "payment_intent.succeeded")
        await page.click("[data-testid=send-test]")
        await page.locator("[data-testid=notice]").wait_for()
        [got] = await rec.wait_for(1)
        assert Webhook(secret).verify(got.body, got.headers)["type"] == "payment_intent.succeeded"

        # the delivery shows as succeeded once the attempt is recorded (reloading repeats nothing: the
        # form redirected to a plain GET)
        assert "done=test" in page.url
        async def shown_succeeded() -> int:
            await page.reload()
            return await page.locator("#deliveries .status-succeeded").count()

        await eventually(shown_succeeded, message="the delivery shown as succeeded after a reload", every=0.1)
        assert await page.locator("#deliveries tbody tr").count() == 1
        await screenshot(page, "webhooks-endpoint-detail")

        await page.locator("#deliveries a").first.click()
        attempt = page.locator("[data-testid=attempt]").first
        await attempt.wait_for()
        assert "HTTP 200" in await attempt.locator("[data-testid=response-status]").inner_text()
        assert '{"received": true}' in await attempt.locator("[data-testid=response-body]").inner_text()
        assert "webhook-signature" in (await attempt.inner_text()).lower()
        assert "browser-test" in await attempt.inner_text()
        await screenshot(page, "webhooks-attempt-detail")
    assert page.off_host_requests == []  # type: ignore[attr-defined]
