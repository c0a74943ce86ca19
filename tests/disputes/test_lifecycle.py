"""Disputes from creation to outcome: the money of each step, balanced, with its events."""

from __future__ import annotations

import pytest

from tests.disputes.helpers import (
    PDF,
    assert_analytics_agree,
    assert_ledger_balanced,
    dispute_entries,
    disputed,
    events_of,
    get,
    purpose_balances,
    settled,
    upload,
)
from tests.payments.helpers import merchant
from tests.support import eventually

FEE = 1500


@pytest.fixture
async def m(http):
    return await merchant(http)


async def test_the_test_helper_opens_a_chargeback_that_takes_amount_and_fee(m):
    pi, dp = await disputed(m, 10_000, reason="product_not_received")
    before = pi["amount_received"] - pi["fee"]
    assert dp["status"] == "needs_response" and dp["reason"] == "product_not_received"
    assert dp["amount"] == 10_000 and dp["fee"] == FEE and dp["funds_withdrawn"] is True
    assert dp["payment_intent"] == pi["id"] and dp["evidence_details"]["submission_count"] == 0
    assert dp["evidence_details"]["has_evidence"] is False and dp["evidence_details"]["past_due"] is False
    assert await m.balance() == before - 10_000 - FEE
    assert (await purpose_balances(m))["dispute_hold"] == 10_000 + FEE
    assert await dispute_entries(dp["id"]) == [
        ("dispute_withdrawal", "merchant_balance", -10_000), ("dispute_withdrawal", "dispute_hold", 10_000),
        ("dispute_fee", "merchant_balance", -FEE), ("dispute_fee", "dispute_hold", FEE)]
    assert await events_of(dp["id"]) == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    shown = (await m.get(f"/v1/payment_intents/{pi['id']}")).json()
    assert shown["disputed"] is True
    await assert_ledger_balanced(m)


async def test_winning_evidence_wins_and_the_amount_comes_back_without_the_fee(m):
    pi, dp = await disputed(m, 10_000)
    before = pi["amount_received"] - pi["fee"]
    resp = await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"uncategorized_text": "winning_evidence"},
                                                    "submit": True})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "under_review"
    assert resp.json()["evidence_details"]["submission_count"] == 1
    won = await settled(m, dp["id"], "won")
    assert won["funds_reinstated"] is True and won["closed"] is not None
    assert await m.balance() == before - FEE
    balances = await purpose_balances(m)
    assert balances["dispute_hold"] == 0 and balances["fees"] == pi["fee"] + FEE
    assert [e for e in await dispute_entries(dp["id"]) if e[0] in ("dispute_reinstatement", "dispute_fee_collected")] \
        == [("dispute_reinstatement", "dispute_hold", -10_000), ("dispute_reinstatement", "merchant_balance", 10_000),
            ("dispute_fee_collected", "dispute_hold", -FEE), ("dispute_fee_collected", "fees", FEE)]
    assert await events_of(dp["id"]) == ["charge.dispute.created", "charge.dispute.funds_withdrawn",
                                         "charge.dispute.updated", "charge.dispute.funds_reinstated",
                                         "charge.dispute.closed"]
    await assert_ledger_balanced(m)
    await assert_analytics_agree(m)


async def test_losing_evidence_loses_and_the_amount_goes_to_the_cardholder(m):
    pi, dp = await disputed(m, 10_000, reason="fraudulent")
    before = pi["amount_received"] - pi["fee"]
    await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"product_description": "losing_evidence"},
                                             "submit": True})
    lost = await settled(m, dp["id"], "lost")
    assert lost["funds_reinstated"] is False and lost["seller_protection"] == "not_covered"
    assert "fraudulent" in lost["seller_protection_reason"]
    assert await m.balance() == before - 10_000 - FEE
    balances = await purpose_balances(m)
    assert balances["dispute_hold"] == 0
    assert balances["processor_clearing"] == -pi["amount_received"] + 10_000
    await assert_ledger_balanced(m)
    await assert_analytics_agree(m)


async def test_accepting_closes_it_as_lost_without_protection(m):
    pi, dp = await disputed(m, 5_000, reason="product_not_received")
    resp = await m.post(f"/v1/disputes/{dp['id']}/close")
    assert resp.status_code == 200, resp.text
    closed = resp.json()
    assert closed["status"] == "lost" and closed["seller_protection"] == "not_covered"
    assert "accepted" in closed["seller_protection_reason"]
    assert await m.balance() == pi["amount_received"] - pi["fee"] - 5_000 - FEE
    again = await m.post(f"/v1/disputes/{dp['id']}/close")
    assert again.status_code == 409 and again.json()["error"]["code"] == "dispute_unexpected_state"
    await assert_ledger_balanced(m)


async def test_evidence_is_a_draft_until_submitted_and_is_submitted_once(m):
    _, dp = await disputed(m)
    draft = await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"customer_name": "Jenny Rosen",
                                                                   "shipping_carrier": "UPS"}})
    assert draft.status_code == 200
    body = draft.json()
    assert body["status"] == "needs_response" and body["evidence_details"]["has_evidence"] is True
    assert body["evidence"]["customer_name"] == "Jenny Rosen" and body["evidence_details"]["submission_count"] == 0
    cleared = await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"shipping_carrier": ""}})
    assert cleared.json()["evidence"]["shipping_carrier"] is None
    assert cleared.json()["evidence"]["customer_name"] == "Jenny Rosen"
    submitted = await m.post(f"/v1/disputes/{dp['id']}", {"submit": True})
    assert submitted.json()["status"] == "under_review"
    twice = await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"customer_name": "x"}, "submit": True})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "dispute_unexpected_state"


