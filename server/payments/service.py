"""Payment intents: create, confirm through the processor, capture, cancel, list.

Statuses and the only transitions allowed (anything else is 409 naming both):

    requires_payment_method --confirm--> processing --> succeeded | requires_capture | failed
    requires_payment_method --cancel--> canceled
    requires_capture --capture--> succeeded ;  --cancel / expiry--> canceled

The processor is never called inside a transaction or under a row lock.
Every call to it takes two phases around the call:

1. one short transaction commits what is being asked: confirm moves the
   intent to `processing` with a fresh processor key; capture and release
   record a `pending_action` (with the amount to capture). While that is so,
   every other action on the intent gets 409;
2. the processor is called with no connection held, with a key that makes a
   repeated call return the first answer;
3. one short transaction applies the answer, only if the intent is still as
   phase 1 left it, so it is applied once.

Phase 1 also binds the intent to the request's Idempotency-Key
(server/idempotency/effects.py): a retry of a request that failed or died
after it resumes at step 2 instead of acting again. Without a retry, the
reconciler asks the processor again with the same key (server/payments/reconcile.py).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

from server import clock, db, validation
from server.context import RequestContext, Scope
from server.customers import queries as customer_queries
from server.errors import Conflict, ErrorCode, InvalidRequest, NotFound, PaydeckError
from server.events.service import emit
from server.fraud import service as fraud
from server.fraud.engine import Assessment
from server.fraud.inputs import Buyer
from server.idempotency import effects
from server.ids import new_id
from server.ledger import money
from server.ledger import service as ledger
from server.pagination import Page
from server.payments import accounting, queries, receipts
from server.payments.cards import DECLINE_MESSAGES, clean_card
from server.payments.processor import Charge, ProcessorError, ProcessorTimeout, processor
from server.payments.rows import STATUSES, PaymentIntent, Pricing
from server.payments.serial import intent_json
from server.permissions import CONFIRM_WITH_CLIENT_SECRET, read, write
from server.settings import get_settings

log = logging.getLogger(__name__)

ACTIONS = {  # action -> (statuses it may start from, the status it leads to)
    "confirm": ({"requires_payment_method"}, "processing"),
    "capture": ({"requires_capture"}, "succeeded"),
    "cancel": ({"requires_payment_method", "requires_capture"}, "canceled"),
}
CANCELLATION_REASONS = ("abandoned", "duplicate", "fraudulent", "requested_by_customer")
NOTHING_PENDING: dict[str, object] = {"pending_action": None, "pending_amount": None, "pending_reason": None}
MAX_DESCRIPTION = 1000


class ProcessorUnavailable(PaydeckError):
    status = 502
    type = "api_error"
    code = ErrorCode.PROCESSOR_UNAVAILABLE


def check_transition(pi: PaymentIntent, action: str) -> None:
    allowed, target = ACTIONS[action]
    if pi.status not in allowed:
        reason = f" ({pi.cancellation_reason})" if pi.cancellation_reason else ""
        raise Conflict(f"cannot {action} payment intent {pi.id}: its status is '{pi.status}'{reason} and "
                       f"'{target}' can only be reached from {' or '.join(repr(s) for s in sorted(allowed))}",
                       code=ErrorCode.PAYMENT_INTENT_UNEXPECTED_STATE,
                       extra={"status": pi.status, "target_status": target})
    if pi.pending_action:
        raise Conflict(f"cannot {action} payment intent {pi.id}: a {pi.pending_action} is in progress "
                       "with the processor; retry shortly", code=ErrorCode.PAYMENT_INTENT_ACTION_IN_PROGRESS,
                       extra={"status": pi.status, "pending_action": pi.pending_action})


async def _emit(ctx: RequestContext | None, scope: Scope, type_: str, pi: PaymentIntent) -> None:
    await emit(ctx, scope, type_, "payment_intent", pi.id, intent_json(pi, with_secret=False))


async def _locked(scope: Scope, pi_id: str, param: str = "id") -> PaymentIntent:
    pi = await queries.get(scope, pi_id, lock=True)
    if pi is None:
        raise NotFound(f"no such payment intent: '{pi_id}'", param=param)
    return pi


async def create(ctx: RequestContext, amount: object, currency: object, *, customer: str | None = None,
                 description: object = None, metadata: object = None,
                 capture_method: str | None = None) -> PaymentIntent:
    """A new intent; `amount`, `currency`, `description` and `metadata` are checked here (untrusted)."""
    scope = ctx.require(write("payment_intents"))
    value = money.amount(amount)
    code = money.currency_code(currency)
    method = capture_method or "automatic"
    if method not in ("automatic", "manual"):
        raise InvalidRequest("capture_method must be automatic or manual", param="capture_method")
    text = validation.text(description, "description", MAX_DESCRIPTION)
    pairs = validation.metadata(metadata)
    if customer is not None and await customer_queries.get_customer(scope, customer) is None:
        raise NotFound(f"no such customer: '{customer}'", param="customer")
    now = clock.PAYMENTS.now()
    pi_id = new_id("pi")
    new = PaymentIntent(
        id=pi_id, account_id=scope.account_id, livemode=scope.livemode, status="requires_payment_method",
        amount=value, currency=code, capture_method=method, amount_capturable=0, amount_received=0,
        amount_refunded=0, fee=0, customer_id=customer, description=text, metadata=pairs,
        client_secret=f"{pi_id}_secret_{secrets.token_urlsafe(18)}", card_brand=None, card_last4=None,
        card_exp_month=None, card_exp_year=None, card_country=None, card_fingerprint=None, processor_key=None,
        processor_charge_id=None, failure_code=None, failure_message=None, disputed=False,
        cancellation_reason=None, processing_since=None, pending_action=None, pending_amount=None,
        pending_reason=None, capture_before=None, created=now, updated=now)
    step = effects.step("create_payment_intent")
    async with db.transaction():
        if done := await effects.recall(step):
            return await _locked(scope, done["id"])
        pi = await queries.insert(new)
        await _emit(ctx, scope, "payment_intent.created", pi)
        await effects.bind(step, "payment_intent", pi_id)
    return pi


async def get(ctx: RequestContext, pi_id: str) -> PaymentIntent:
    scope = ctx.require(read("payment_intents"))
    pi = await queries.get(scope, pi_id)
    if pi is None:
        raise NotFound(f"no such payment intent: '{pi_id}'", param="id")
    return pi


async def update(ctx: RequestContext, pi_id: str, *, description: object = None,
                 metadata: object = None) -> PaymentIntent:
    """Change the description and metadata (merged; a null value removes a key); nothing about the money."""
    scope = ctx.require(write("payment_intents"))
    values: dict[str, object] = {}
    if description is not None:
        values["description"] = validation.text(description, "description", MAX_DESCRIPTION)
    async with db.transaction():
        pi = await _locked(scope, pi_id)
        if metadata is not None:
            values["metadata"] = validation.merged_metadata(pi.metadata, metadata)
        if not values:
            return pi
        values["updated"] = clock.PAYMENTS.now()
        return await queries.update(pi_id, values)


async def list_intents(ctx: RequestContext, limit: int, after: str | None, *, status: str | None = None,
                       customer: str | None = None, created_gte: datetime | None = None,
                       created_lte: datetime | None = None, amount_gte: object = None,
                       amount_lte: object = None) -> Page[PaymentIntent]:
    scope = ctx.require(read("payment_intents"))
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"unknown status '{status}'", param="status")
    rows = await queries.list_intents(
        scope, limit, after, status=status, customer=customer, created_gte=created_gte, created_lte=created_lte,
        amount_gte=money.amount_filter(amount_gte, "amount_gte"),
        amount_lte=money.amount_filter(amount_lte, "amount_lte"))
    return Page.from_rows(rows, limit)


async def confirm(ctx: RequestContext, pi_id: str, card: Mapping[str, object] | None,
                  client_secret: str | None = None, buyer: Buyer | None = None) -> PaymentIntent:
    """Charge the card: `card` is untrusted (number, exp_month, exp_year, cvc), checked by `clean_card`.

    Radar decides first (server/fraud), with no transaction held: a blocked payment fails in the
    transaction that would have moved it to `processing`, so the processor is never asked."""
    publishable = ctx.principal.is_key and ctx.principal.key_kind == "publishable"
    scope = ctx.require(CONFIRM_WITH_CLIENT_SECRET if publishable else write("payment_intents"))
    if not isinstance(card, Mapping):
        raise InvalidRequest("card is required: number, exp_month, exp_year, cvc", param="card")
    details = clean_card(card)
    buyer = buyer or Buyer()
    if publishable and buyer.ip_address is None:  # from a browser: the buyer's own address
        buyer = Buyer(ctx.ip_address, buyer.email, buyer.user_agent)
    risk = await _assess(scope, pi_id, details["number"], buyer)
    step = effects.step("confirm", pi_id)
    async with db.transaction():
        done = await effects.recall(step)
        pi = await _locked(scope, pi_id)
        if publishable and not hmac.compare_digest(str(client_secret or ""), pi.client_secret):
            raise InvalidRequest("the client_secret does not match this payment intent", param="client_secret",
                                 code=ErrorCode.CLIENT_SECRET_INVALID)
        if done is not None:  # this request committed `processing` before: resume with its key
            key = done["processor_key"]
        else:
            check_transition(pi, "confirm")
            if risk is not None:
                await fraud.record(ctx, scope, risk)
            if risk is not None and risk.outcome == "block":
                pi = await _blocked(ctx, scope, pi, details, risk)
                await effects.bind(step, "payment_intent", pi_id, processor_key=None)
                return pi
            key, now = f"{pi_id}_{secrets.token_hex(6)}", clock.PAYMENTS.now()
            pi = await queries.update(pi_id, {"status": "processing", "processor_key": key,
                                              "processing_since": now, "updated": now,
                                              "risk": risk.summary() if risk else None})
            await _emit(ctx, scope, "payment_intent.processing", pi)
            await effects.bind(step, "payment_intent", pi_id, processor_key=key)
    if pi.status != "processing" or pi.processor_key != key:
        return pi  # settled already (by the first attempt or the reconciler)
    try:
        charge = await processor().charge(key, amount=pi.amount, currency=pi.currency, card=details,
                                          capture=pi.capture_method == "automatic", reference=pi_id)
    except ProcessorTimeout:
        return pi  # stays processing; the reconciler asks the processor later
    except ProcessorError:
        charge = Charge(status="declined", decline_code="processing_error")
    return await apply_charge(ctx, scope, pi_id, key, charge)


async def _assess(scope: Scope, pi_id: str, number: str, buyer: Buyer) -> Assessment | None:
    """Radar's decision on a payment still to be confirmed (None for one that is not, or with risk off)."""
    pi = await queries.get(scope, pi_id)
    if pi is None or pi.status != "requires_payment_method":
        return None  # a retry resuming its first attempt, or a 404/409 the transaction gives
    return await fraud.evaluate_payment(scope, pi_id, amount=pi.amount, currency=pi.currency,
                                        customer=pi.customer_id, card_number=number, ip_address=buyer.ip_address,
                                        email=buyer.email, user_agent=buyer.user_agent)


