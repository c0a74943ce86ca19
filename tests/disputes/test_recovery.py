"""Dispute and claim paths failed right after each of their commits, then retried with the same key.

The same harness as tests/idempotency/test_recovery.py: the request fails (a 500) after its N-th commit,
for every N the path has, and before its response; the retry with the same Idempotency-Key must end with
exactly one effect (one submission, one loss, one dispute, one decision...), a balanced ledger, and the
processor told once.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from server import db
from server.faults import HEADER as FAULT
from server.payments.processor import processor
from tests.disputes.helpers import PDF, assert_ledger_balanced, dispute, dispute_entries, events_of, upload
from tests.idempotency.test_recovery import Case, fail_after_every_commit_then_retry
from tests.payments.helpers import Merchant, merchant
from tests.support import eventually


async def a_dispute(m: Merchant) -> dict[str, Any]:
    pi = await m.paid(3_000)
    return await dispute(m, pi["id"], reason="product_not_received")


async def _processor_status(dp_id: str) -> str:
    row = await db.fetchrow("SELECT processor_dispute_id FROM disputes WHERE id = $1", dp_id)
    resp = await processor().client().get(f"/v1/disputes/{row['processor_dispute_id']}")
    return resp.json()["status"]


async def _told(dp_id: str) -> bool:
    row = await db.fetchrow("SELECT processor_pending FROM disputes WHERE id = $1", dp_id)
    return row["processor_pending"] is None


async def check_submitted(m: Merchant, dp: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["status"] == "under_review" and answer["evidence_details"]["submission_count"] == 1
    assert (await events_of(dp["id"])).count("charge.dispute.updated") == 1
    await eventually(lambda: _told(dp["id"]), message="the processor was never told of the evidence")
    assert await _processor_status(dp["id"]) == "under_review"


async def check_closed(m: Merchant, dp: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["status"] == "lost"
    assert [k for k, p, _ in await dispute_entries(dp["id"]) if p == "dispute_hold"].count("dispute_loss") == 1
    assert (await events_of(dp["id"])).count("charge.dispute.closed") == 1
    await eventually(lambda: _told(dp["id"]), message="the processor was never told of the acceptance")
    assert await _processor_status(dp["id"]) == "lost"


async def _paid(m: Merchant) -> dict[str, Any]:
    return await m.paid(3_000)


async def check_opened(m: Merchant, pi: dict[str, Any], answer: dict[str, Any]) -> None:
    rows = await db.fetch("SELECT id FROM disputes WHERE payment_intent_id = $1", pi["id"])
    assert [r["id"] for r in rows] == [answer["id"]]
    assert [k for k, p, _ in await dispute_entries(answer["id"]) if p == "dispute_hold"].count(
        "dispute_withdrawal") == 1


async def _claim(m: Merchant, escalate: bool = False) -> dict[str, Any]:
    async def post(path: str, body: dict) -> dict:
        resp = await m.post(path, body)
        assert resp.status_code in (200, 202), resp.text
        return resp.json()

    sender, receiver = await post("/v1/customers", {"name": "S"}), await post("/v1/customers", {"name": "R"})
    await post(f"/v1/customers/{sender['id']}/credits", {"amount": 5_000, "currency": "USD",
                                                         "transaction_id": f"t-{secrets.token_hex(4)}"})
    transfer = await post("/v1/transfers", {"from_customer": sender["id"], "to_customer": receiver["id"],
                                            "amount": 2_000, "currency": "USD"})
    claim = await post("/v1/transfer_claims", {"transfer": transfer["id"]})
    if escalate:
        await post(f"/v1/transfer_claims/{claim['id']}/escalate", {})
    return {**claim, "sender_id": sender["id"], "receiver_id": receiver["id"], "transfer_id": transfer["id"]}


async def _escalated(m: Merchant) -> dict[str, Any]:
    return await _claim(m, escalate=True)


async def _refunded(m: Merchant) -> dict[str, Any]:
    claim = await _claim(m, escalate=True)
    assert (await m.post(f"/v1/transfer_claims/{claim['id']}/decide", {"decision": "refund"})).status_code == 200
    return claim


async def _claim_entries(claim_id: str, kind: str) -> int:
    row = await db.fetchrow("SELECT count(*) AS n FROM journal_entries WHERE reference = $1 AND kind = $2",
                            claim_id, kind)
    return int(row["n"])


async def _wallet(customer_id: str) -> int:
    row = await db.fetchrow("SELECT coalesce(sum(balance), 0) AS b FROM ledger_accounts WHERE owner_id = $1 "
                            "AND purpose = 'customer_wallet'", customer_id)
    return int(row["b"])


async def check_escalated(m: Merchant, claim: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["status"] == "claim" and answer["hold"]["amount"] == 2_000
    assert await _claim_entries(claim["id"], "claim_hold") == 1 and await _wallet(claim["receiver_id"]) == 0


async def check_decided(m: Merchant, claim: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["status"] == "refunded"
    assert await _claim_entries(claim["id"], "claim_refund") == 1
    assert await _wallet(claim["sender_id"]) == 5_000 and await _wallet(claim["receiver_id"]) == 0
    assert (await events_of(claim["id"])).count("transfer_claim.decided") == 1


async def check_appealed(m: Merchant, claim: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["status"] == "appeal" and answer["hold"]["party"] == "sender"
    assert await _claim_entries(claim["id"], "claim_hold") == 2  # the claim's hold, then the appeal's
    assert await _wallet(claim["sender_id"]) == 3_000


async def check_claim_opened(m: Merchant, claim: dict[str, Any], answer: dict[str, Any]) -> None:
    rows = await db.fetch("SELECT id FROM transfer_claims WHERE transfer_id = $1", claim["transfer_id"])
    assert [r["id"] for r in rows] == [answer["id"]] and len(answer["messages"]) == 1


async def _transfer(m: Merchant) -> dict[str, Any]:
    claim = await _claim(m)  # a claim on one transfer, then a second transfer of the same parties to claim
    resp = await m.post("/v1/transfers", {"from_customer": claim["sender_id"], "to_customer": claim["receiver_id"],
                                          "amount": 500, "currency": "USD"})
    return {**claim, "transfer_id": resp.json()["id"]}


CASES = {
    "submit evidence": Case(lambda dp: f"/v1/disputes/{dp['id']}",
                            lambda dp: {"evidence": {"uncategorized_text": "proof"}, "submit": True},
                            a_dispute, check_submitted),
    "accept": Case(lambda dp: f"/v1/disputes/{dp['id']}/close", lambda dp: {}, a_dispute, check_closed),
    "test dispute": Case(lambda pi: f"/v1/test_helpers/payment_intents/{pi['id']}/dispute", lambda pi: {},
                         _paid, check_opened),
    "open claim": Case(lambda c: "/v1/transfer_claims", lambda c: {"transfer": c["transfer_id"], "message": "hi"},
                       _transfer, check_claim_opened),
    "escalate claim": Case(lambda c: f"/v1/transfer_claims/{c['id']}/escalate", lambda c: {}, _claim,
                           check_escalated),
    "decide claim": Case(lambda c: f"/v1/transfer_claims/{c['id']}/decide", lambda c: {"decision": "refund"},
                         _escalated, check_decided),
    "appeal claim": Case(lambda c: f"/v1/transfer_claims/{c['id']}/appeal", lambda c: {"by": "receiver"},
                         _refunded, check_appealed),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_failure_after_every_commit_then_retry_acts_once(http, name):
    m = await merchant(http)
    await fail_after_every_commit_then_retry(m, CASES[name])
    await assert_ledger_balanced(m)


async def test_an_upload_failed_after_its_commit_makes_one_file(http):
    m = await merchant(http)
    key = {"Idempotency-Key": "upload-fault"}
    failed = await upload(m, PDF, headers={**key, FAULT: "after-commit=1"})
    assert failed.status_code == 500
    retried = await upload(m, PDF, headers=key)
    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers
    rows = await db.fetch("SELECT id FROM files WHERE account_id = $1", m.id)
    assert [r["id"] for r in rows] == [retried.json()["id"]]
