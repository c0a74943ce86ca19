"""Disputes of card payments: created from what the processor reports, answered with evidence, decided.

The processor is the party that opens and decides disputes. Its feed
(`feed.py`, polled by a job) and the test helper both hand what it reports to
`ingest()`, which applies each report once (the dispute row is unique per
processor dispute, and remembers the last feed number it applied).

    inquiry:    warning_needs_response --evidence--> warning_under_review --> warning_closed
                                       --close / past due--> warning_closed
                any open inquiry --the processor reports needs_response or lost--> needs_response (escalated)
    chargeback: needs_response --evidence--> under_review --> won | lost
                               --close (accept) / past due--> lost

Money (`accounting.py`) moves when a chargeback opens (or an inquiry escalates) and when it closes;
an inquiry moves none. A lost dispute is covered by seller protection when `evidence.protection`
says so.

Evidence submission and acceptance are told to the processor in two phases, like every processor
call: the change commits with `processor_pending` (and the request's Idempotency-Key), the processor
is asked with no transaction open, with a key that makes the call idempotent, and `processor_pending`
is cleared once it answered. A call that does not get through is repeated by the sync job.

Every change locks the payment first, then the dispute: the feed, requests and the deadline job
take them in that order, so they never wait on each other in a cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from server import clock, db, validation
from server.context import RequestContext, Scope
from server.disputes import accounting, evidence, queries
from server.disputes.rows import Dispute
from server.disputes.serial import dispute_json
from server.errors import Conflict, ErrorCode, InvalidRequest, NotFound, PaydeckError
from server.events.service import emit
from server.files import service as files
from server.idempotency import effects
from server.ids import new_id
from server.ledger import money
from server.pagination import Page
from server.payments import queries as payment_queries
from server.payments.processor import ProcessorDispute, ProcessorError, ProcessorTimeout, processor
from server.payments.rows import PaymentIntent
from server.permissions import read, write

log = logging.getLogger(__name__)

RESPONSE_DAYS = 7  # evidence is due a week after a dispute opens or escalates (networks give 7 to 21 days)
FIRST_REMINDER, LAST_REMINDER = timedelta(hours=72), timedelta(hours=24)  # before due_by
TIMELINE_LIMIT = 200


class NotReady(Exception):
    """The disputed payment's charge is still being applied here: the report must wait for it."""


class ProcessorUnavailable(PaydeckError):
    status = 502
    type = "api_error"
    code = ErrorCode.PROCESSOR_UNAVAILABLE


@dataclass
class Locked:
    """A dispute and its payment, both row-locked in the usual order."""

    pi: PaymentIntent
    dispute: Dispute


def _now() -> datetime:
    return clock.PAYMENTS.now()


async def _emit(ctx: RequestContext | None, scope: Scope, type_: str, dispute: Dispute) -> None:
    await emit(ctx, scope, type_, "dispute", dispute.id, dispute_json(dispute))


async def _lock(scope: Scope, dispute_id: str, param: str = "id") -> Locked:
    """Lock the dispute's payment, then the dispute (must run in a transaction)."""
    seen = await queries.get(scope, dispute_id)
    if seen is None:
        raise NotFound(f"no such dispute: '{dispute_id}'", param=param)
    pi = await payment_queries.get(scope, seen.payment_intent_id, lock=True)
    dispute = await queries.get(scope, dispute_id, lock=True)
    assert pi is not None and dispute is not None
    return Locked(pi, dispute)


# --- reading --------------------------------------------------------------------------------------


async def get(ctx: RequestContext, dispute_id: str) -> Dispute:
    scope = ctx.require(read("disputes"))
    found = await queries.get(scope, dispute_id)
    if found is None:
        raise NotFound(f"no such dispute: '{dispute_id}'", param="id")
    return found


async def list_disputes(ctx: RequestContext, limit: int, after: str | None, *, status: str | None = None,
                        payment_intent: str | None = None) -> Page[Dispute]:
    scope = ctx.require(read("disputes"))
    if status is not None and status not in evidence.STATUSES:
        raise InvalidRequest(f"unknown status '{status[:40]}': one of {', '.join(evidence.STATUSES)}",
                             param="status")
    rows = await queries.list_disputes(scope, after, limit, status=status,
                                       payment_intent=payment_intent)
    return Page.from_rows(rows, limit)


async def of_intents(ctx: RequestContext, pi_ids: list[str]) -> list[Dispute | None]:
    """The dispute of each payment (or None), in the order asked: a payment's nested field."""
    found = {d.payment_intent_id: d for d in await queries.of_intents(ctx.require(read("disputes")), pi_ids)}
    return [found.get(pi_id) for pi_id in pi_ids]


