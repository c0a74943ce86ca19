"""Every path that commits under an Idempotency-Key, failed right after each of its commits and retried.

The request fails (a 500) after its N-th commit, for every N the path has, and
before its response is stored; the client retries with the same key. Exactly
one effect must exist afterwards (one charge, one refund, one capture, one
credit, ...), the retry answers like an undisturbed request, a third call
replays it, and the ledger balances.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from server import db
from server.faults import HEADER as FAULT
from server.payments.processor import processor
from tests.customers.helpers import api
from tests.payments.helpers import CARD, Merchant, merchant

MAX_COMMITS = 8  # more than any path makes; the loop stops at the first N the request never reaches


@dataclass
class Case:
    """One path: how to set it up, the request, and what exactly-once means for it."""

    path: Callable[[dict[str, Any]], str]
    body: Callable[[dict[str, Any]], dict[str, Any]]
    setup: Callable[[Merchant], Awaitable[dict[str, Any]]]
    check: Callable[[Merchant, dict[str, Any], dict[str, Any]], Awaitable[None]]
    status: int = 200


async def count(sql: str, *args: Any) -> int:
    return (await db.fetchrow(f"SELECT count(*) AS n FROM ({sql}) q", *args))["n"]


async def events(object_id: str, type_: str) -> int:
    return await count("SELECT 1 FROM events WHERE object_id = $1 AND type = $2", object_id, type_)


async def entries(reference: str, kind: str) -> int:
    return await count("SELECT 1 FROM journal_entries WHERE reference = $1 AND kind = $2", reference, kind)


async def assert_ledger_balanced(m: Merchant) -> None:
    total = await db.fetchrow("SELECT coalesce(sum(amount), 0) AS s FROM postings WHERE account_id = $1", m.id)
    assert total["s"] == 0
    owed = await db.fetchrow(
        "SELECT coalesce(sum(amount_received - fee - amount_refunded), 0) AS s FROM payment_intents "
        "WHERE account_id = $1", m.id)
    assert await m.balance() == owed["s"], "the merchant balance is what payments left after fees and refunds"


async def one_charge(pi_id: str) -> dict[str, Any]:
    charges = await processor().charges_for(pi_id)
    assert len(charges) == 1, charges
    return charges[0]


async def paid(m: Merchant) -> dict[str, Any]:
    return await m.paid(1000)


async def held(m: Merchant) -> dict[str, Any]:
    return await m.paid(1000, capture_method="manual")


async def unpaid(m: Merchant) -> dict[str, Any]:
    return await m.intent(1000)


async def nothing(m: Merchant) -> dict[str, Any]:
    return {"description": f"order-{secrets.token_hex(4)}"}


async def check_confirmed(m: Merchant, pi: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["status"] == "succeeded" and answer["amount_received"] == 1000
    assert (await one_charge(pi["id"]))["status"] == "succeeded"
    assert await entries(pi["id"], "payment") == 1 and await events(pi["id"], "payment_intent.succeeded") == 1


async def check_captured(m: Merchant, pi: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["status"] == "succeeded" and answer["amount_received"] == 600
    assert (await one_charge(pi["id"]))["amount_captured"] == 600
    assert await entries(pi["id"], "payment") == 1 and await events(pi["id"], "payment_intent.succeeded") == 1


async def check_released(m: Merchant, pi: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["status"] == "canceled" and answer["cancellation_reason"] == "requested_by_customer"
    assert (await one_charge(pi["id"]))["status"] == "canceled"
    assert await events(pi["id"], "payment_intent.canceled") == 1


async def check_canceled(m: Merchant, pi: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["status"] == "canceled" and await events(pi["id"], "payment_intent.canceled") == 1
    assert await processor().charges_for(pi["id"]) == []


async def check_refunded(m: Merchant, pi: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["status"] == "succeeded" and answer["amount"] == 400
    refunds = await db.fetch("SELECT id, status FROM refunds WHERE payment_intent_id = $1", pi["id"])
    assert [r["id"] for r in refunds] == [answer["id"]] and refunds[0]["status"] == "succeeded"
    assert (await one_charge(pi["id"]))["amount_refunded"] == 400
    assert await entries(answer["id"], "refund") == 1 and await events(answer["id"], "refund.created") == 1
    assert (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["amount_refunded"] == 400


async def check_created(m: Merchant, made: dict[str, Any], answer: dict[str, Any]) -> None:
    rows = await db.fetch("SELECT id FROM payment_intents WHERE account_id = $1 AND description = $2", m.id,
                          made["description"])
    assert [r["id"] for r in rows] == [answer["id"]]


CASES = {
    "confirm": Case(lambda pi: f"/v1/payment_intents/{pi['id']}/confirm", lambda pi: {"card": CARD}, unpaid,
                    check_confirmed),
    "capture": Case(lambda pi: f"/v1/payment_intents/{pi['id']}/capture", lambda pi: {"amount_to_capture": 600},
                    held, check_captured),
    "release": Case(lambda pi: f"/v1/payment_intents/{pi['id']}/cancel", lambda pi: {}, held, check_released),
    "cancel": Case(lambda pi: f"/v1/payment_intents/{pi['id']}/cancel", lambda pi: {}, unpaid, check_canceled),
    "refund": Case(lambda pi: "/v1/refunds", lambda pi: {"payment_intent": pi["id"], "amount": 400}, paid,
                   check_refunded),
    "create": Case(lambda made: "/v1/payment_intents",
                   lambda made: {"amount": 1000, "currency": "usd", "description": made["description"]}, nothing,
                   check_created),
}


async def fail_then_retry(m: Merchant, case: Case, fault: str) -> bool:
    """One run: the request fails at `fault`, the retry recovers. False if the request never reached it."""
    thing = await case.setup(m)
    key = f"k-{secrets.token_hex(6)}"
    path, body = case.path(thing), case.body(thing)
    failed = await m.post(path, body, headers={"Idempotency-Key": key, FAULT: fault})
    if failed.status_code == case.status:
        return False
    assert failed.status_code == 500, failed.text
    retried = await m.post(path, body, headers={"Idempotency-Key": key})
    assert retried.status_code == case.status, retried.text
    assert "idempotent-replayed" not in retried.headers  # recovered, not replayed: nothing was stored
    await case.check(m, thing, retried.json())
    again = await m.post(path, body, headers={"Idempotency-Key": key})
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == retried.json()
    await case.check(m, thing, again.json())
    return True


async def fail_after_every_commit_then_retry(m: Merchant, case: Case) -> int:
    """Fail the request right after its 1st, 2nd, … commit (each time retried with its key until the retry acts
    once), then before its response; the number of commits the path makes."""
    reached = 0
    for n in range(1, MAX_COMMITS + 1):
        if not await fail_then_retry(m, case, f"after-commit={n}"):
            break
        reached = n
    assert reached >= 1, "the path never committed under the key"
    assert reached < MAX_COMMITS, "raise MAX_COMMITS: the path commits more often than the loop tries"
    assert await fail_then_retry(m, case, "before-response")
    return reached


@pytest.mark.parametrize("name", list(CASES))
async def test_failure_after_every_commit_then_retry_acts_once(http, name):
    m = await merchant(http)
    await fail_after_every_commit_then_retry(m, CASES[name])
    await assert_ledger_balanced(m)


async def test_a_refund_failed_after_its_commit_is_not_refunded_again_over_graphql(http):
    m = await merchant(http)
    pi = await m.paid(2000)
    query = ('mutation($p: String!) { createRefund(input: {paymentIntent: $p, amount: 1500}) '
             '{ __typename ... on RefundPayload { refund { id amount status } } } }')
    headers = {**m.headers, "Idempotency-Key": "gql-refund"}
    failed = await http.post("/graphql", json={"query": query, "variables": {"p": pi["id"]}},
                             headers={**headers, FAULT: "after-commit=1"})
    assert failed.json()["errors"][0]["extensions"]["code"] == "internal_error"
    retried = await http.post("/graphql", json={"query": query, "variables": {"p": pi["id"]}}, headers=headers)
    refund = retried.json()["data"]["createRefund"]["refund"]
    assert refund["amount"] == 1500 and refund["status"] == "succeeded"
    assert [r["id"] for r in await db.fetch("SELECT id FROM refunds WHERE payment_intent_id = $1", pi["id"])] == [
        refund["id"]]
    assert (await one_charge(pi["id"]))["amount_refunded"] == 1500
    await assert_ledger_balanced(m)


async def test_credits_and_transfers_failed_after_their_commit_act_once(http):
    a = await api(http)
    sender, receiver = (await a.customer())["id"], (await a.customer())["id"]
    credit = {"amount": 700, "currency": "USD", "transaction_id": "tx-recover"}

    async def faulted(path: str, body: dict, key: str):
        return await http.post(path, json=body, headers={**a.headers, "Idempotency-Key": key,
                                                         FAULT: "after-commit=1"})

    failed = await faulted(f"/v1/customers/{sender}/credits", credit, "credit-1")
    assert failed.status_code == 500
    retried = await a.post(f"/v1/customers/{sender}/credits", credit, key="credit-1")
    assert retried.status_code == 202 and retried.json()["current_balance"] == 700, retried.text
    transfer = {"from_customer": sender, "to_customer": receiver, "amount": 300, "currency": "USD"}
    failed = await faulted("/v1/transfers", transfer, "transfer-1")
    assert failed.status_code == 500
    retried = await a.post("/v1/transfers", transfer, key="transfer-1")
    assert retried.status_code == 200, retried.text
    assert await a.balance(sender) == 400 and await a.balance(receiver) == 300
    account = a.account.account["id"]
    assert await count("SELECT 1 FROM credits WHERE account_id = $1", account) == 1
    assert await count("SELECT 1 FROM transfers WHERE account_id = $1", account) == 1
    total = await db.fetchrow("SELECT sum(amount) AS s FROM postings WHERE account_id = $1", account)
    assert total["s"] == 0


async def test_without_the_test_setting_the_fault_header_does_nothing(http):
    from server.settings import get_settings

    m = await merchant(http)
    settings = get_settings()
    settings.test_faults = False
    try:
        resp = await m.post("/v1/payment_intents", {"amount": 100, "currency": "usd"},
                            headers={FAULT: "after-commit=1"})
    finally:
        settings.test_faults = True
    assert resp.status_code == 200
