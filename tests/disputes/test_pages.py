"""The Disputes pages over HTTP as a browser drives them: list, detail with its deadline, the evidence form
with uploads, accepting, the payment's dispute, and the Claims tab."""

from __future__ import annotations

import re

import pytest

from server.permissions import Role
from tests.disputes.helpers import EXE, PDF, PNG, dispute, settled
from tests.factories import add_member, login, new_account
from tests.payments.helpers import Merchant
from tests.web.test_forms import post_forms


@pytest.fixture
async def shop(http, base_url):
    account = await new_account(name="Dispute Pages Co")
    browser = await login(base_url, account.user["email"])
    yield Merchant(http, account), browser
    await browser.client.aclose()


async def _evidence_form(browser, dp_id: str) -> dict[str, str]:
    page = await browser.get(f"/disputes/{dp_id}")
    assert page.status_code == 200
    forms = dict(post_forms(page.text))
    assert forms[f"/disputes/{dp_id}/evidence"]["_csrf"] == browser.csrf
    return forms[f"/disputes/{dp_id}/evidence"]


async def test_the_list_and_the_detail_show_the_deadline_and_every_form_carries_csrf(shop):
    m, browser = shop
    pi = await m.paid(4_200)
    dp = await dispute(m, pi["id"], reason="product_not_received")
    listed = await browser.get("/disputes")
    assert listed.status_code == 200 and dp["id"] in listed.text and "data-deadline" in listed.text
    filtered = await browser.get("/disputes?status=won")
    assert dp["id"] not in filtered.text
    assert (await browser.get("/disputes?status=bogus")).status_code == 400
    page = await browser.get(f"/disputes/{dp['id']}")
    assert page.status_code == 200
    assert re.search(r'class="countdown big" data-deadline="[^"]+"', page.text)
    assert '<script src="/static/disputes.js" defer></script>' in page.text and "<script>" not in page.text
    assert 'enctype="multipart/form-data"' in page.text and 'name="file__shipping_documentation"' in page.text
    assert "charge.dispute.funds_withdrawn" in page.text  # the timeline
    for action, hidden in post_forms(page.text):
        assert hidden.get("_csrf") == browser.csrf, action
    payment = await browser.get(f"/payments/{pi['id']}")
    assert f'href="/disputes/{dp["id"]}"' in payment.text and "Refund</button>" not in payment.text


async def test_evidence_with_files_is_saved_then_submitted_and_won(shop):
    m, browser = shop
    pi = await m.paid(9_000)
    dp = await dispute(m, pi["id"], reason="product_not_received")
    hidden = await _evidence_form(browser, dp["id"])
    saved = await browser.client.post(f"/disputes/{dp['id']}/evidence", data={
        **hidden, "ev__shipping_tracking_number": "1Z999", "ev__uncategorized_text": "winning_evidence",
        "action": "save"}, files={"file__shipping_documentation": ("pod.pdf", PDF, "application/pdf"),
                                  "file__receipt": ("receipt.png", PNG, "image/png")})
    assert saved.status_code == 200 and "Draft saved." in saved.text, saved.text[-2000:]
    shown = (await m.get(f"/v1/disputes/{dp['id']}")).json()
    assert shown["status"] == "needs_response" and shown["evidence"]["shipping_tracking_number"] == "1Z999"
    proof = shown["evidence"]["shipping_documentation"]
    assert proof.startswith("file_") and shown["evidence"]["receipt"].startswith("file_")
    download = await browser.get(f"/disputes/files/{proof}")
    assert download.content == PDF and download.headers["content-disposition"].startswith("attachment")
    # Submitting keeps what was saved (the files come back as hidden ids).
    hidden = await _evidence_form(browser, dp["id"])
    page = (await browser.get(f"/disputes/{dp['id']}")).text
    kept = dict(re.findall(r'<input type="hidden" name="(ev__[a-z_]+)" value="([^"]*)"', page))
    assert kept["ev__shipping_documentation"] == proof
    submitted = await browser.client.post(f"/disputes/{dp['id']}/evidence", data={
        **hidden, **kept, "ev__shipping_tracking_number": "1Z999", "ev__uncategorized_text": "winning_evidence",
        "action": "submit"})
    assert submitted.status_code == 200 and "Evidence submitted" in submitted.text
    won = await settled(m, dp["id"], "won")
    assert won["evidence"]["shipping_documentation"] == proof
    page = await browser.get(f"/disputes/{dp['id']}")
    assert "status-won" in page.text and 'id="evidence-form"' not in page.text
    assert await m.balance() == pi["amount_received"] - pi["fee"] - 1500