async def intent_of_charge(ctx: RequestContext, charge_id: str) -> str | None:
    """The disputed payment whose processor charge is `charge_id` (None when no dispute of the scope is on it)."""
    return await queries.disputed_intent_of_charge(ctx.require(read("disputes")), charge_id)


async def timelines(ctx: RequestContext, dispute_ids: list[str]) -> list[list[queries.DisputeEvent]]:
    """Each dispute's events in commit order, in the order asked: a dispute's nested field."""
    scope = ctx.require(read("disputes"))
    found: dict[str, list[queries.DisputeEvent]] = {d: [] for d in dispute_ids}
    for event in await queries.timeline_events(scope, dispute_ids, TIMELINE_LIMIT):
        found[event.dispute_id].append(event)
    return [found[d] for d in dispute_ids]


# --- what the processor reports -------------------------------------------------------------------


async def ingest(ctx: RequestContext | None, reported: ProcessorDispute,
                 step: effects.Step | None = None) -> Dispute | None:
    """Apply one report of the processor about a dispute, once. None if it concerns no payment of ours.

    Raises NotReady while the payment's own charge (or capture) is still being applied: the processor
    can report a dispute before we have heard its answer to the charge."""
    found = await queries.intent_scope(reported.reference or "")
    if found is None:
        log.warning("the processor reports dispute %s on %s, which is no payment here", reported.id,
                    reported.reference)
        return None
    scope = Scope(found.account_id, found.livemode)
    async with db.transaction():
        if step is not None and (done := await effects.recall(step)):
            return await queries.get(scope, done["id"])
        pi = await payment_queries.get(scope, found.id, lock=True)
        assert pi is not None
        if pi.status == "processing" or pi.pending_action == "capture":
            raise NotReady(f"{pi.id} is {pi.pending_action or pi.status}: its charge's answer is not applied yet")
        if pi.processor_charge_id != reported.charge:
            log.warning("dispute %s is on charge %s, but %s was charged as %s", reported.id, reported.charge,
                        pi.id, pi.processor_charge_id)
            return None
        current = await queries.by_processor_id(reported.id, lock=True)
        if current is None:
            current = await _open(ctx, scope, pi, reported)
        elif reported.seq > current.processor_seq:
            current = await _follow(ctx, scope, pi, current, reported)
        if step is not None and current is not None:
            await effects.bind(step, "dispute", current.id)
    return current


async def _open(ctx: RequestContext | None, scope: Scope, pi: PaymentIntent,
                reported: ProcessorDispute) -> Dispute | None:
    """Record a dispute the processor opened; a chargeback takes its money at once."""
    amount = min(reported.amount, pi.amount_received - pi.amount_refunded)
    if amount <= 0:
        log.warning("dispute %s on %s: nothing of the payment is left to dispute", reported.id, pi.id)
        return None
    now = _now()
    inquiry = reported.status in evidence.INQUIRY_STATUSES
    made = await queries.insert(Dispute(
        id=new_id("dp"), account_id=scope.account_id, livemode=scope.livemode, payment_intent_id=pi.id,
        processor_dispute_id=reported.id, processor_charge_id=pi.processor_charge_id,
        processor_seq=reported.seq, amount=amount, currency=pi.currency,
        fee=0, reason=reported.reason if reported.reason in evidence.REASONS else "general",
        status="warning_needs_response" if inquiry else "needs_response", evidence={}, submission_count=0,
        submitted_at=None, due_by=now + timedelta(days=RESPONSE_DAYS), funds_withdrawn_at=None,
        funds_reinstated_at=None, seller_protection=None, seller_protection_reason="", processor_pending=None,
        reminded_72h_at=None, reminded_24h_at=None, metadata={}, closed_at=None, created=now, updated=now))
    assert made is not None, "the payment's lock keeps a second report of the dispute out"
    await _emit(ctx, scope, "charge.dispute.created", made)
    if not inquiry:
        made = await _withdraw(ctx, scope, pi, made)
    if reported.status not in evidence.AWAITING_EVIDENCE:  # first heard of after it moved on
        made = await _follow(ctx, scope, pi, made, reported)
    return made


