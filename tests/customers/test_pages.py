"""Dashboard pages of customers, balance and FX rates, driven over HTTP as a browser would."""

from __future__ import annotations

import re

from server.permissions import Role
from tests.factories import add_member, login, new_account


class TestCustomerPages:
    async def test_create_credit_transfer_search_and_close_from_the_dashboard(self, base_url):
        account = await new_account()
        b = await login(base_url, account.user["email"])
        # given two customers created through the form
        made = await b.post("/customers", {"name": "Grace Hopper", "email": "grace@example.com"})
        assert made.status_code == 303
        grace = made.headers["location"].rsplit("/", 1)[1]
        alan = (await b.post("/customers", {"name": "Alan"})).headers["location"].rsplit("/", 1)[1]
        # when money is credited and sent
        credited = await b.post(f"/customers/{grace}/credit", {"amount": "12.50", "currency": "USD",
                                                               "transaction_id": "dash_1"})
        sent = await b.post(f"/customers/{grace}/transfer", {"amount": "2.50", "currency": "USD",
                                                             "to_customer": alan})
        # then the pages show it
        assert credited.status_code == 200 and "Credit recorded" in credited.text
        assert sent.status_code == 200 and "$10.00" in sent.text
        assert 'hx-trigger="revealed"' not in sent.text  # two entries fit one page
        listing = await b.get("/customers", params={"q": "grace"})
        assert "Grace Hopper" in listing.text and "Alan" not in listing.text
        refused = await b.post(f"/customers/{grace}/close")
        assert refused.status_code == 409 and "10.00 USD" in refused.text
        too_precise = await b.post(f"/customers/{grace}/credit", {"amount": "1.005", "currency": "USD",
                                                                  "transaction_id": "dash_2"})
        assert too_precise.status_code == 400 and "more decimals" in too_precise.text
        await b.client.aclose()

    async def test_history_scrolls_in_pages(self, base_url):
        from server.customers import service, wallet
        from tests.factories import user_ctx

        account = await new_account()
        ctx = user_ctx(account.account["id"], account.user["id"])
        c = await service.create(ctx, None, "Many")
        for i in range(30):
            await wallet.credit(ctx, c.id, 1, "USD", f"scroll_{i}")
        b = await login(base_url, account.user["email"])
        page = await b.get(f"/customers/{c.id}")
        more = re.search(r'hx-get="([^"]+)" hx-trigger="revealed"', page.text)
        assert more, "no infinite-scroll loader"
        rest = await b.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
        assert rest.status_code == 200 and "<html" not in rest.text and rest.text.count("<tr") == 5
        await b.client.aclose()

    async def test_forms_are_permission_checked(self, base_url):
        account = await new_account()
        email, _ = await add_member(account, Role.ANALYST)
        owner = await login(base_url, account.user["email"])
        cid = (await owner.post("/customers", {"name": "X"})).headers["location"].rsplit("/", 1)[1]
        analyst = await login(base_url, email)
        page = await analyst.get(f"/customers/{cid}")
        assert page.status_code == 200 and "Add credit" not in page.text and "Close customer" not in page.text
        denied = await analyst.post(f"/customers/{cid}/credit", {"amount": "1", "currency": "USD",
                                                                 "transaction_id": "nope"})
        assert denied.status_code == 403
        await owner.client.aclose()
        await analyst.client.aclose()


class TestLedgerPages:
    async def test_fx_rates_under_settings_and_the_balance_page(self, base_url):
        account = await new_account()
        b = await login(base_url, account.user["email"])
        saved = await b.post("/settings/fx-rates", {"base": "usd", "quote": "eur", "rate": "0.92",
                                                    "spread_bps": "50"})
        assert saved.status_code == 303
        page = await b.get("/settings/fx-rates")
        assert "USD → EUR" in page.text and "0.9154" in page.text
        bad = await b.post("/settings/fx-rates", {"base": "USD", "quote": "EUR", "rate": "-1"})
        assert bad.status_code == 400
        balance = await b.get("/balance")
        assert balance.status_code == 200 and "Nothing has been posted yet" in balance.text
        await b.client.aclose()
