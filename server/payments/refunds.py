"""Refunds: partial or full, never more than what remains, also when two race.

The payment intent's row is locked while the remainder is checked and the
refund reserved (amount_refunded grows in the same transaction, and a check
constraint keeps it within amount_received), so of two refunds racing for the
remainder exactly one gets it. The ledger posting (the merchant balance may go
below zero: the fee is not returned), the receipt and the events commit with
the reservation, and so does the refund's binding to the request's
Idempotency-Key: a retry of a request that failed after this commit finds the
refund and sends that one instead of refunding again. Then the processor is
asked, outside any transaction, with the refund id as its idempotency key. A
timeout leaves the refund `pending` and the reconciler retries it with the
same key; a refusal reverses the reservation.
"""

from __future__ import annotations

from typing import Any

from server import db
from server.context import RequestContext, Scope
from server.errors import Conflict, InvalidRequest, NotFound
from server.events.service import emit
from server.idempotency import effects
from server.ids import new_id
from server.ledger import money
from server.payments import accounting, clock, queries, receipts
from server.payments.processor import ProcessorError, ProcessorTimeout, processor
from server.payments.serial import intent_json, refund_json
from server.permissions import read, write

REASONS = ("duplicate", "fraudulent", "requested_by_customer")


async def create(ctx: RequestContext, pi_id: Any, amount: Any = None, reason: str | None = None) -> dict[str, Any]:
    scope = ctx.require(write("refunds"))
    if not isinstance(pi_id, str) or not pi_id:
        raise InvalidRequest("payment_intent is required", param="payment_intent")
    requested = money.optional_amount(amount)
    if reason is not None and reason not in REASONS:
        raise InvalidRequest(f"reason must be one of {', '.join(REASONS)}", param="reason")
    step = effects.step("refund", pi_id)
    async with db.transaction():
        done = await effects.recall(step)
        if done is not None:  # this request reserved the refund before: send that one
            refund = await queries.get_refund(scope, done["id"])
            assert refund is not None
        else:
            refund = await _reserve(ctx, scope, pi_id, requested, reason)
            await effects.bind(step, "refund", refund["id"])
        pi = await queries.get(scope, pi_id)
        assert pi is not None
    if refund["status"] != "pending":
        return refund
    return await send(ctx, scope, refund, pi["processor_charge_id"])


async def _reserve(ctx: RequestContext, scope: Scope, pi_id: str, requested: int | None,
                   reason: str | None) -> dict[str, Any]:
    """Phase 1, in the caller's transaction: the refund, its reservation on the intent, its posting."""
    pi = await queries.get(scope, pi_id, lock=True)
    if pi is None:
        raise NotFound(f"no such payment intent: '{pi_id}'", param="payment_intent")
    if pi["status"] != "succeeded":
        raise Conflict(f"cannot refund payment intent {pi_id}: its status is '{pi['status']}'; "
                       "only 'succeeded' payments can be refunded", code="payment_intent_unexpected_state",
                       extra={"status": pi["status"]})
    remaining = pi["amount_received"] - pi["amount_refunded"]
    value = remaining if requested is None else requested
    if remaining == 0 or value > remaining:
        raise InvalidRequest(f"the refund amount ({value}) exceeds what remains to refund ({remaining})",
                             param="amount", code="amount_too_large")
    now = clock.now()
    refund = await queries.insert_refund({
        "id": new_id("re"), "account_id": scope.account_id, "livemode": scope.livemode,
        "payment_intent_id": pi_id, "amount": value, "currency": pi["currency"], "reason": reason,
        "status": "pending", "created": now})
    pi = await queries.update(pi_id, {"amount_refunded": pi["amount_refunded"] + value, "updated": now})
    await accounting.record_refund(scope, refund["id"], value, pi["currency"])
    await receipts.create(scope, pi_id, refund["id"])
    await emit(ctx, scope, "refund.created", "refund", refund["id"], refund_json(refund))
    await emit(ctx, scope, "charge.refunded", "payment_intent", pi_id, intent_json(pi, with_secret=False))
    return refund


async def send(ctx: RequestContext | None, scope: Scope, refund: dict[str, Any], charge_id: str) -> dict[str, Any]:
    """Ask the processor (idempotently, keyed by the refund id) and record its answer."""
    db.forbid_transaction("a processor call")
    try:
        answer = await processor().refund(refund["id"], charge_id, refund["amount"])
    except ProcessorTimeout:
        return refund
    except ProcessorError:
        answer = None
    async with db.transaction():
        current = await db.fetchrow("SELECT * FROM refunds WHERE id = $1 FOR UPDATE", refund["id"])
        if current is None or current["status"] != "pending":
            return current or refund
        if answer is not None:
            refund = await queries.update_refund(refund["id"], "succeeded", answer["id"])
            await emit(ctx, scope, "refund.updated", "refund", refund["id"], refund_json(refund))
            return refund
        refund = await queries.update_refund(refund["id"], "failed", None)
        pi = await queries.get(scope, refund["payment_intent_id"], lock=True)
        assert pi is not None
        pi = await queries.update(pi["id"], {"amount_refunded": pi["amount_refunded"] - refund["amount"],
                                             "updated": clock.now()})
        await accounting.reverse_refund(scope, refund["id"], refund["amount"], refund["currency"])
        await receipts.invalidate(scope, pi["id"])
        await emit(ctx, scope, "refund.failed", "refund", refund["id"], refund_json(refund))
        await emit(ctx, scope, "payment_intent.refund_reversed", "payment_intent", pi["id"],
                   intent_json(pi, with_secret=False))
        return refund


async def get(ctx: RequestContext, refund_id: str) -> dict[str, Any]:
    scope = ctx.require(read("refunds"))
    row = await queries.get_refund(scope, refund_id)
    if row is None:
        raise NotFound(f"no such refund: '{refund_id}'", param="id")
    return row


async def of_intents(ctx: RequestContext, pi_ids: list[str]) -> list[list[dict[str, Any]]]:
    """The refunds of each payment, oldest first, in the order asked: a payment's nested field."""
    scope = ctx.require(read("refunds"))
    found: dict[str, list[dict[str, Any]]] = {pi_id: [] for pi_id in pi_ids}
    for refund in await queries.refunds_of_intents(scope, pi_ids):
        found[refund["payment_intent_id"]].append(refund)
    return [found[pi_id] for pi_id in pi_ids]