async def test_a_renamed_executable_is_refused_on_the_form_and_nothing_is_saved(shop):
    m, browser = shop
    dp = await dispute(m, (await m.paid(1_000))["id"])
    hidden = await _evidence_form(browser, dp["id"])
    resp = await browser.client.post(f"/disputes/{dp['id']}/evidence", data={
        **hidden, "ev__customer_name": "Jenny", "action": "save"},
        files={"file__receipt": ("receipt.pdf", EXE, "application/pdf")})
    assert resp.status_code == 400 and "executable" in resp.text
    assert 'value="Jenny"' in resp.text  # the form comes back as it was typed
    assert (await m.get(f"/v1/disputes/{dp['id']}")).json()["evidence"]["customer_name"] is None


async def test_accepting_from_the_page_closes_it_as_lost(shop):
    m, browser = shop
    dp = await dispute(m, (await m.paid(1_000))["id"])
    resp = await browser.post(f"/disputes/{dp['id']}/close")
    assert resp.status_code in (200, 303)
    assert (await m.get(f"/v1/disputes/{dp['id']}")).json()["status"] == "lost"


async def test_a_role_without_manage_payments_sees_no_evidence_form(shop, base_url):
    m, _ = shop
    dp = await dispute(m, (await m.paid(1_000))["id"])
    email, _ = await add_member(m.account, Role.ANALYST)
    analyst = await login(base_url, email)
    page = await analyst.get(f"/disputes/{dp['id']}")
    assert page.status_code == 200 and 'id="evidence-form"' not in page.text
    refused = await analyst.post(f"/disputes/{dp['id']}/close")
    assert refused.status_code == 403 and "manage_payments" in refused.text
    await analyst.client.aclose()


async def test_the_claims_tab_walks_a_claim_to_a_decision(shop):
    m, browser = shop

    async def post(path: str, body: dict) -> dict:
        resp = await m.post(path, body)
        assert resp.status_code in (200, 202), resp.text
        return resp.json()

    sender, receiver = await post("/v1/customers", {"name": "S"}), await post("/v1/customers", {"name": "R"})
    await post(f"/v1/customers/{sender['id']}/credits", {"amount": 3_000, "currency": "USD", "transaction_id": "c1"})
    transfer = await post("/v1/transfers", {"from_customer": sender["id"], "to_customer": receiver["id"],
                                            "amount": 3_000, "currency": "USD"})
    claim = await post("/v1/transfer_claims", {"transfer": transfer["id"], "message": "never came"})
    tab = await browser.get("/disputes/claims")
    assert tab.status_code == 200 and claim["id"] in tab.text and 'aria-current="page">Claims' in tab.text
    page = await browser.get(f"/disputes/claims/{claim['id']}")
    assert page.status_code == 200 and "never came" in page.text
    for action, hidden in post_forms(page.text):
        assert hidden.get("_csrf") == browser.csrf, action
    replied = await browser.post(f"/disputes/claims/{claim['id']}/messages", {"author": "receiver",
                                                                             "body": "sent it Monday"})
    assert replied.status_code == 200 and "sent it Monday" in replied.text
    escalated = await browser.post(f"/disputes/claims/{claim['id']}/escalate")
    assert "held on the receiver" in escalated.text and 'id="claim-hold"' in escalated.text
    decided = await browser.post(f"/disputes/claims/{claim['id']}/decide", {"decision": "refund", "note": "ok"})
    assert decided.status_code == 200 and "Decision recorded." in decided.text
    assert (await m.get(f"/v1/transfer_claims/{claim['id']}")).json()["status"] == "refunded"
    bad = await browser.post(f"/disputes/claims/{claim['id']}/decide", {"decision": "refund"})
    assert bad.status_code == 409
