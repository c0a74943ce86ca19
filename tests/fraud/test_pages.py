"""The Radar pages through a logged-in session: rules, backtest, test payments, the queue, lists, explanations."""

from __future__ import annotations

import re

from tests.factories import login, new_account


async def session_of_new_account(base_url):
    account = await new_account(name="Radar Pages Co")
    return account, await login(base_url, account.user["email"])


async def test_the_whole_path_of_a_new_user(base_url):
    account, s = await session_of_new_account(base_url)
    try:
        page = await s.get("/radar")
        assert page.status_code == 200
        assert ":risk_level: = &#39;highest&#39;" in page.text and "Make a test payment" in page.text
        # The fraudulent card: blocked, with its explanation on the payment's page.
        paid = await s.post("/radar/try", {"amount": "50.00", "currency": "usd", "card_number": "4100000000000019",
                                           "email": "thief@example.com", "ip_address": "81.2.69.142"})
        assert paid.status_code == 303, paid.text
        payment = await s.get(paid.headers["location"])
        assert "data-risk-outcome>blocked" in payment.text and "card_reported_stolen" in payment.text
        assert "data-deciding-rule>block if :risk_level: = &#39;highest&#39;" in payment.text
        # A rule, backtested, then saved.
        tried = await s.get("/radar", params={"backtest": "review if :amount_in_usd: > 30", "days": "30"})
        assert re.search(r"<strong data-matched>1</strong> of 1 decisions", tried.text), tried.text
        bad = await s.post("/radar/rules", {"rule": "review if :amount_in_usd: >"})
        assert bad.status_code == 400 and "column 28" in bad.text
        saved = await s.post("/radar/rules", {"rule": "review if :amount_in_usd: > 30"})
        assert saved.status_code == 303
        # A payment it sends to review, approved from the queue.
        paid = await s.post("/radar/try", {"amount": "40.00", "currency": "usd", "card_number": "4242424242424242"})
        pi_id = paid.headers["location"].rsplit("/", 1)[1]
        queue = await s.get("/radar")
        review_id = re.search(r'data-review="(prv_[a-z0-9]+)"', queue.text).group(1)
        assert pi_id in queue.text
        approved = await s.post(f"/radar/reviews/{review_id}/approve")
        assert approved.status_code == 200 and "Review approved" in approved.text
        assert f'data-review="{review_id}"' not in approved.text
        detail = await s.get(f"/payments/{pi_id}")
        assert "approved" in detail.text and "data-risk-outcome>sent to review" in detail.text
    finally:
        await s.client.aclose()


async def test_lists_and_explanations_pages(base_url):
    account, s = await session_of_new_account(base_url)
    try:
        made = await s.post("/radar/lists", {"name": "Watched", "alias": "watched", "item_type": "email"})
        assert made.status_code == 303
        list_url = made.headers["location"]
        assert (await s.post(f"{list_url}/items", {"value": "Eve@Example.com"})).status_code == 303
        shown = await s.get(list_url)
        assert "eve@example.com" in shown.text
        refused = await s.post(f"{list_url}/items", {"value": "not an email"})
        assert refused.status_code == 400 and "email address" in refused.text
        paid = await s.post("/radar/try", {"amount": "5.00", "currency": "usd", "card_number": "4242424242424242"})
        detail = await s.get(paid.headers["location"])
        evaluation = re.search(r'href="(/radar/evaluations/rsk_[a-z0-9]+)"', detail.text).group(1)
        every = await s.get(evaluation)
        assert every.status_code == 200 and ":amount_in_usd:" in every.text and ":risk_score:" in every.text
    finally:
        await s.client.aclose()


async def test_live_mode_offers_no_test_payment(base_url):
    account, s = await session_of_new_account(base_url)
    try:
        await s.post("/mode", {"livemode": "true", "next": "/radar"})
        page = await s.get("/radar")
        assert page.status_code == 200 and "Make a test payment" not in page.text
        refused = await s.post("/radar/try", {"amount": "5.00", "currency": "usd", "card_number": "4242424242424242"})
        assert refused.status_code == 400 and "test mode" in refused.text
    finally:
        await s.client.aclose()
