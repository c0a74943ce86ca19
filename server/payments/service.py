"""Payment intents: create, confirm through the processor, capture, cancel, list.

Statuses and the only transitions allowed (anything else is 409 naming both):

    requires_payment_method --confirm--> processing --> succeeded | requires_capture | failed
    requires_payment_method --cancel--> canceled
    requires_capture --capture--> succeeded ;  --cancel / expiry--> canceled

Confirmation commits `processing` (with a fresh processor idempotency key)
before the processor is called, in its own transaction even when the request
runs inside an idempotency transaction: if the process dies after the
processor charged, the reconciler finds the payment in `processing` and asks
the processor with that key. The outcome is applied only if the payment is
still `processing` with the same key, so it is applied once.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from server import db
from server.context import RequestContext, Scope
from server.errors import Conflict, InvalidRequest, NotFound, PaydeckError
from server.events.service import emit
from server.ids import new_id
from server.ledger.money import currency_code
from server.pagination import Page
from server.payments import accounting, clock, queries, receipts
from server.payments.cards import DECLINE_MESSAGES, clean_card
from server.payments.processor import ProcessorError, ProcessorTimeout, processor
from server.payments.serial import intent_json
from server.permissions import CONFIRM_WITH_CLIENT_SECRET, read, write
from server.settings import get_settings

MAX_AMOUNT = 99_999_999_999
ACTIONS = {  # action -> (statuses it may start from, the status it leads to)
    "confirm": ({"requires_payment_method"}, "processing"),
    "capture": ({"requires_capture"}, "succeeded"),
    "cancel": ({"requires_payment_method", "requires_capture"}, "canceled"),
}


class ProcessorUnavailable(PaydeckError):
    status = 502
    type = "api_error"
    code = "processor_unavailable"


def check_transition(pi: dict[str, Any], action: str) -> None:
    allowed, target = ACTIONS[action]
    if pi["status"] not in allowed:
        reason = f" ({pi['cancellation_reason']})" if pi["cancellation_reason"] else ""
        raise Conflict(f"cannot {action} payment intent {pi['id']}: its status is '{pi['status']}'{reason} and "
                       f"'{target}' can only be reached from {' or '.join(repr(s) for s in sorted(allowed))}",
                       code="payment_intent_unexpected_state",
                       extra={"status": pi["status"], "target_status": target})


@contextlib.asynccontextmanager
async def own_transaction() -> AsyncIterator[None]:
    """A transaction that commits on its own, even inside a request-wide (idempotency) transaction."""
    engine = db.engine()
    token = engine.current_transaction.set(None)
    try:
        async with db.transaction():
            yield
    finally:
        engine.current_transaction.reset(token)


async def _emit(ctx: RequestContext | None, scope: Scope, type_: str, pi: dict[str, Any]) -> None:
    await emit(ctx, scope, type_, "payment_intent", pi["id"], intent_json(pi, with_secret=False))


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 50:
        raise InvalidRequest("metadata must be an object of at most 50 keys", param="metadata")
    clean = {}
    for k, v in value.items():
        if not isinstance(k, str) or not 1 <= len(k) <= 40 or not isinstance(v, str | int | float) or len(str(v)) > 500:
            raise InvalidRequest("metadata keys are 1-40 characters and values at most 500", param="metadata")
        clean[k] = str(v)
    return clean


async def create(ctx: RequestContext, amount: Any, currency: Any, *, customer: str | None = None,
                 description: str | None = None, metadata: Any = None,
                 capture_method: str | None = None) -> dict[str, Any]:
    scope = ctx.require(write("payment_intents"))
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
        raise InvalidRequest(f"amount must be a positive integer in minor units, at most {MAX_AMOUNT}",
                             param="amount")
    code = currency_code(currency)
    method = capture_method or "automatic"
    if method not in ("automatic", "manual"):
        raise InvalidRequest("capture_method must be automatic or manual", param="capture_method")
    if description is not None and len(description) > 1000:
        raise InvalidRequest("description is at most 1000 characters", param="description")
    if customer is not None:
        found = await db.fetchrow("SELECT id FROM customers WHERE account_id = $1 AND livemode = $2 AND id = $3",
                                  scope.account_id, scope.livemode, customer)
        if found is None:
            raise NotFound(f"no such customer: '{customer}'", param="customer")
    now = clock.now()
    pi_id = new_id("pi")
    row = {"id": pi_id, "account_id": scope.account_id, "livemode": scope.livemode,
           "status": "requires_payment_method", "amount": amount, "currency": code, "capture_method": method,
           "customer_id": customer, "description": description or "", "metadata": _metadata(metadata),
           "client_secret": f"{pi_id}_secret_{secrets.token_urlsafe(18)}", "created": now, "updated": now}
    async with db.transaction():
        pi = await queries.insert(row)
        await _emit(ctx, scope, "payment_intent.created", pi)
    return pi


async def get(ctx: RequestContext, pi_id: str) -> dict[str, Any]:
    scope = ctx.require(read("payment_intents"))
    pi = await queries.get(scope, pi_id)
    if pi is None:
        raise NotFound(f"no such payment intent: '{pi_id}'", param="id")
    return pi


async def list_intents(ctx: RequestContext, limit: int, after: str | None, **filters: Any) -> Page[dict[str, Any]]:
    scope = ctx.require(read("payment_intents"))
    if filters.get("status") is not None and filters["status"] not in (
            "requires_payment_method", "processing", "requires_capture", "succeeded", "failed", "canceled"):
        raise InvalidRequest(f"unknown status '{filters['status']}'", param="status")
    rows = await queries.list_intents(scope, limit, after, **filters)
    return Page.from_rows(rows, limit)


async def confirm(ctx: RequestContext, pi_id: str, card: Any, client_secret: str | None = None) -> dict[str, Any]:
    publishable = ctx.principal.is_key and ctx.principal.key_kind == "publishable"
    scope = ctx.require(CONFIRM_WITH_CLIENT_SECRET if publishable else write("payment_intents"))
    if not isinstance(card, dict):
        raise InvalidRequest("card is required: number, exp_month, exp_year, cvc", param="card")
    details = clean_card(card)
    key = f"{pi_id}_{secrets.token_hex(6)}"
    async with own_transaction():
        pi = await queries.get(scope, pi_id, lock=True)
        if pi is None:
            raise NotFound(f"no such payment intent: '{pi_id}'", param="id")
        if publishable and not hmac.compare_digest(str(client_secret or ""), pi["client_secret"]):
            raise InvalidRequest("the client_secret does not match this payment intent", param="client_secret",
                                 code="client_secret_invalid")
        check_transition(pi, "confirm")
        pi = await queries.update(pi_id, {"status": "processing", "processor_key": key,
                                          "processing_since": clock.now(), "updated": clock.now()})
        await _emit(ctx, scope, "payment_intent.processing", pi)
    try:
        charge = await processor().charge(key, amount=pi["amount"], currency=pi["currency"], card=details,
                                          capture=pi["capture_method"] == "automatic", reference=pi_id)
    except ProcessorTimeout:
        return pi  # stays processing; the reconciler asks the processor later
    except ProcessorError:
        charge = {"status": "declined", "decline_code": "processing_error", "card": None}
    return await apply_charge(ctx, scope, pi_id, key, charge)


async def apply_charge(ctx: RequestContext | None, scope: Scope, pi_id: str, key: str,
                       charge: dict[str, Any]) -> dict[str, Any]:
    """Record the processor's answer once: only while the intent is processing with this key."""
    async with db.transaction():
        pi = await queries.get(scope, pi_id, lock=True)
        assert pi is not None
        if pi["status"] != "processing" or pi["processor_key"] != key:
            return pi
        now = clock.now()
        changes: dict[str, Any] = {"updated": now, "processor_charge_id": charge.get("id")}
        if card := charge.get("card"):
            changes.update(card_brand=card["brand"], card_last4=card["last4"], card_exp_month=card["exp_month"],
                           card_exp_year=card["exp_year"], card_country=card["country"],
                           card_fingerprint=card["fingerprint"])
        if charge["status"] == "succeeded":
            pi = await _succeed(ctx, scope, pi, charge, changes)
        elif charge["status"] == "authorized":
            changes.update(status="requires_capture", amount_capturable=pi["amount"],
                           capture_before=now + timedelta(days=get_settings().authorization_days))
            pi = await queries.update(pi_id, changes)
            await _emit(ctx, scope, "payment_intent.amount_capturable_updated", pi)
        else:
            code = charge.get("decline_code") or "generic_decline"
            changes.update(status="failed", failure_code=code,
                           failure_message=DECLINE_MESSAGES.get(code, "The card was declined."))
            pi = await queries.update(pi_id, changes)
            await _emit(ctx, scope, "payment_intent.payment_failed", pi)
        return pi