async def _follow(ctx: RequestContext | None, scope: Scope, pi: PaymentIntent, dispute: Dispute,
                  reported: ProcessorDispute) -> Dispute:
    """Apply the processor's news to a dispute we know, by what it means for the merchant."""
    dispute = await queries.update(dispute.id, {"processor_seq": reported.seq})
    if dispute.closed_at is not None:
        return dispute
    inquiry = dispute.status in evidence.INQUIRY_STATUSES
    if reported.status in ("won", "warning_closed"):
        return await (_close_inquiry(ctx, scope, dispute) if inquiry else _won(ctx, scope, dispute))
    if reported.status in ("lost", "needs_response") and inquiry:
        dispute = await _escalate(ctx, scope, pi, dispute)
    if reported.status == "lost":
        return await _lost(ctx, scope, dispute)
    return dispute


async def _withdraw(ctx: RequestContext | None, scope: Scope, pi: PaymentIntent, dispute: Dispute) -> Dispute:
    fee = await queries.dispute_fee(scope.account_id)
    dispute = await queries.update(dispute.id, {"fee": fee, "funds_withdrawn_at": _now(), "updated": _now()})
    await accounting.withdraw(scope, dispute)
    if not pi.disputed:  # a disputed payment cannot be refunded (the dispute returns the money)
        await payment_queries.update(pi.id, {"disputed": True, "updated": clock.now()})
    await _emit(ctx, scope, "charge.dispute.funds_withdrawn", dispute)
    return dispute


async def _escalate(ctx: RequestContext | None, scope: Scope, pi: PaymentIntent, dispute: Dispute) -> Dispute:
    """An inquiry becomes a chargeback: the money is withdrawn and a new deadline starts."""
    now = _now()
    dispute = await queries.update(dispute.id, {
        "status": "needs_response", "due_by": now + timedelta(days=RESPONSE_DAYS), "reminded_72h_at": None,
        "reminded_24h_at": None, "updated": now})
    await _emit(ctx, scope, "charge.dispute.updated", dispute)
    return await _withdraw(ctx, scope, pi, dispute)


async def _won(ctx: RequestContext | None, scope: Scope, dispute: Dispute) -> Dispute:
    now = _now()
    dispute = await queries.update(dispute.id, {"status": "won", "funds_reinstated_at": now, "closed_at": now,
                                                "updated": now})
    await accounting.reinstate(scope, dispute)
    await _emit(ctx, scope, "charge.dispute.funds_reinstated", dispute)
    await _emit(ctx, scope, "charge.dispute.closed", dispute)
    return dispute


async def _lost(ctx: RequestContext | None, scope: Scope, dispute: Dispute, *, accepted: bool = False) -> Dispute:
    """Lost: the money goes to the cardholder; seller protection gives it back when the dispute is covered."""
    now = _now()
    cover = evidence.protection(dispute.reason, dispute.evidence, dispute.submission_count > 0)
    if accepted:
        cover = evidence.Protection(False, "the dispute was accepted instead of answered with evidence")
    dispute = await queries.update(dispute.id, {
        "status": "lost", "closed_at": now, "updated": now, "seller_protection_reason": cover.reason,
        "seller_protection": "covered" if cover.eligible else "not_covered",
        "funds_reinstated_at": now if cover.eligible else None})
    await accounting.lose(scope, dispute)
    if cover.eligible:
        await accounting.cover(scope, dispute)
        await _emit(ctx, scope, "charge.dispute.funds_reinstated", dispute)
    await _emit(ctx, scope, "charge.dispute.closed", dispute)
    return dispute


async def _close_inquiry(ctx: RequestContext | None, scope: Scope, dispute: Dispute) -> Dispute:
    now = _now()
    dispute = await queries.update(dispute.id, {"status": "warning_closed", "closed_at": now, "updated": now})
    await _emit(ctx, scope, "charge.dispute.closed", dispute)
    return dispute


# --- the merchant's answer ------------------------------------------------------------------------


async def _evidence_files(scope: Scope, proposed: Mapping[str, str | None]) -> None:
    """Every file field names an uploaded dispute-evidence file of this account and mode."""
    wanted = {name: value for name in evidence.FILE_FIELDS if (value := proposed.get(name))}
    found = await files.of_ids(scope, sorted(set(wanted.values())))
    for name, file_id in wanted.items():
        if file_id not in found or found[file_id].purpose != "dispute_evidence":
            raise InvalidRequest(f"evidence[{name}]: no uploaded dispute evidence file '{file_id}' (upload it "
                                 "with POST /v1/files, purpose=dispute_evidence)", param=f"evidence[{name}]")


