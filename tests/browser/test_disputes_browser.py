"""A merchant answers a dispute in the browser: opens it from the list, sees the deadline tick, uploads proof and
submits evidence containing `winning_evidence`, then watches the page turn to Won and the balance come back."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_foundation_browser import log_in
from tests.disputes.helpers import PDF, dispute
from tests.factories import new_account
from tests.payments.helpers import Merchant

DISPUTE_FEE = 1500


async def test_submitting_winning_evidence_wins_the_dispute_and_restores_the_balance(page, base_url, http, tmp_path):
    shop = Merchant(http, await new_account(name="Dispute Browser Co"))
    pi = await shop.paid(12_000)
    dp = await dispute(shop, pi["id"], reason="product_not_received")
    kept = pi["amount_received"] - pi["fee"]
    assert await shop.balance() == kept - pi["amount"] - DISPUTE_FEE  # the amount and the fee are held

    await log_in(page, base_url, shop.account.user["email"])
    await page.goto(f"{base_url}/disputes")
    await page.click(f"a[href='/disputes/{dp['id']}']")
    await page.wait_for_url(f"{base_url}/disputes/{dp['id']}")
    countdown = page.locator("#deadline")
    await expect(countdown).to_have_text(re.compile(r"^6d \d\dh \d\dm \d\ds left$"))  # ticked by disputes.js
    await screenshot(page, "disputes-detail-needs-response")

    proof = tmp_path / "proof-of-delivery.pdf"
    proof.write_bytes(PDF)
    form = page.locator("#evidence-form")
    await form.locator("input[name=ev__shipping_carrier]").fill("UPS")
    await form.locator("input[name=ev__shipping_tracking_number]").fill("1Z999AA10123456784")
    await form.locator("textarea[name=ev__uncategorized_text]").fill("Delivered and signed for. winning_evidence")
    await form.locator("input[name=file__shipping_documentation]").set_input_files(str(proof))
    page.once("dialog", lambda dialog: dialog.accept())  # "It can be submitted once."
    await form.locator("button[value=submit]").click()

    # Under review, the page looks again by itself until the issuer decides.
    await expect(page.locator(".deadline-card h2")).to_have_text("Won", timeout=20_000)
    assert page.url == f"{base_url}/disputes/{dp['id']}"  # looked again with a GET, never by posting again
    await expect(page.locator(".form-error")).to_have_count(0)
    await expect(page.locator("#reinstated")).to_contain_text("yes: the amount")
    await expect(page.locator("#dispute-timeline")).to_contain_text("charge.dispute.funds_reinstated")
    await expect(page.locator("a", has_text="proof-of-delivery.pdf")).to_be_visible()
    await screenshot(page, "disputes-detail-won")
    assert await shop.balance() == kept - DISPUTE_FEE  # the amount is back; the fee is kept

    await page.goto(f"{base_url}/disputes?status=won")
    await expect(page.locator(f"a[href='/disputes/{dp['id']}']").first).to_be_visible()
    await screenshot(page, "disputes-list-won")
    assert page.off_host_requests == []  # type: ignore[attr-defined]