async def _succeed(ctx: RequestContext | None, scope: Scope, pi: dict[str, Any], charge: dict[str, Any],
                   changes: dict[str, Any]) -> dict[str, Any]:
    gross = int(charge["amount_captured"])
    pricing = await queries.account_pricing(scope.account_id)
    fee = await accounting.record_payment(scope, pi["id"], gross, pi["currency"], pricing)
    changes.update(status="succeeded", amount_received=gross, amount_capturable=0, fee=fee,
                   disputed=bool(charge.get("disputed")))
    pi = await queries.update(pi["id"], changes)
    await receipts.create(scope, pi["id"])
    await _emit(ctx, scope, "payment_intent.succeeded", pi)
    if pi["disputed"]:
        await _emit(ctx, scope, "dispute.created", pi)
    return pi


async def capture(ctx: RequestContext, pi_id: str, amount_to_capture: Any = None) -> dict[str, Any]:
    scope = ctx.require(write("payment_intents"))
    await expire_if_due(scope, pi_id)
    async with db.transaction():
        pi = await queries.get(scope, pi_id, lock=True)
        if pi is None:
            raise NotFound(f"no such payment intent: '{pi_id}'", param="id")
        check_transition(pi, "capture")
        amount = pi["amount_capturable"] if amount_to_capture is None else amount_to_capture
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= pi["amount_capturable"]:
            raise InvalidRequest(f"amount_to_capture must be between 1 and {pi['amount_capturable']}",
                                 param="amount_to_capture")
        try:
            charge = await processor().capture(f"{pi_id}_capture", pi["processor_charge_id"], amount)
        except (ProcessorTimeout, ProcessorError) as exc:
            raise ProcessorUnavailable(f"the processor did not capture: {exc}; retry the capture") from None
        return await _succeed(ctx, scope, pi, charge, {"updated": clock.now()})


