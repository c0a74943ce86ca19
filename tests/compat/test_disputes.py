"""Disputes through the official Python SDK: a payment made with `pm_card_createDispute` is disputed by the
processor, the dispute arrives through its feed, and the SDK lists, retrieves, updates, submits and closes it;
the merchant balance moves as the disputes domain moves it (docs/disputes.md)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import stripe

from tests.compat.conftest import sdk
from tests.disputes.helpers import assert_ledger_balanced, dispute_entries
from tests.disputes.test_recovery import a_dispute, check_closed, check_submitted
from tests.idempotency.test_recovery import Case, fail_after_every_commit_then_retry
from tests.payments.helpers import merchant as new_merchant
from tests.support import eventually


async def _disputed_payment(client: stripe.StripeClient, amount: int) -> tuple[Any, Any]:
    """A payment confirmed with Stripe's dispute token, and its dispute once the processor's feed brought it."""
    pi = await sdk(client.payment_intents.create, params={"amount": amount, "currency": "usd", "confirm": True,
                                                           "payment_method": "pm_card_createDispute"})
    assert pi.status == "succeeded"

    async def arrived() -> Any:
        found = await sdk(client.disputes.list, params={"payment_intent": pi.id})
        return found.data[0] if found.data else None

    dispute = await eventually(arrived, message=f"the dispute of {pi.id} never arrived from the processor")
    return pi, dispute


def merchant_of(merchant) -> Any:
    """What the ledger helpers of tests/disputes read of a merchant: its account id."""
    return SimpleNamespace(id=merchant.account["id"])


async def _available(client: stripe.StripeClient) -> int:
    balance = await sdk(client.balance.retrieve)
    return sum(a.amount for a in balance.available if a.currency == "usd")


async def _net_of_charges(client: stripe.StripeClient) -> int:
    moves = await sdk(client.balance_transactions.list, params={"limit": 100})
    return sum(m.net for m in moves.data if m.type == "charge")


async def test_dispute_is_listed_retrieved_and_its_evidence_submitted(client: stripe.StripeClient, merchant):
    pi, listed = await _disputed_payment(client, 4_000)
    assert (listed.object, listed.status, listed.reason, listed.amount, listed.currency) == (
        "dispute", "needs_response", "fraudulent", 4_000, "usd")
    charged = await sdk(client.payment_intents.retrieve, pi.id, params={"expand": ["latest_charge"]})
    assert listed.payment_intent == pi.id and listed.charge == charged.latest_charge.id
    assert charged.latest_charge.disputed is True
    assert listed.is_charge_refundable is False and listed.livemode is False and isinstance(listed.created, int)
    assert listed.evidence_details.to_dict() == {"due_by": listed.evidence_details.due_by, "has_evidence": False,
                                                 "past_due": False, "submission_count": 0}
    dp = await sdk(client.disputes.retrieve, listed.id)
    assert dp.id == listed.id and dp.evidence.customer_name is None

    # The chargeback took the amount and the dispute fee from the balance at once.
    fee = dp.paydeck_fee
    assert await _available(client) == await _net_of_charges(client) - 4_000 - fee
    moves = await sdk(client.balance_transactions.list)
    assert {m.reporting_category for m in moves.data if m.type == "adjustment"} >= {"dispute_withdrawal"}

    staged = await sdk(client.disputes.update, dp.id, params={
        "evidence": {"customer_name": "Jenny Rosen", "uncategorized_text": "winning_evidence"},
        "metadata": {"case": "7"}, "submit": False})
    assert staged.status == "needs_response" and staged.evidence.customer_name == "Jenny Rosen"
    assert staged.evidence_details.has_evidence is True and staged.evidence_details.submission_count == 0
    assert staged.metadata.to_dict() == {"case": "7"}
    submitted = await sdk(client.disputes.update, dp.id, params={"evidence": {"product_description": "A mug"}})
    assert submitted.status == "under_review" and submitted.evidence_details.submission_count == 1
    assert submitted.evidence.customer_name == "Jenny Rosen" and submitted.evidence.product_description == "A mug"

    async def decided() -> Any:
        found = await sdk(client.disputes.retrieve, dp.id)
        return found if found.status == "won" else None

    await eventually(decided, message="the simulator never decided the winning evidence")
    assert await _available(client) == await _net_of_charges(client) - fee  # the amount came back, the fee kept
    try:
        await sdk(client.disputes.update, dp.id, params={"metadata": {"late": "1"}})
    except stripe.InvalidRequestError as exc:
        assert exc.http_status == 400 and exc.code == "dispute_unexpected_state"
    else:
        raise AssertionError("a decided dispute cannot change")
    await assert_ledger_balanced(merchant_of(merchant))


async def test_close_accepts_the_dispute_and_the_payment_stays_unrefundable(client: stripe.StripeClient, merchant):
    pi, dp = await _disputed_payment(client, 2_500)
    before = await _available(client)
    closed = await sdk(client.disputes.close, dp.id)
    assert closed.status == "lost" and closed.is_charge_refundable is False
    assert closed.paydeck_seller_protection == "not_covered"
    assert await _available(client) == before  # the money left when the chargeback opened: nothing more moves
    assert [kind for kind, _, amount in await dispute_entries(dp.id) if amount > 0] == [
        "dispute_withdrawal", "dispute_fee", "dispute_loss", "dispute_fee_collected"]
    try:
        await sdk(client.refunds.create, params={"payment_intent": pi.id})
    except stripe.InvalidRequestError as exc:
        assert exc.code == "charge_disputed"
    else:
        raise AssertionError("a payment whose chargeback was lost cannot be refunded as well")
    try:
        await sdk(client.disputes.close, dp.id)
    except stripe.InvalidRequestError as exc:
        assert exc.http_status == 400 and exc.code == "dispute_unexpected_state"
    else:
        raise AssertionError("a closed dispute cannot be closed again")
    await assert_ledger_balanced(merchant_of(merchant))


async def test_list_pages_and_filters_by_charge(client: stripe.StripeClient):
    first_pi, first = await _disputed_payment(client, 1_100)
    second_pi, second = await _disputed_payment(client, 1_200)
    page = await sdk(client.disputes.list, params={"limit": 1})
    assert [d.id for d in page.data] == [second.id] and page.has_more and page.url == "/v1/disputes"
    rest = await sdk(client.disputes.list, params={"limit": 1, "starting_after": second.id})
    assert [d.id for d in rest.data] == [first.id] and not rest.has_more
    newer = await sdk(client.disputes.list, params={"ending_before": first.id})
    assert [d.id for d in newer.data] == [second.id]
    all_ids = await sdk(lambda: [d.id for d in client.disputes.list(params={"limit": 1}).auto_paging_iter()])
    assert all_ids == [second.id, first.id]
    by_charge = await sdk(client.disputes.list, params={"charge": first.charge})
    assert [d.id for d in by_charge.data] == [first.id]
    mismatch = await sdk(client.disputes.list, params={"charge": first.charge, "payment_intent": second_pi.id})
    assert mismatch.data == []
    assert (await sdk(client.disputes.list, params={"charge": "ch_nope"})).data == []


async def test_dispute_events_come_in_stripes_shape(client: stripe.StripeClient):
    pi, dp = await _disputed_payment(client, 900)
    charged = await sdk(client.payment_intents.retrieve, pi.id, params={"expand": ["latest_charge"]})
    events = await sdk(client.events.list, params={"type": "charge.dispute.created"})
    assert [e.data.object.id for e in events.data] == [dp.id]
    shaped = events.data[0].data.object
    assert shaped.object == "dispute" and shaped.status == "needs_response"
    assert shaped.charge == charged.latest_charge.id  # a Stripe integration finds the charge from the event
    assert shaped.evidence_details.submission_count == 0
    withdrawn = await sdk(client.events.list, params={"type": "charge.dispute.funds_withdrawn"})
    assert withdrawn.data[0].data.object.paydeck_funds_withdrawn is True


async def test_unknown_parameters_and_missing_disputes(client: stripe.StripeClient, http, merchant):
    _, dp = await _disputed_payment(client, 700)
    for params in ({"evidence": {"colour": "red"}}, {"evidence_details": {"due_by": 1}}, {"submit": "maybe"}):
        try:
            await sdk(client.disputes.update, dp.id, params=params)
        except stripe.InvalidRequestError as exc:
            assert exc.http_status == 400
            assert exc.param == {"evidence": "evidence[colour]", "evidence_details": "evidence_details",
                                 "submit": "submit"}[next(iter(params))]
        else:
            raise AssertionError(f"{params} must be refused")
    headers = {"Authorization": f"Bearer {merchant.keys['secret_test']}"}
    unknown = await http.get("/stripe/v1/disputes", params={"status": "lost"}, headers=headers)
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "parameter_unknown"
    assert unknown.json()["error"]["param"] == "status"
    for method, path in (("GET", "dp_nope"), ("POST", "dp_nope"), ("POST", "dp_nope/close")):
        missing = await http.request(method, f"/stripe/v1/disputes/{path}", headers=headers)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing", missing.text
        assert missing.json()["error"]["type"] == "invalid_request_error"
    untouched = await sdk(client.disputes.retrieve, dp.id)
    assert untouched.evidence_details.has_evidence is False and untouched.status == "needs_response"


# The disputes domain's own exactly-once cases (tests/disputes/test_recovery.py), asked through /stripe/v1: the same
# effects, the same checks, the same harness failing after every commit and before the response.
COMPAT_CASES = {
    "submit evidence": Case(lambda dp: f"/stripe/v1/disputes/{dp['id']}",
                            lambda dp: {"evidence": {"uncategorized_text": "proof"}, "submit": True},
                            a_dispute, check_submitted),
    "close": Case(lambda dp: f"/stripe/v1/disputes/{dp['id']}/close", lambda dp: {}, a_dispute, check_closed),
}


@pytest.mark.parametrize("name", list(COMPAT_CASES))
async def test_a_failure_after_every_commit_then_a_retry_acts_once(http, name):
    m = await new_merchant(http)
    await fail_after_every_commit_then_retry(m, COMPAT_CASES[name])
    await assert_ledger_balanced(m)