def _check_open(dispute: Dispute, action: str) -> None:
    if dispute.status not in evidence.AWAITING_EVIDENCE:
        raise Conflict(f"cannot {action} dispute {dispute.id}: its status is '{dispute.status}'; evidence is "
                       "accepted only while it is needs_response or warning_needs_response (once submitted, it "
                       "is with the card issuer)", code=ErrorCode.DISPUTE_UNEXPECTED_STATE,
                       extra={"status": dispute.status})
    if _now() >= dispute.due_by:
        raise Conflict(f"cannot {action} dispute {dispute.id}: its evidence was due by "
                       f"{dispute.due_by.isoformat()}", code=ErrorCode.DISPUTE_PAST_DUE)


async def update(ctx: RequestContext, dispute_id: str, changes: object = None, *, submit: object = False,
                 metadata: object = None) -> Dispute:
    """Save evidence as a draft, or (with `submit`) send it to the issuer: once, before `due_by`."""
    scope = ctx.require(write("disputes"))
    if not isinstance(submit, bool):
        raise InvalidRequest("submit must be true or false", param="submit")
    step = effects.step("update_dispute", dispute_id)
    async with db.transaction():
        done = await effects.recall(step)
        locked = await _lock(scope, dispute_id)
        dispute = locked.dispute
        if done is None:
            _check_open(dispute, "submit evidence to" if submit else "update")
            proposed = evidence.clean(changes, dispute.evidence)
            await _evidence_files(scope, proposed)
            now = _now()
            fields: dict[str, object] = {"evidence": proposed, "updated": now,
                                         "metadata": validation.merged_metadata(dispute.metadata, metadata)}
            if submit:
                if not evidence.has_evidence(proposed):
                    raise InvalidRequest("there is no evidence to submit: fill in at least one evidence field",
                                         param="evidence")
                fields.update(status="warning_under_review" if dispute.status.startswith("warning_")
                              else "under_review", submission_count=dispute.submission_count + 1,
                              submitted_at=now, processor_pending="evidence")
            dispute = await queries.update(dispute.id, fields)
            await _emit(ctx, scope, "charge.dispute.updated", dispute)
            await effects.bind(step, "dispute", dispute.id)
    return await tell_processor(scope, dispute)


async def close(ctx: RequestContext, dispute_id: str) -> Dispute:
    """Accept the dispute: a chargeback is lost (no seller protection), an inquiry closes."""
    scope = ctx.require(write("disputes"))
    step = effects.step("close_dispute", dispute_id)
    async with db.transaction():
        done = await effects.recall(step)
        locked = await _lock(scope, dispute_id)
        dispute = locked.dispute
        if done is None:
            _check_open(dispute, "close")
            dispute = await queries.update(dispute.id, {"processor_pending": "close"})
            if dispute.status.startswith("warning_"):
                dispute = await _close_inquiry(ctx, scope, dispute)
            else:
                dispute = await _lost(ctx, scope, dispute, accepted=True)
            await effects.bind(step, "dispute", dispute.id)
    return await tell_processor(scope, dispute)


async def tell_processor(scope: Scope, dispute: Dispute) -> Dispute:
    """Phase 2 and 3: send the processor what `processor_pending` says, then clear it (once answered).

    No answer leaves it pending for the sync job; a refusal is logged and cleared (the processor has
    closed the dispute on its side: its feed says how)."""
    pending = dispute.processor_pending
    if pending is None:
        return dispute
    key = f"{dispute.id}_{pending}_{dispute.submission_count}"
    try:
        if pending == "evidence":
            await processor().submit_dispute_evidence(key, dispute.processor_dispute_id, dispute.evidence)
        else:
            await processor().close_dispute(key, dispute.processor_dispute_id)
    except ProcessorTimeout as exc:
        log.warning("the processor did not answer the %s of %s (%s); the sync job sends it again", pending,
                    dispute.id, exc)
        return dispute
    except ProcessorError as exc:
        log.warning("the processor refused the %s of %s: %s", pending, dispute.id, exc)
    async with db.transaction():
        locked = await _lock(scope, dispute.id)
        if locked.dispute.processor_pending != pending:
            return locked.dispute
        return await queries.update(dispute.id, {"processor_pending": None})


async def resend_pending(limit: int = 100) -> int:
    """What the processor was never told (a crash or no answer after the commit): tell it now."""
    pending = await queries.pending_processor(limit)
    for dispute in pending:
        await tell_processor(Scope(dispute.account_id, dispute.livemode), dispute)
    return len(pending)


# --- test helper ----------------------------------------------------------------------------------