@pytest.mark.parametrize(("body", "param"), [
    ({"evidence": {"no_such_field": "x"}}, "evidence"),
    ({"evidence": {"customer_name": 5}}, "evidence[customer_name]"),
    ({"evidence": {"customer_name": "x" * 20_001}}, "evidence[customer_name]"),
    ({"evidence": {"receipt": "not-a-file"}}, "evidence[receipt]"),
    ({"evidence": {"receipt": "file_doesnotexist"}}, "evidence[receipt]"),
    ({"submit": True}, "evidence"),
    ({"metadata": {"a": True}}, "metadata[a]"),
])
async def test_bad_evidence_is_a_400_naming_the_field(m, body, param):
    _, dp = await disputed(m)
    resp = await m.post(f"/v1/disputes/{dp['id']}", body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param


async def test_a_disputed_payment_cannot_be_refunded(m):
    pi, _ = await disputed(m)
    resp = await m.post("/v1/refunds", {"payment_intent": pi["id"]})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "charge_disputed"


async def test_a_charge_is_disputed_once(m):
    pi, dp = await disputed(m)
    again = await m.post(f"/v1/test_helpers/payment_intents/{pi['id']}/dispute", {})
    assert again.status_code == 409 and again.json()["error"]["code"] == "charge_already_disputed"


async def test_the_test_helper_refuses_live_mode_and_unpaid_payments(m, http):
    pi = await m.intent(1000)
    resp = await m.post(f"/v1/test_helpers/payment_intents/{pi['id']}/dispute", {})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "payment_intent_unexpected_state"
    live = {"Authorization": f"Bearer {m.account.keys['secret_live']}"}
    resp = await http.post(f"/v1/test_helpers/payment_intents/{pi['id']}/dispute", json={}, headers=live)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "test_mode_only"
    paid = await m.paid(1000)
    resp = await m.post(f"/v1/test_helpers/payment_intents/{paid['id']}/dispute", {"reason": "because"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "reason"


async def test_the_dispute_card_is_disputed_through_the_processor_feed(m):
    pi = await m.paid(4_000, number="4000000000000259")
    assert pi["status"] == "succeeded"

    async def opened():
        found = (await m.get("/v1/disputes", payment_intent=pi["id"])).json()["data"]
        return found[0] if found else None

    dp = await eventually(opened, message="the dispute card's dispute never arrived from the processor")
    assert dp["reason"] == "fraudulent" and dp["status"] == "needs_response" and dp["amount"] == 4_000
    assert (await get(m, dp["id"]))["funds_withdrawn"] is True
    await assert_ledger_balanced(m)


async def test_an_inquiry_moves_no_money_and_escalates_when_its_evidence_loses(m):
    pi, dp = await disputed(m, 8_000, inquiry=True, reason="unrecognized")
    assert dp["status"] == "warning_needs_response" and dp["is_inquiry"] and not dp["funds_withdrawn"]
    net = pi["amount_received"] - pi["fee"]
    assert await m.balance() == net
    await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"uncategorized_text": "losing_evidence"},
                                             "submit": True})
    escalated = await settled(m, dp["id"], "needs_response")
    assert escalated["funds_withdrawn"] and not escalated["is_inquiry"]
    assert await m.balance() == net - 8_000 - FEE
    await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"uncategorized_text": "winning_evidence"},
                                             "submit": True})
    await settled(m, dp["id"], "won")
    assert await m.balance() == net - FEE
    await assert_ledger_balanced(m)
    await assert_analytics_agree(m)


async def test_an_inquiry_answered_well_closes_without_money(m):
    pi, dp = await disputed(m, 3_000, inquiry=True)
    await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"uncategorized_text": "winning_evidence"},
                                             "submit": True})
    closed = await settled(m, dp["id"], "warning_closed")
    assert not closed["funds_withdrawn"] and await m.balance() == pi["amount_received"] - pi["fee"]
    assert "charge.dispute.closed" in await events_of(dp["id"])


async def test_the_dispute_fee_is_the_accounts_pricing(m, http):
    from server import db
    await db.execute("UPDATE accounts SET dispute_fee_minor = 999 WHERE id = $1", m.id)
    _, dp = await disputed(m, 2_000)
    assert dp["fee"] == 999


async def test_a_partial_dispute_holds_only_its_amount(m):
    pi, dp = await disputed(m, 10_000, amount=2_500)
    assert dp["amount"] == 2_500
    assert await m.balance() == pi["amount_received"] - pi["fee"] - 2_500 - FEE
    too_much = await m.paid(1000)
    resp = await m.post(f"/v1/test_helpers/payment_intents/{too_much['id']}/dispute", {"amount": 1001})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "amount"


async def test_evidence_files_are_attached_by_id(m):
    _, dp = await disputed(m)
    made = await upload(m, PDF)
    assert made.status_code == 200, made.text
    resp = await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"receipt": made.json()["id"]}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["evidence"]["receipt"] == made.json()["id"]


async def test_the_list_pages_with_its_cursor(m):
    _, older = await disputed(m, 1_000)
    _, newer = await disputed(m, 2_000)
    first = (await m.get("/v1/disputes", limit=1)).json()
    assert [d["id"] for d in first["data"]] == [newer["id"]] and first["has_more"]
    resp = await m.get("/v1/disputes", limit=1, cursor=first["next_cursor"])
    assert resp.status_code == 200, resp.text
    assert [d["id"] for d in resp.json()["data"]] == [older["id"]] and not resp.json()["has_more"]