async def _blocked(ctx: RequestContext, scope: Scope, pi: PaymentIntent, details: Mapping[str, object],
                   risk: Assessment) -> PaymentIntent:
    """Fail a payment Radar blocked: never sent to the processor, nothing posted."""
    number, card = str(details["number"]), risk.subject.card
    rule = risk.decision.rule
    pi = await queries.update(pi.id, {
        "status": "failed", "failure_code": "fraudulent", "updated": clock.PAYMENTS.now(), "risk": risk.summary(),
        "failure_message": f"Blocked by Radar (risk {risk.score.score}, {risk.score.level})"
                           + (f": {rule.text}" if rule else ""),
        "card_brand": card.brand if card else None, "card_last4": number[-4:],
        "card_exp_month": details["exp_month"], "card_exp_year": details["exp_year"],
        "card_country": card.country if card else None, "card_fingerprint": card.fingerprint if card else None})
    await _emit(ctx, scope, "payment_intent.payment_failed", pi)
    return pi


async def apply_charge(ctx: RequestContext | None, scope: Scope, pi_id: str, key: str,
                       charge: Charge) -> PaymentIntent:
    """Record the processor's answer once: only while the intent is processing with this key."""
    return await ledger.with_known_accounts(lambda: _apply_charge(ctx, scope, pi_id, key, charge))


