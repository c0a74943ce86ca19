"""GraphQL mirrors REST for disputes and transfer claims: the same rules, with errors as the result union's
members (never a top-level error for what a client should handle as data)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.disputes.helpers import PDF, assert_ledger_balanced, settled, upload
from tests.factories import gql
from tests.payments.helpers import Merchant, merchant

DISPUTE = """
fragment D on Dispute { id status reason amount fee isInquiry fundsWithdrawn fundsReinstated sellerProtection
  evidenceDetails { dueBy hasEvidence pastDue submissionCount }
  evidence { name kind value file { id type } } timeline { type } }
"""
ERRORS = "... on Error { __typename message code field }"
CREATE = DISPUTE + """mutation($input: CreateTestDisputeInput!) { createTestDispute(input: $input) {
  __typename ... on DisputePayload { dispute { ...D } } """ + ERRORS + " } }"
UPDATE = DISPUTE + """mutation($id: ID!, $input: UpdateDisputeInput!) { updateDispute(id: $id, input: $input) {
  __typename ... on DisputePayload { dispute { ...D } } """ + ERRORS + " } }"
CLOSE = DISPUTE + """mutation($id: ID!) { closeDispute(id: $id) {
  __typename ... on DisputePayload { dispute { ...D } } """ + ERRORS + " } }"
READ = DISPUTE + """query($id: ID!, $pi: ID!) { dispute(id: $id) { ...D }
  paymentIntent(id: $pi) { disputed dispute { id status } }
  disputes(first: 5, status: "won") { nodes { id } } }"""


@pytest.fixture
async def m(http) -> Merchant:
    return await merchant(http, name="Disputes GraphQL Co")


async def _run(m: Merchant, query: str, **variables: Any) -> dict[str, Any]:
    result = await gql(m.http, query, variables, headers=m.headers)
    assert "errors" not in result, result
    return result["data"]


async def test_a_dispute_opened_answered_and_won_over_graphql(m):
    pi = await m.paid(8_000)
    made = (await _run(m, CREATE, input={"paymentIntent": pi["id"], "reason": "product_not_received"}))
    dp = made["createTestDispute"]["dispute"]
    assert dp["status"] == "needs_response" and dp["fee"] == 1500 and dp["fundsWithdrawn"] is True
    assert dp["evidenceDetails"]["submissionCount"] == 0 and dp["evidenceDetails"]["hasEvidence"] is False

    proof = (await upload(m, PDF, "delivery.pdf")).json()["id"]
    draft = (await _run(m, UPDATE, id=dp["id"], input={"evidence": [
        {"name": "shipping_tracking_number", "value": "1Z999"},
        {"name": "shipping_documentation", "value": proof}]}))["updateDispute"]["dispute"]
    fields = {e["name"]: e for e in draft["evidence"]}
    assert draft["status"] == "needs_response" and draft["evidenceDetails"]["hasEvidence"] is True
    assert fields["shipping_documentation"]["file"] == {"id": proof, "type": "pdf"}

    submitted = (await _run(m, UPDATE, id=dp["id"], input={
        "evidence": [{"name": "uncategorized_text", "value": "winning_evidence"}], "submit": True}))
    assert submitted["updateDispute"]["dispute"]["status"] == "under_review"
    again = (await _run(m, UPDATE, id=dp["id"], input={"submit": True}))["updateDispute"]
    assert again["__typename"] == "ConflictError"  # submitted once

    await settled(m, dp["id"], "won")
    read = await _run(m, READ, id=dp["id"], pi=pi["id"])
    assert read["dispute"]["fundsReinstated"] is True and read["dispute"]["evidenceDetails"]["submissionCount"] == 1
    assert read["paymentIntent"] == {"disputed": True, "dispute": {"id": dp["id"], "status": "won"}}
    assert [n["id"] for n in read["disputes"]["nodes"]] == [dp["id"]]
    assert "charge.dispute.funds_reinstated" in [e["type"] for e in read["dispute"]["timeline"]]
    await assert_ledger_balanced(m)


async def test_dispute_errors_are_members_of_the_result(m):
    pi = await m.paid(2_000)
    bad = (await _run(m, CREATE, input={"paymentIntent": pi["id"], "reason": "bogus"}))["createTestDispute"]
    assert bad["__typename"] == "ValidationError" and bad["field"] == "reason"
    missing = (await _run(m, CLOSE, id="dp_nothing"))["closeDispute"]
    assert missing["__typename"] == "NotFoundError"
    dp = (await _run(m, CREATE, input={"paymentIntent": pi["id"]}))["createTestDispute"]["dispute"]
    twice = (await _run(m, CREATE, input={"paymentIntent": pi["id"]}))["createTestDispute"]
    assert twice["__typename"] == "ConflictError"  # a charge is disputed once
    field = (await _run(m, UPDATE, id=dp["id"], input={"evidence": [{"name": "shoe_size", "value": "9"}]}))
    assert field["updateDispute"]["__typename"] == "ValidationError"
    closed = (await _run(m, CLOSE, id=dp["id"]))["closeDispute"]["dispute"]
    assert closed["status"] == "lost" and closed["sellerProtection"] == "not_covered"
    assert (await _run(m, READ, id="dp_nothing", pi=pi["id"]))["dispute"] is None


CLAIM = """fragment C on TransferClaim { id status amount hold { party amount } decision messages { author body } }"""
OPEN = CLAIM + """mutation($input: OpenTransferClaimInput!) { openTransferClaim(input: $input) {
  __typename ... on TransferClaimPayload { transferClaim { ...C } } """ + ERRORS + " } }"
STEP = CLAIM + """mutation($id: ID!) { escalateTransferClaim(id: $id) {
  __typename ... on TransferClaimPayload { transferClaim { ...C } } """ + ERRORS + " } }"
DECIDE = CLAIM + """mutation($id: ID!, $decision: String!) { decideTransferClaim(id: $id, decision: $decision) {
  __typename ... on TransferClaimPayload { transferClaim { ...C } } """ + ERRORS + " } }"
APPEAL = CLAIM + """mutation($id: ID!, $by: String!) { appealTransferClaim(id: $id, by: $by) {
  __typename ... on TransferClaimPayload { transferClaim { ...C } } """ + ERRORS + " } }"
MESSAGE = """mutation($id: ID!) { addTransferClaimMessage(id: $id, author: "receiver", body: "sent") {
  __typename ... on ClaimMessagePayload { claimMessage { author body } } """ + ERRORS + " } }"
LIST = """query($t: String!) { transferClaims(first: 5, transfer: $t) { nodes { id status } } }"""


async def test_a_claim_walks_inquiry_claim_refund_appeal_over_graphql(m):
    async def post(path: str, body: dict) -> dict:
        resp = await m.post(path, body)
        assert resp.status_code in (200, 202), resp.text  # a credit is 202
        return resp.json()

    sender, receiver = await post("/v1/customers", {"name": "S"}), await post("/v1/customers", {"name": "R"})
    await post(f"/v1/customers/{sender['id']}/credits", {"amount": 5_000, "currency": "USD", "transaction_id": "g1"})
    transfer = await post("/v1/transfers", {"from_customer": sender["id"], "to_customer": receiver["id"],
                                            "amount": 5_000, "currency": "USD"})
    bad = (await _run(m, OPEN, input={"transfer": transfer["id"], "reason": "bogus"}))["openTransferClaim"]
    assert bad["__typename"] == "ValidationError" and bad["field"] == "reason"
    claim = (await _run(m, OPEN, input={"transfer": transfer["id"], "message": "where is it"}))[
        "openTransferClaim"]["transferClaim"]
    assert claim["status"] == "inquiry" and claim["hold"] is None
    early = (await _run(m, DECIDE, id=claim["id"], decision="refund"))["decideTransferClaim"]
    assert early["__typename"] == "ConflictError"  # an inquiry is not decided; a claim is
    reply = (await _run(m, MESSAGE, id=claim["id"]))["addTransferClaimMessage"]
    assert reply["claimMessage"] == {"author": "receiver", "body": "sent"}
    escalated = (await _run(m, STEP, id=claim["id"]))["escalateTransferClaim"]["transferClaim"]
    assert escalated["status"] == "claim" and escalated["hold"] == {"party": "receiver", "amount": 5_000}
    refunded = (await _run(m, DECIDE, id=claim["id"], decision="refund"))["decideTransferClaim"]["transferClaim"]
    assert refunded["status"] == "refunded" and refunded["decision"] == "refund"
    appealed = (await _run(m, APPEAL, id=claim["id"], by="receiver"))["appealTransferClaim"]["transferClaim"]
    assert appealed["status"] == "appeal" and appealed["hold"] == {"party": "sender", "amount": 5_000}
    denied = (await _run(m, DECIDE, id=claim["id"], decision="deny"))["decideTransferClaim"]["transferClaim"]
    assert denied["status"] == "denied" and denied["hold"] is None
    once = (await _run(m, APPEAL, id=claim["id"], by="sender"))["appealTransferClaim"]
    assert once["__typename"] == "ConflictError" and once["code"] == "transfer_claim_already_appealed"
    listed = await _run(m, LIST, t=transfer["id"])
    assert listed["transferClaims"]["nodes"] == [{"id": claim["id"], "status": "denied"}]
    await assert_ledger_balanced(m)