async def create_test_dispute(ctx: RequestContext, pi_id: str, reason: object = None, amount: object = None,
                              inquiry: object = False) -> Dispute:
    """Make the cardholder dispute a test-mode payment: the processor opens it and reports it."""
    scope = ctx.require(write("disputes"))
    if scope.livemode:
        raise InvalidRequest("test helpers work in test mode only: use a test key (sk_test_…)", param="id",
                             code=ErrorCode.TEST_MODE_ONLY)
    reason = "fraudulent" if reason is None else reason
    if reason not in evidence.REASONS:
        raise InvalidRequest(f"reason must be one of: {', '.join(evidence.REASONS)}", param="reason")
    assert isinstance(reason, str)
    if not isinstance(inquiry, bool):
        raise InvalidRequest("inquiry must be true or false", param="inquiry")
    value = money.optional_amount(amount, "amount")
    pi = await payment_queries.get(scope, pi_id)
    if pi is None:
        raise NotFound(f"no such payment intent: '{pi_id}'", param="id")
    if pi.status != "succeeded" or pi.processor_charge_id is None:
        raise Conflict(f"cannot dispute payment intent {pi_id}: its status is '{pi.status}'; only succeeded "
                       "payments can be disputed", code=ErrorCode.PAYMENT_INTENT_UNEXPECTED_STATE,
                       extra={"status": pi.status})
    remaining = pi.amount_received - pi.amount_refunded
    if value is not None and value > remaining:
        raise InvalidRequest(f"amount ({value}) exceeds what the payment has left ({remaining})", param="amount",
                             code=ErrorCode.AMOUNT_TOO_LARGE)
    step = effects.step("test_dispute", pi_id)
    async with db.transaction():  # a retry of a request whose dispute committed answers with it
        if done := await effects.recall(step):
            made = await queries.get(scope, done["id"])
            assert made is not None
            return made
    if existing := await queries.of_intents(scope, [pi_id]):
        raise Conflict(f"payment intent {pi_id} is already disputed ({existing[0].id}); a charge is disputed once",
                       code=ErrorCode.CHARGE_ALREADY_DISPUTED, extra={"dispute": existing[0].id})
    try:
        reported = await processor().open_dispute(f"{pi_id}_dispute", pi.processor_charge_id, reason=reason,
                                                  amount=value, inquiry=inquiry)
    except ProcessorTimeout as exc:
        raise ProcessorUnavailable(f"the processor did not answer ({exc}); retry with the same "
                                   "Idempotency-Key") from None
    except ProcessorError as exc:
        raise Conflict(f"the processor refused to dispute the charge: {exc}") from None
    made = await ingest(ctx, reported, step)
    if made is None:
        raise Conflict(f"the processor's dispute of {pi_id} could not be recorded: nothing of the payment is left")
    return made


# --- deadlines (a job) ----------------------------------------------------------------------------


async def run_deadlines(limit: int = 200) -> int:
    """Send the 72 h and 24 h reminders, and close what is past due; how many disputes were looked at.

    A chargeback left unanswered past `due_by` is lost; an inquiry left unanswered closes (the issuer
    did not escalate it; if it does, the processor reports it and it escalates then)."""
    now = _now()
    due = await queries.due_for_deadline(now, FIRST_REMINDER, LAST_REMINDER, limit)
    for seen in due:
        scope = Scope(seen.account_id, seen.livemode)
        await tell_processor(scope, await _deadline(scope, seen.id, now))
    return len(due)


async def _deadline(scope: Scope, dispute_id: str, now: datetime) -> Dispute:
    """One dispute's deadline work, once: whichever process locks it first does it."""
    async with db.transaction():
        dispute = (await _lock(scope, dispute_id)).dispute
        if dispute.status not in evidence.AWAITING_EVIDENCE:
            return dispute
        if now >= dispute.due_by:
            dispute = await queries.update(dispute.id, {"processor_pending": "close"})
            if dispute.status.startswith("warning_"):
                return await _close_inquiry(None, scope, dispute)
            return await _lost(None, scope, dispute)
        left = dispute.due_by - now
        if left <= LAST_REMINDER and dispute.reminded_24h_at is None:  # late: the 72 h one is not sent any more
            dispute = await queries.update(dispute.id, {"reminded_24h_at": now,
                                                        "reminded_72h_at": dispute.reminded_72h_at or now})
            await _emit(None, scope, "charge.dispute.evidence_due_24h", dispute)
        elif left <= FIRST_REMINDER and dispute.reminded_72h_at is None:
            dispute = await queries.update(dispute.id, {"reminded_72h_at": now})
            await _emit(None, scope, "charge.dispute.evidence_due_72h", dispute)
        return dispute