async def _apply_charge(ctx: RequestContext | None, scope: Scope, pi_id: str, key: str,
                        charge: Charge) -> PaymentIntent:
    async with db.transaction():
        found = await queries.locked_with_pricing(scope, pi_id)
        assert found is not None
        pi, pricing = found
        if pi.status != "processing" or pi.processor_key != key:
            return pi
        now = clock.PAYMENTS.now()
        changes: dict[str, object] = {"updated": now, "processor_charge_id": charge.id}
        if card := charge.card:
            changes.update(card_brand=card.brand, card_last4=card.last4, card_exp_month=card.exp_month,
                           card_exp_year=card.exp_year, card_country=card.country, card_fingerprint=card.fingerprint)
        if charge.status == "succeeded":
            pi = await _succeed(ctx, scope, pi, pricing, charge, changes)
        elif charge.status == "authorized":
            changes.update(status="requires_capture", amount_capturable=pi.amount,
                           capture_before=now + timedelta(days=get_settings().authorization_days))
            pi = await queries.update(pi_id, changes)
            await _emit(ctx, scope, "payment_intent.amount_capturable_updated", pi)
            await fraud.open_review(ctx, scope, "payment_intent", pi.id, pi.risk)
        else:
            code = charge.decline_code or "generic_decline"
            changes.update(status="failed", failure_code=code,
                           failure_message=DECLINE_MESSAGES.get(code, "The card was declined."))
            pi = await queries.update(pi_id, changes)
            await _emit(ctx, scope, "payment_intent.payment_failed", pi)
        return pi


