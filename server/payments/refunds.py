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

from server import clock, db
from server.context import RequestContext, Scope
from server.errors import Conflict, ErrorCode, InvalidRequest, NotFound
from server.events.service import emit
from server.idempotency import effects
from server.ids import new_id
from server.ledger import money
from server.pagination import Page
from server.payments import accounting, queries, receipts
from server.payments.processor import ProcessorError, ProcessorTimeout, processor
from server.payments.rows import Refund
from server.payments.serial import intent_json, refund_json
from server.permissions import read, write

REASONS = ("duplicate", "fraudulent", "requested_by_customer")


async def create(ctx: RequestContext, pi_id: object, amount: object = None, reason: str | None = None) -> Refund:
    """Refund `amount` (default: what remains) of a payment; `pi_id` and `amount` are untrusted, checked here."""
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
            found = await queries.get_refund(scope, done["id"])
            assert found is not None
            refund = found
        else:
            refund = await _reserve(ctx, scope, pi_id, requested, reason)
            await effects.bind(step, "refund", refund.id)
        pi = await queries.get(scope, pi_id)
        assert pi is not None and pi.processor_charge_id is not None, "a succeeded intent has its charge"
    if refund.status != "pending":
        return refund
    return await send(ctx, scope, refund, pi.processor_charge_id)


async def _reserve(ctx: RequestContext, scope: Scope, pi_id: str, requested: int | None,
                   reason: str | None) -> Refund:
    """Phase 1, in the caller's transaction: the refund, its reservation on the intent, its posting."""
    pi = await queries.get(scope, pi_id, lock=True)
    if pi is None:
        raise NotFound(f"no such payment intent: '{pi_id}'", param="payment_intent")
    if pi.status != "succeeded":
        raise Conflict(f"cannot refund payment intent {pi_id}: its status is '{pi.status}'; "
                       "only 'succeeded' payments can be refunded", code=ErrorCode.PAYMENT_INTENT_UNEXPECTED_STATE,
                       extra={"status": pi.status})
    if pi.disputed:  # a chargeback returns the money through the dispute: a refund would return it twice
        raise Conflict(f"cannot refund payment intent {pi_id}: it has a chargeback; the dispute decides whether "
                       "the money goes back to the cardholder", code=ErrorCode.CHARGE_DISPUTED)
    remaining = pi.refundable
    value = remaining if requested is None else requested
    if remaining == 0 or value > remaining:
        raise InvalidRequest(f"the refund amount ({value}) exceeds what remains to refund ({remaining})",
                             param="amount", code=ErrorCode.AMOUNT_TOO_LARGE)
    now = clock.PAYMENTS.now()
    refund = await queries.insert_refund(Refund(
        id=new_id("re"), account_id=scope.account_id, livemode=scope.livemode, payment_intent_id=pi_id,
        amount=value, currency=pi.currency, reason=reason, status="pending", processor_refund_id=None, created=now))
    pi = await queries.update(pi_id, {"amount_refunded": pi.amount_refunded + value, "updated": now})
    await accounting.record_refund(scope, refund.id, value, pi.currency)
    await receipts.create(scope, pi_id, refund.id)
    await emit(ctx, scope, "refund.created", "refund", refund.id, refund_json(refund))
    await emit(ctx, scope, "charge.refunded", "payment_intent", pi_id, intent_json(pi, with_secret=False))
    return refund


async def send(ctx: RequestContext | None, scope: Scope, refund: Refund, charge_id: str) -> Refund:
    """Ask the processor (idempotently, keyed by the refund id) and record its answer."""
    db.forbid_transaction("a processor call")
    try:
        answer = await processor().refund(refund.id, charge_id, refund.amount)
    except ProcessorTimeout:
        return refund
    except ProcessorError:
        answer = None
    async with db.transaction():
        current = await queries.get_refund(scope, refund.id, lock=True)
        if current is None or current.status != "pending":
            return current or refund
        if answer is not None:
            refund = await queries.update_refund(refund.id, "succeeded", answer.id)
            await emit(ctx, scope, "refund.updated", "refund", refund.id, refund_json(refund))
            return refund
        return await _refused(ctx, scope, refund)


async def _refused(ctx: RequestContext | None, scope: Scope, refund: Refund) -> Refund:
    """The processor refused a refund we reserved: give the amount back to the intent and the merchant."""
    refund = await queries.update_refund(refund.id, "failed", None)
    pi = await queries.get(scope, refund.payment_intent_id, lock=True)
    assert pi is not None
    pi = await queries.update(pi.id, {"amount_refunded": pi.amount_refunded - refund.amount,
                                      "updated": clock.PAYMENTS.now()})
    await accounting.reverse_refund(scope, refund.id, refund.amount, refund.currency)
    await receipts.invalidate(scope, pi.id)
    await emit(ctx, scope, "refund.failed", "refund", refund.id, refund_json(refund))
    await emit(ctx, scope, "payment_intent.refund_reversed", "payment_intent", pi.id,
               intent_json(pi, with_secret=False))
    return refund


async def get(ctx: RequestContext, refund_id: str) -> Refund:
    scope = ctx.require(read("refunds"))
    row = await queries.get_refund(scope, refund_id)
    if row is None:
        raise NotFound(f"no such refund: '{refund_id}'", param="id")
    return row


async def of_intents(ctx: RequestContext, pi_ids: list[str]) -> list[list[Refund]]:
    """The refunds of each payment, oldest first, in the order asked: a payment's nested field."""
    scope = ctx.require(read("refunds"))
    found: dict[str, list[Refund]] = {pi_id: [] for pi_id in pi_ids}
    for refund in await queries.refunds_of_intents(scope, pi_ids):
        found[refund.payment_intent_id].append(refund)
    return [found[pi_id] for pi_id in pi_ids]


async def list_refunds(ctx: RequestContext, limit: int, after: str | None,
                       payment_intent: str | None = None) -> Page[Refund]:
    """Refunds newest first, of one payment intent or all."""
    scope = ctx.require(read("refunds"))
    return Page.from_rows(await queries.list_refunds(scope, limit, after, payment_intent), limit)
