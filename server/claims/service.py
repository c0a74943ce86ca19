"""Claims on wallet transfers: buyer protection between customers (PayPal's inquiry → claim → appeal).

    inquiry --20 days, or escalate()--> claim --decide(refund)--> refunded --appeal (receiver)--> appeal
                                              --decide(deny)---> denied   --appeal (sender)---> appeal
    inquiry | claim --withdraw()--> withdrawn                        appeal --decide--> refunded | denied (final)

The sender opens an inquiry within 180 days of the transfer; the parties (and the merchant) exchange
messages. An inquiry becomes a claim after 20 days (a job) or when the sender asks. From then on
the claimed amount is held on the receiver's balance (`accounting.hold`: what the wallet has, up to
the amount) until a user with `manage_payments` decides: refund pays it over to the sender, deny
releases it. The party that lost may appeal once within 10 days; the money is held again, on the
side that has it, until the appeal is decided. Every step is an event (and so a webhook).

Opening, messages, escalation, appeals and withdrawals act for the customers (`transfer_claims`:
`manage_customers`); decisions need `transfer_claim_decisions` (`manage_payments`).
"""

from __future__ import annotations

from datetime import datetime

from server import clock, db, validation
from server.claims import accounting, queries, rules
from server.claims.rows import ClaimMessage, TransferClaim
from server.claims.serial import claim_json, message_json
from server.context import RequestContext, Scope
from server.customers import queries as customer_queries
from server.errors import Conflict, ErrorCode, InvalidRequest, NotFound
from server.events.service import emit
from server.idempotency import effects
from server.ids import new_id
from server.ledger import money
from server.pagination import Page, decode_cursor
from server.permissions import read, write

MESSAGES_LIMIT = 500  # per claim, on a page or in an answer


def _now() -> datetime:
    return clock.PAYMENTS.now()


async def _emit(ctx: RequestContext | None, scope: Scope, type_: str, claim: TransferClaim) -> None:
    await emit(ctx, scope, type_, "transfer_claim", claim.id, claim_json(claim))


async def _locked(scope: Scope, claim_id: str) -> TransferClaim:
    claim = await queries.get(scope, claim_id, lock=True)
    if claim is None:
        raise NotFound(f"no such transfer claim: '{claim_id}'", param="id")
    return claim


def _expect(claim: TransferClaim, statuses: tuple[str, ...], action: str) -> None:
    if claim.status not in statuses:
        raise Conflict(f"cannot {action} transfer claim {claim.id}: its status is '{claim.status}'; only "
                       f"{' or '.join(repr(s) for s in statuses)} allows it",
                       code=ErrorCode.TRANSFER_CLAIM_UNEXPECTED_STATE, extra={"status": claim.status})


