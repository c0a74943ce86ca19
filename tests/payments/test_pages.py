"""Payments pages over HTTP as a browser drives them: list with filters and scrolling, detail, actions."""

from __future__ import annotations

from server.payments import service
from server.payments.serial import intent_json
from server.permissions import Role
from tests.factories import add_member, login, user_ctx
from tests.payments.helpers import Merchant, merchant


async def test_list_filters_scroll_and_row_fragment(http, base_url):
    m = await merchant(http)
    b = await login(base_url, m.account.user["email"])
    try:
        # 50 intents through the service (the API's rate limit would slow this test down), two paid via the API
        ctx = user_ctx(m.id, m.account.user["id"])
        paid = [intent_json(await service.create(ctx, 100 + i, "usd", description=f"order {i}")) for i in range(50)]
        paid += [await m.paid(150, description="order 50"), await m.paid(151, description="order 51")]
        failed = await m.paid(999, number="4000000000000002")
        page = await b.get("/payments")
        assert page.status_code == 200 and 'id="payment-rows"' in page.text
        assert failed["id"] in page.text and 'hx-trigger="revealed"' in page.text
        cursor = page.text.split('hx-get="/payments?after=', 1)[1].split("&", 1)[0]
        more = await b.get(f"/payments?after={cursor}", headers={"HX-Request": "true"})
        assert more.status_code == 200 and "<html" not in more.text and paid[0]["id"] in more.text
        only_failed = await b.get("/payments", params={"status": "failed"})
        assert failed["id"] in only_failed.text and paid[-1]["id"] not in only_failed.text
        ranged = await b.get("/payments", params={"amount_gte": "150", "amount_lte": "151"})
        assert paid[50]["id"] in ranged.text and paid[51]["id"] in ranged.text and paid[0]["id"] not in ranged.text
        assert ranged.text.count('data-payment="') == 2
        bad = await b.get("/payments", params={"amount_gte": "ten"})
        assert bad.status_code == 200 and "amount_gte" in bad.text
        row = await b.get(f"/payments/rows/{failed['id']}")
        assert row.text.strip().startswith("<tr") and "generic_decline" in row.text
    finally:
        await b.client.aclose()


async def test_detail_timeline_refund_and_capture_actions(http, base_url):
    m = await merchant(http)
    b = await login(base_url, m.account.user["email"])
    try:
        await m.paid(50_000)
        pi = await m.paid(2000, description="Blue mug")
        page = await b.get(f"/payments/{pi['id']}")
        assert page.status_code == 200 and "Blue mug" in page.text and pi["receipt"]["url"] in page.text
        assert "payment_intent.succeeded" in page.text and 'action="/payments/' in page.text
        refunded = await b.post(f"/payments/{pi['id']}/refund", {"amount": "500", "reason": "duplicate"})
        assert refunded.status_code == 200 and "Refund made" in refunded.text and "charge.refunded" in refunded.text
        over = await b.post(f"/payments/{pi['id']}/refund", {"amount": "5000"})
        assert over.status_code == 400 and "exceeds what remains" in over.text
        held = await m.paid(700, capture_method="manual")
        captured = await b.post(f"/payments/{held['id']}/capture", {"amount": "300"})
        assert captured.status_code == 200 and "Payment captured" in captured.text
        assert (await m.get(f"/v1/payment_intents/{held['id']}")).json()["amount_received"] == 300
        assert (await b.get("/payments/pi_nope")).status_code == 404
        balance = await b.get("/balance")
        assert balance.status_code == 200 and "From payments" in balance.text
        assert f"/payments/{pi['id']}" in balance.text
    finally:
        await b.client.aclose()


async def test_actions_are_permission_checked(http, base_url):
    m = await merchant(http)
    await m.paid(50_000)
    pi = await m.paid(2000)
    email, _ = await add_member(m.account, Role.ANALYST)
    analyst = await login(base_url, email)
    try:
        page = await analyst.get(f"/payments/{pi['id']}")
        assert page.status_code == 200 and f'action="/payments/{pi["id"]}/refund"' not in page.text
        refused = await analyst.post(f"/payments/{pi['id']}/refund", {"amount": "100"})
        assert refused.status_code == 403
        assert (await Merchant.get(m, f"/v1/payment_intents/{pi['id']}")).json()["amount_refunded"] == 0
    finally:
        await analyst.client.aclose()


async def test_detail_lists_the_api_requests_and_webhook_deliveries_of_the_payment(http, base_url, allow_private):
    from server.apilogs.writer import flush_all
    from server.webhooks import service as webhooks
    from tests.support import eventually
    from tests.webhooks.receiver import receiver

    m = await merchant(http)
    ctx = user_ctx(m.id, m.account.user["id"])
    async with receiver() as rec:
        await webhooks.create_endpoint(ctx, rec.url, ["payment_intent.*"])
        paid = await m.paid(1234)
        await rec.wait_for(1)
        await flush_all()
        b = await login(base_url, m.account.user["email"])
        try:
            async def shows_both() -> bool:
                page = (await b.get(f"/payments/{paid['id']}")).text
                return f"/v1/payment_intents/{paid['id']}/confirm" in page and "payment_intent.succeeded" in page \
                    and "/webhooks/deliveries/" in page
            await eventually(shows_both, message="requests and deliveries on the payment page")
        finally:
            await b.client.aclose()
    # A role without logs or webhook rights still sees the payment, without those sections.
    email, _ = await add_member(m.account, Role.SUPPORT)
    support = await login(base_url, email)
    try:
        page = await support.get(f"/payments/{paid['id']}")
        assert page.status_code == 200 and "Webhook deliveries" not in page.text and "API requests" not in page.text
    finally:
        await support.client.aclose()


async def test_a_negative_merchant_balance_is_shown_with_a_banner(http, base_url):
    m = await merchant(http)
    b = await login(base_url, m.account.user["email"])
    try:
        pi = await m.paid(1000)  # the merchant keeps 941 after the fee
        for page in ("/", "/balance"):
            assert 'data-testid="negative-balance"' not in (await b.get(page)).text
        assert (await m.post("/v1/refunds", {"payment_intent": pi["id"]})).status_code == 200
        assert await m.balance() == -59
        home, balance = await b.get("/"), await b.get("/balance")
        for page in (home, balance):
            assert page.status_code == 200 and 'data-testid="negative-balance"' in page.text
            assert "-$0.59" in page.text
        assert 'href="/balance"' in home.text.split('data-testid="negative-balance"', 1)[1].split("</div>", 1)[0]
    finally:
        await b.client.aclose()
