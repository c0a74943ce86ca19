"""Radar in a browser, as a new user in test mode: the fraudulent card blocked with its explanation; a rule
written, backtested and saved; a payment it sends to review; the review approved."""

from __future__ import annotations

from tests.browser.conftest import screenshot
from tests.browser.test_foundation_browser import log_in
from tests.factories import new_account


async def pay(page, base_url: str, amount: str, card: str, email: str = "", ip: str = "") -> None:
    await page.goto(f"{base_url}/radar#try")
    form = page.locator("#try form")
    await form.locator("input[name=amount]").fill(amount)
    await form.locator("select[name=card_number]").select_option(card)
    await form.locator("input[name=email]").fill(email)
    await form.locator("input[name=ip_address]").fill(ip)
    await form.locator("[data-pay]").click()
    await page.wait_for_url("**/payments/pi_*")


async def test_a_new_user_blocks_fraud_writes_a_rule_and_approves_a_review(page, base_url):
    account = await new_account(name="Radar Browser Shop")
    await log_in(page, base_url, account.user["email"])

    await pay(page, base_url, "50.00", "4100000000000019", "thief@example.com", "81.2.69.142")
    risk = page.locator("#risk")
    await risk.wait_for()
    assert await risk.locator("[data-risk-outcome]").inner_text() == "blocked"
    assert "block if :risk_level: = 'highest'" in await risk.locator("[data-deciding-rule]").inner_text()
    assert await risk.locator("[data-factor='card_reported_stolen']").count() == 1
    await screenshot(page, "radar-1-fraudulent-card-blocked")

    await page.goto(f"{base_url}/radar")
    await page.locator("input[name=backtest]").fill("review if :amount_in_usd: > 30")
    await page.locator("[data-backtest]").click()
    await page.locator("[data-backtest-result]").wait_for()
    assert await page.locator("[data-matched]").inner_text() == "1"
    await screenshot(page, "radar-2-rule-backtested")
    await page.locator("[data-save-rule]").click()
    await page.locator("tr[data-rule] code", has_text=":amount_in_usd: > 30").wait_for()
    await screenshot(page, "radar-3-rule-saved")

    await pay(page, base_url, "40.00", "4242424242424242", "ada@example.com", "8.8.8.8")
    assert await page.locator("#risk [data-risk-outcome]").inner_text() == "sent to review"
    await screenshot(page, "radar-4-payment-sent-to-review")

    await page.goto(f"{base_url}/radar#reviews")
    review = page.locator("tr[data-review]")
    assert await review.count() == 1
    await screenshot(page, "radar-5-review-queue")
    await review.locator("[data-approve]").click()
    await page.locator(".notice", has_text="Review approved").wait_for()
    assert await page.locator("tr[data-review]").count() == 0
    await screenshot(page, "radar-6-review-approved")
    assert page.off_host_requests == []  # type: ignore[attr-defined]