def _choice(value: object, allowed: tuple[str, ...], param: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidRequest(f"{param} must be one of: {', '.join(allowed)}", param=param)
    return value


# --- reading --------------------------------------------------------------------------------------


async def get(ctx: RequestContext, claim_id: str) -> TransferClaim:
    scope = ctx.require(read("transfer_claims"))
    found = await queries.get(scope, claim_id)
    if found is None:
        raise NotFound(f"no such transfer claim: '{claim_id}'", param="id")
    return found


async def list_claims(ctx: RequestContext, limit: int, cursor: str | None, *, status: str | None = None,
                      customer: str | None = None, transfer: str | None = None) -> Page[TransferClaim]:
    scope = ctx.require(read("transfer_claims"))
    if status is not None:
        _choice(status, rules.STATUSES, "status")
    rows = await queries.list_claims(scope, decode_cursor(cursor), limit, status=status, customer=customer,
                                     transfer=transfer)
    return Page.from_rows(rows, limit)


async def messages_of(ctx: RequestContext, claim_ids: list[str]) -> list[list[ClaimMessage]]:
    """Each claim's messages, oldest first, in the order asked: a claim's nested field."""
    scope = ctx.require(read("transfer_claims"))
    found: dict[str, list[ClaimMessage]] = {c: [] for c in claim_ids}
    for message in await queries.messages_of(scope, claim_ids, MESSAGES_LIMIT):
        found[message.claim_id].append(message)
    return [found[c] for c in claim_ids]


# --- the sender's inquiry and the parties' messages -----------------------------------------------


async def open_inquiry(ctx: RequestContext, transfer_id: object, *, reason: object = None, amount: object = None,
                       message: object = None) -> TransferClaim:
    """The sender asks about a transfer (within 180 days of it): an inquiry, with no money held yet."""
    scope = ctx.require(write("transfer_claims"))
    if not isinstance(transfer_id, str) or not transfer_id:
        raise InvalidRequest("transfer is required: the id of the transfer claimed (tr_…)", param="transfer")
    why = _choice("other" if reason is None else reason, rules.REASONS, "reason")
    value = money.optional_amount(amount, "amount")
    text = validation.text(message, "message", rules.MAX_MESSAGE, strip=True)
    transfer = await customer_queries.get_transfer(scope, transfer_id)
    if transfer is None:
        raise NotFound(f"no such transfer: '{transfer_id}'", param="transfer")
    now = _now()
    if now - transfer.created > rules.INQUIRY_WINDOW:
        raise Conflict(f"transfer {transfer_id} was made on {transfer.created:%Y-%m-%d}: an inquiry can be opened "
                       f"within {rules.INQUIRY_WINDOW.days} days of a transfer",
                       code=ErrorCode.TRANSFER_CLAIM_WINDOW_CLOSED)
    claimed = transfer.amount if value is None else value
    if claimed > transfer.amount:
        raise InvalidRequest(f"amount ({claimed}) exceeds the transfer's amount ({transfer.amount})", param="amount",
                             code=ErrorCode.AMOUNT_TOO_LARGE)
    to_amount = transfer.to_amount * claimed // transfer.amount  # the same share of what the receiver got
    if to_amount <= 0:
        raise InvalidRequest(f"amount is too small: it is less than one minor unit of {transfer.to_currency}",
                             param="amount")
    step = effects.step("open_transfer_claim", transfer_id)
    async with db.transaction():
        if done := await effects.recall(step):
            return await _locked(scope, done["id"])
        claim = await queries.insert(TransferClaim(
            id=new_id("tcl"), account_id=scope.account_id, livemode=scope.livemode, transfer_id=transfer.id,
            sender=transfer.from_customer, receiver=transfer.to_customer, amount=claimed, currency=transfer.currency,
            to_amount=to_amount, to_currency=transfer.to_currency, reason=why, status="inquiry",
            escalate_after=now + rules.ESCALATE_AFTER, escalated_at=None, held_party=None, amount_held=0,
            decision=None, decision_note="", decided_by=None, decided_at=None, appealed_by=None, appealed_at=None,
            closed_at=None, created=now, updated=now))
        if claim is None:
            raise Conflict(f"transfer {transfer_id} has a claim already; a transfer is claimed once",
                           code=ErrorCode.TRANSFER_ALREADY_CLAIMED, param="transfer")
        await _emit(ctx, scope, "transfer_claim.opened", claim)
        if text:
            await _message(ctx, scope, claim, rules.SENDER, text)
        await effects.bind(step, "transfer_claim", claim.id)
    return claim


async def _message(ctx: RequestContext | None, scope: Scope, claim: TransferClaim, author: str,
                   body: str) -> ClaimMessage:
    made = ClaimMessage(id=new_id("tcm"), account_id=scope.account_id, livemode=scope.livemode, claim_id=claim.id,
                        author=author, body=body, created=_now())
    await queries.insert_message(made)
    await emit(ctx, scope, "transfer_claim.message_added", "transfer_claim_message", made.id, message_json(made))
    return made


async def add_message(ctx: RequestContext, claim_id: str, author: object, body: object) -> ClaimMessage:
    """A message from the sender, the receiver or the merchant, while the claim is open."""
    scope = ctx.require(write("transfer_claims"))
    who = _choice(author, rules.AUTHORS, "author")
    text = validation.text(body, "body", rules.MAX_MESSAGE, strip=True)
    if not text:
        raise InvalidRequest("body must not be empty", param="body")
    step = effects.step("transfer_claim_message", claim_id)
    async with db.transaction():
        done = await effects.recall(step)
        claim = await _locked(scope, claim_id)
        if done is not None:
            (made,) = [m for m in (await queries.messages_of(scope, [claim_id], MESSAGES_LIMIT)) if m.id == done["id"]]
            return made
        _expect(claim, rules.OPEN, "add a message to")
        made = await _message(ctx, scope, claim, who, text)
        await effects.bind(step, "transfer_claim_message", made.id)
    return made


# --- escalation, decisions, appeals ---------------------------------------------------------------


async def _escalate(ctx: RequestContext | None, scope: Scope, claim: TransferClaim) -> TransferClaim:
    """The inquiry becomes a claim: the claimed amount is held on the receiver's balance."""
    held = await accounting.hold(scope, claim, rules.RECEIVER)
    now = _now()
    claim = await queries.update(claim.id, {"status": "claim", "escalated_at": now, "held_party": rules.RECEIVER,
                                            "amount_held": held, "updated": now})
    await _emit(ctx, scope, "transfer_claim.escalated", claim)
    return claim


async def escalate(ctx: RequestContext, claim_id: str) -> TransferClaim:
    """The sender asks for a decision now instead of waiting out the 20 days."""
    scope = ctx.require(write("transfer_claims"))
    step = effects.step("escalate_transfer_claim", claim_id)
    async with db.transaction():
        done = await effects.recall(step)
        claim = await _locked(scope, claim_id)
        if done is not None:
            return claim
        _expect(claim, ("inquiry",), "escalate")
        claim = await _escalate(ctx, scope, claim)
        await effects.bind(step, "transfer_claim", claim.id)
    return claim


async def escalate_due(limit: int = 200) -> int:
    """Inquiries past their 20 days become claims (a job; each claim once, whoever locks it first)."""
    due = await queries.inquiries_due(_now(), limit)
    for seen in due:
        scope = Scope(seen.account_id, seen.livemode)
        async with db.transaction():
            claim = await _locked(scope, seen.id)
            if claim.status == "inquiry" and claim.escalate_after <= _now():
                await _escalate(None, scope, claim)
    return len(due)


def _decider(ctx: RequestContext) -> str:
    principal = ctx.principal
    return principal.email or principal.key_id or principal.user_id or "unknown"


async def decide(ctx: RequestContext, claim_id: str, decision: object, note: object = None) -> TransferClaim:
    """Refund (the claimed amount goes to the sender) or deny (the hold goes back): `manage_payments`."""
    scope = ctx.require(write("transfer_claim_decisions"))
    outcome = _choice(decision, rules.DECISIONS, "decision")
    text = validation.text(note, "note", rules.MAX_NOTE, strip=True)
    step = effects.step("decide_transfer_claim", claim_id)
    async with db.transaction():
        done = await effects.recall(step)
        claim = await _locked(scope, claim_id)
        if done is not None:
            return claim
        _expect(claim, rules.AWAITING_DECISION, "decide")
        sender_wins = outcome == "refund"
        if sender_wins == (claim.held_party == rules.RECEIVER):  # the money changes sides
            await accounting.pay_over(scope, claim, accounting.REFUND if sender_wins else accounting.REVERSAL)
        else:  # it stays where it is
            await accounting.release(scope, claim)
        now = _now()
        claim = await queries.update(claim.id, {
            "status": "refunded" if sender_wins else "denied", "decision": outcome, "decision_note": text,
            "decided_by": _decider(ctx), "decided_at": now, "held_party": None, "amount_held": 0, "closed_at": now,
            "updated": now})
        await _emit(ctx, scope, "transfer_claim.decided", claim)
        await effects.bind(step, "transfer_claim", claim.id)
    return claim


async def appeal(ctx: RequestContext, claim_id: str, by: object, message: object = None) -> TransferClaim:
    """The party that lost asks once, within 10 days, for the decision to be looked at again."""
    scope = ctx.require(write("transfer_claims"))
    party = _choice(by, (rules.SENDER, rules.RECEIVER), "by")
    text = validation.text(message, "message", rules.MAX_MESSAGE, strip=True)
    step = effects.step("appeal_transfer_claim", claim_id)
    async with db.transaction():
        done = await effects.recall(step)
        claim = await _locked(scope, claim_id)
        if done is not None:
            return claim
        _expect(claim, ("refunded", "denied"), "appeal")
        if claim.appealed_at is not None:
            raise Conflict(f"transfer claim {claim.id} was appealed already; a claim is appealed once",
                           code=ErrorCode.TRANSFER_CLAIM_ALREADY_APPEALED)
        if party != rules.loser_of(claim.status):
            raise InvalidRequest(f"only the {rules.loser_of(claim.status)} may appeal a claim that was {claim.status}",
                                 param="by")
        assert claim.decided_at is not None
        if _now() - claim.decided_at > rules.APPEAL_WINDOW:
            raise Conflict(f"the decision of {claim.decided_at:%Y-%m-%d} can be appealed within "
                           f"{rules.APPEAL_WINDOW.days} days", code=ErrorCode.TRANSFER_CLAIM_WINDOW_CLOSED)
        holder = rules.SENDER if claim.status == "refunded" else rules.RECEIVER  # who has the money now
        held = await accounting.hold(scope, claim, holder)
        now = _now()
        claim = await queries.update(claim.id, {"status": "appeal", "appealed_by": party, "appealed_at": now,
                                                "held_party": holder, "amount_held": held, "closed_at": None,
                                                "updated": now})
        await _emit(ctx, scope, "transfer_claim.appealed", claim)
        if text:
            await _message(ctx, scope, claim, party, text)
        await effects.bind(step, "transfer_claim", claim.id)
    return claim


async def withdraw(ctx: RequestContext, claim_id: str) -> TransferClaim:
    """The sender withdraws the inquiry or claim (settled between the parties): any hold is released."""
    scope = ctx.require(write("transfer_claims"))
    step = effects.step("withdraw_transfer_claim", claim_id)
    async with db.transaction():
        done = await effects.recall(step)
        claim = await _locked(scope, claim_id)
        if done is not None:
            return claim
        _expect(claim, ("inquiry", "claim"), "withdraw")
        await accounting.release(scope, claim)
        now = _now()
        claim = await queries.update(claim.id, {"status": "withdrawn", "held_party": None, "amount_held": 0,
                                                "closed_at": now, "updated": now})
        await _emit(ctx, scope, "transfer_claim.withdrawn", claim)
        await effects.bind(step, "transfer_claim", claim.id)
    return claim