async def cancel(ctx: RequestContext, pi_id: str, reason: str | None = None) -> dict[str, Any]:
    scope = ctx.require(write("payment_intents"))
    await expire_if_due(scope, pi_id)
    async with db.transaction():
        pi = await queries.get(scope, pi_id, lock=True)
        if pi is None:
            raise NotFound(f"no such payment intent: '{pi_id}'", param="id")
        check_transition(pi, "cancel")
        return await _cancel(ctx, scope, pi, reason or "requested_by_customer")


async def _cancel(ctx: RequestContext | None, scope: Scope, pi: dict[str, Any], reason: str) -> dict[str, Any]:
    if pi["status"] == "requires_capture":
        try:
            await processor().cancel(f"{pi['id']}_cancel", pi["processor_charge_id"])
        except (ProcessorTimeout, ProcessorError) as exc:
            raise ProcessorUnavailable(f"the processor did not release the authorization: {exc}") from None
    pi = await queries.update(pi["id"], {"status": "canceled", "cancellation_reason": reason, "amount_capturable": 0,
                                         "updated": clock.now()})
    await _emit(ctx, scope, "payment_intent.canceled", pi)
    return pi


async def expire_if_due(scope: Scope, pi_id: str, now: datetime | None = None) -> bool:
    """Cancel an authorization past its capture deadline; True if it did."""
    async with own_transaction():
        pi = await queries.get(scope, pi_id, lock=True)
        if pi is None or pi["status"] != "requires_capture" or pi["capture_before"] > (now or clock.now()):
            return False
        await _cancel(None, scope, pi, "expired")
        return True