async def _succeed(ctx: RequestContext | None, scope: Scope, pi: PaymentIntent, pricing: Pricing, charge: Charge,
                   changes: dict[str, object]) -> PaymentIntent:
    """Post the captured money (with remembered ledger account ids: run inside `ledger.with_known_accounts`),
    mark the intent succeeded, issue its receipt and say so."""
    gross = charge.amount_captured
    fee = await accounting.record_payment(scope, pi.id, gross, pi.currency, pricing)
    changes.update(status="succeeded", amount_received=gross, amount_capturable=0, fee=fee)
    pi = await queries.update(pi.id, changes)
    await receipts.create(scope, pi.id)
    await _emit(ctx, scope, "payment_intent.succeeded", pi)
    await fraud.open_review(ctx, scope, "payment_intent", pi.id, pi.risk)
    return pi  # a dispute comes later, from the processor's dispute feed (server/disputes)


async def capture(ctx: RequestContext, pi_id: str, amount_to_capture: object = None) -> PaymentIntent:
    """Capture an authorization, all of it or `amount_to_capture` (untrusted, checked here)."""
    scope = ctx.require(write("payment_intents"))
    requested = money.optional_amount(amount_to_capture, "amount_to_capture")
    await expire_if_due(scope, pi_id)
    step = effects.step("capture", pi_id)
    async with db.transaction():
        done = await effects.recall(step)
        pi = await _locked(scope, pi_id)
        if done is not None and pi.pending_action == "capture":
            pass  # this request asked for the capture before: ask the processor again, same key
        elif done is not None and pi.status == "succeeded":
            return pi
        else:
            check_transition(pi, "capture")
            value = pi.amount_capturable if requested is None else requested
            if value > pi.amount_capturable:
                raise InvalidRequest(f"amount_to_capture must be between 1 and {pi.amount_capturable}",
                                     param="amount_to_capture")
            pi = await _begin(pi, "capture", amount=value)
            await effects.bind(step, "payment_intent", pi_id, action="capture")
    return await ask_processor(ctx, scope, pi)


async def cancel(ctx: RequestContext, pi_id: str, reason: str | None = None) -> PaymentIntent:
    scope = ctx.require(write("payment_intents"))
    if reason is not None and reason not in CANCELLATION_REASONS:
        raise InvalidRequest(f"cancellation_reason must be one of {', '.join(CANCELLATION_REASONS)}",
                             param="cancellation_reason")
    await expire_if_due(scope, pi_id)
    step = effects.step("cancel", pi_id)
    async with db.transaction():
        done = await effects.recall(step)
        pi = await _locked(scope, pi_id)
        if done is not None and pi.pending_action == "cancel":
            pass  # this request asked for the release before: ask the processor again, same key
        elif done is not None and pi.status == "canceled":
            return pi
        else:
            check_transition(pi, "cancel")
            if pi.status == "requires_payment_method":  # nothing at the processor: one phase
                pi = await _canceled(ctx, scope, pi, reason or "requested_by_customer")
                await effects.bind(step, "payment_intent", pi_id, action="cancel")
                return pi
            pi = await _begin(pi, "cancel", reason=reason or "requested_by_customer")
            await effects.bind(step, "payment_intent", pi_id, action="cancel")
    return await ask_processor(ctx, scope, pi)


async def _begin(pi: PaymentIntent, action: str, amount: int | None = None,
                 reason: str | None = None) -> PaymentIntent:
    """Phase 1 of a capture or release: record it as pending, to commit before the processor is asked."""
    now = clock.PAYMENTS.now()
    return await queries.update(pi.id, {"pending_action": action, "pending_amount": amount,
                                        "pending_reason": reason, "processing_since": now, "updated": now})


async def ask_processor(ctx: RequestContext | None, scope: Scope, pi: PaymentIntent) -> PaymentIntent:
    """Phase 2: ask the processor for the intent's pending capture or release, then apply the answer once.

    No answer leaves it pending (the reconciler or a retry asks again with the
    same key) and is a 502; a refusal ends it, changes nothing, and is a 502.
    """
    db.forbid_transaction("a processor call")
    action, charge_id = pi.pending_action, pi.processor_charge_id
    assert action is not None and charge_id is not None, "only an authorized intent has a pending action"
    try:
        if action == "capture":
            assert pi.pending_amount is not None
            answer = await processor().capture(f"{pi.id}_capture", charge_id, pi.pending_amount)
        else:
            answer = await processor().cancel(f"{pi.id}_cancel", charge_id)
    except ProcessorTimeout as exc:
        raise ProcessorUnavailable(f"the processor did not answer the {action} ({exc}); it completes later: "
                                   "retry with the same Idempotency-Key, or retrieve the payment intent") from None
    except ProcessorError as exc:
        await _abandon(scope, pi.id, action)
        raise ProcessorUnavailable(f"the processor refused the {action}: {exc}") from None
    return await _apply(ctx, scope, pi.id, action, answer)


async def _apply(ctx: RequestContext | None, scope: Scope, pi_id: str, action: str,
                 answer: Charge) -> PaymentIntent:
    """Phase 3: apply the processor's answer, once: only while the action is still pending."""
    return await ledger.with_known_accounts(lambda: _apply_once(ctx, scope, pi_id, action, answer))


async def _apply_once(ctx: RequestContext | None, scope: Scope, pi_id: str, action: str,
                      answer: Charge) -> PaymentIntent:
    async with db.transaction():
        found = await queries.locked_with_pricing(scope, pi_id)
        if found is None:
            raise NotFound(f"no such payment intent: '{pi_id}'", param="id")
        pi, pricing = found
        if pi.pending_action != action:
            return pi
        if action == "capture":
            return await _succeed(ctx, scope, pi, pricing, answer,
                                  {"updated": clock.PAYMENTS.now(), **NOTHING_PENDING})
        return await _canceled(ctx, scope, pi, pi.pending_reason or "requested_by_customer")


async def _abandon(scope: Scope, pi_id: str, action: str) -> None:
    async with db.transaction():
        pi = await _locked(scope, pi_id)
        if pi.pending_action == action:
            await queries.update(pi_id, {**NOTHING_PENDING, "updated": clock.PAYMENTS.now()})


async def _canceled(ctx: RequestContext | None, scope: Scope, pi: PaymentIntent, reason: str) -> PaymentIntent:
    pi = await queries.update(pi.id, {"status": "canceled", "cancellation_reason": reason, "amount_capturable": 0,
                                      "updated": clock.PAYMENTS.now(), **NOTHING_PENDING})
    await _emit(ctx, scope, "payment_intent.canceled", pi)
    return pi


async def expire_if_due(scope: Scope, pi_id: str, now: datetime | None = None) -> bool:
    """Release an authorization past its capture deadline; True if it did."""
    async with db.transaction():
        pi = await queries.get(scope, pi_id, lock=True)
        if (pi is None or pi.status != "requires_capture" or pi.pending_action or pi.capture_before is None
                or pi.capture_before > (now or clock.PAYMENTS.now())):
            return False
        pi = await _begin(pi, "cancel", reason="expired")
    return await finish_pending(scope, pi)


async def finish_pending(scope: Scope, pi: PaymentIntent) -> bool:
    """Ask the processor again for a pending capture or release (expiry, reconciler); True once applied."""
    try:
        done = await ask_processor(None, scope, pi)
    except ProcessorUnavailable as exc:
        log.warning("%s of %s not finished: %s", pi.pending_action, pi.id, exc.message)
        return False
    return not done.pending_action
