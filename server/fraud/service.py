"""Risk evaluations: run before a card is charged or a transfer is posted, stored with the object, acted on.

The payments service and the wallet call this module and act on the outcome:

    risk = await fraud.evaluate_payment(...)      # before the processor; no transaction held
    async with db.transaction():
        ...
        if risk and risk.outcome == "block": fail the payment, record(risk), nothing posted
        else: record(risk) with the payment; a review opens once the charge succeeds (open_review)

An evaluation costs one SQL round trip (rules, list hits, the customer's usual amount and the
account's USD rate in one statement) and one Redis round trip (velocity, recorded and counted
by one Lua call). It records velocity under the payment intent's or transfer's id, so a retried
evaluation is not counted twice. Redis or PostgreSQL being down makes the confirm a 503
before anything is committed: risk fails closed.

With `PAYDECK_RISK_ENABLED=false` nothing is evaluated (`risk` stays null); it exists as the
reference of the cost-of-risk benchmark.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from server import clock, db
from server.context import RequestContext, Scope
from server.errors import ErrorCode, Unprocessable
from server.events.service import emit
from server.fraud import engine, queries
from server.fraud.engine import Assessment
from server.fraud.inputs import CardFacts, Subject, Usual, amount_in_usd, base_signals, card_fingerprint, velocity_keys
from server.fraud.lists import DEFAULT_LISTS, DEFAULT_RULES
from server.fraud.rows import RadarAlert, RadarRule, Review, RiskEvaluation, ValueList
from server.fraud.serial import alert_json, review_json
from server.fraud.storage import to_stored
from server.fraud.usd import usd_rate
from server.fraud.velocity import VelocityEvent, record_and_count
from server.ids import new_id
from server.infra import redis
from server.ledger.money import exponent
from server.payments import cards
from server.settings import get_settings

log = logging.getLogger(__name__)

ALERT_WINDOW = timedelta(hours=1)
ALERT_EVENT = "radar.block_rate.exceeded"
_fingerprint_key: bytes | None = None


async def evaluate_payment(scope: Scope, pi_id: str, *, amount: int, currency: str, customer: str | None,
                           card_number: str, ip_address: str | None = None, email: str | None = None,
                           user_agent: str | None = None) -> Assessment | None:
    """Decide on a card payment before the processor is asked; None when risk is off."""
    if not get_settings().risk_enabled:
        return None
    key = await fingerprint_key()
    card = CardFacts(fingerprint=card_fingerprint(key, scope.account_id, card_number), brand=cards.brand(card_number),
                     country=cards.issuer_country(card_number), funding=cards.funding(card_number),
                     reported_stolen=cards.reported_stolen(card_number),
                     shared_test_card=not scope.livemode and cards.is_test_card(card_number))
    subject = Subject("payment", pi_id, amount, currency, customer=customer, email=email, ip_address=ip_address,
                      user_agent=user_agent, card=card)
    return await _assess(scope, subject)


async def evaluate_transfer(scope: Scope, transfer_id: str, *, amount: int, currency: str,
                            from_customer: str) -> Assessment | None:
    """Decide on a wallet transfer before anything is posted; None when risk is off."""
    if not get_settings().risk_enabled:
        return None
    return await _assess(scope, Subject("transfer", transfer_id, amount, currency, customer=from_customer))


async def fingerprint_key() -> bytes:
    """The installation's key for card fingerprints: made once, kept in PostgreSQL, read once per process."""
    global _fingerprint_key
    if _fingerprint_key is None:
        _fingerprint_key = await queries.fingerprint_key(secrets.token_bytes(32))
    return _fingerprint_key


async def _assess(scope: Scope, subject: Subject) -> Assessment:
    now = clock.PAYMENTS.now()
    known = base_signals(subject, Usual(0, None), None)
    context = await queries.evaluation_context(scope, engine.list_candidates(known), subject.currency.upper(),
                                               subject.customer, subject.transaction_type == "transfer")
    if not context.set_up:
        await ensure_defaults(scope)
        context = await queries.evaluation_context(scope, engine.list_candidates(known), subject.currency.upper(),
                                                   subject.customer, subject.transaction_type == "transfer")
    if subject.email is None and context.customer_email:
        subject = _with_email(subject, context.customer_email)
    rate = usd_rate(subject.currency, float(context.usd_rate) if context.usd_rate else None)
    usd = amount_in_usd(subject.amount, exponent(subject.currency.upper()), rate)
    base = base_signals(subject, Usual(context.usual_count, context.usual_median), usd)
    namespace = scope.account_id if subject.transaction_type == "payment" else f"{scope.account_id}/transfers"
    counts = await record_and_count(redis(), namespace, scope.livemode,
                                    VelocityEvent(subject.object_id, round((usd or 0) * 100), velocity_keys(subject)),
                                    int(now.timestamp() * 1000))
    return engine.assess(new_id("rsk"), subject, base, counts.signals(), engine.account_rules(context.rules),
                         context.hits, now)


def _with_email(subject: Subject, email: str) -> Subject:
    return Subject(subject.transaction_type, subject.object_id, subject.amount, subject.currency, subject.customer,
                   email, subject.ip_address, subject.user_agent, subject.card)


async def record(ctx: RequestContext | None, scope: Scope, assessment: Assessment) -> None:
    """Store the decision with its explanation; call inside the transaction that acts on it."""
    await queries.insert_evaluation(RiskEvaluation(
        id=assessment.id, account_id=scope.account_id, livemode=scope.livemode, object_type=assessment.object_type,
        object_id=assessment.subject.object_id, score=assessment.score.score, level=assessment.score.level,
        outcome=assessment.outcome, rule_id=assessment.decision.rule.id if assessment.decision.rule else None,
        explanation=assessment.explanation(), signals=to_stored(assessment.signals), created=assessment.created))
    if assessment.outcome == "block":
        async def check() -> None:
            try:
                await check_block_rate(ctx, scope)
            except Exception:  # the payment is decided and committed; an alert must not turn it into an error
                log.exception("Radar: the block-rate check failed for %s", scope.account_id)

        db.after_commit(check)


def blocked(assessment: Assessment) -> Unprocessable:
    """The error of a transfer Radar blocked: what decided it is in `risk`."""
    rule = assessment.decision.rule
    return Unprocessable(f"the transfer was blocked by Radar (risk {assessment.score.score}, "
                         f"{assessment.score.level}){f': {rule.text}' if rule else ''}; nothing was moved",
                         code=ErrorCode.BLOCKED_BY_RADAR, extra={"risk": assessment.summary()})


async def open_review(ctx: RequestContext | None, scope: Scope, object_type: str, object_id: str,
                      risk: dict[str, Any] | None) -> Review | None:
    """Open a review when the decision was `review`; call inside the transaction where the object succeeds."""
    if not risk or risk.get("outcome") != "review":
        return None
    rule = risk.get("rule") or {}
    review = Review(id=new_id("prv"), account_id=scope.account_id, livemode=scope.livemode, object_type=object_type,
                    object_id=object_id, evaluation_id=risk["evaluation"], rule_id=rule.get("id"), open=True,
                    opened_reason="rule", closed_reason=None, closed_by=None, created=clock.PAYMENTS.now(),
                    closed=None)
    if not await queries.insert_review(review):
        return None  # opened already (the reconciler and a retry may both apply the same answer)
    await emit(ctx, scope, "review.opened", "review", review.id, review_json(review))
    return review


async def ensure_defaults(scope: Scope) -> None:
    """Give an account's mode its default lists and rules, once (again after its test data was deleted)."""
    if await queries.is_set_up(scope):
        return
    now = clock.now()
    async with db.transaction():
        if not await queries.claim_setup(scope, now):
            return
        for default in DEFAULT_LISTS:
            await make_default_list(scope, default.alias)
        first_ms = int(now.timestamp() * 1000)
        for i, text in enumerate(DEFAULT_RULES):  # one millisecond apart: ids order them as listed
            await queries.insert_rule(RadarRule(
                id=new_id("rr", at_ms=first_ms + i), account_id=scope.account_id, livemode=scope.livemode,
                action=engine.parsed(text).action, rule=text, shadow=False, is_default=True, created=now,
                updated=now))


async def make_default_list(scope: Scope, alias: str) -> ValueList:
    """One of the lists every account starts with (inside the caller's transaction)."""
    default = next(d for d in DEFAULT_LISTS if d.alias == alias)
    made = ValueList(id=new_id("rsl"), account_id=scope.account_id, livemode=scope.livemode, alias=default.alias,
                     name=default.name, item_type=default.item_type, metadata={}, is_default=True,
                     created_by="paydeck", created=clock.now())
    if not await queries.insert_list(made):
        found = await queries.list_by_alias(scope, alias)
        assert found is not None
        return found
    return made


async def check_block_rate(ctx: RequestContext | None, scope: Scope, now: datetime | None = None) -> RadarAlert | None:
    """Fire `radar.block_rate.exceeded` when the last hour's block rate crosses the threshold (once an hour)."""
    settings = get_settings()
    now = now or clock.PAYMENTS.now()
    async with db.transaction():
        await queries.lock_alerts(scope)  # one checker at a time per account's mode
        rate = await queries.block_rate(scope, now - ALERT_WINDOW)
        if (rate.evaluated < settings.radar_alert_min_evaluations
                or rate.blocked < settings.radar_alert_block_rate * rate.evaluated
                or rate.last_alert is not None and rate.last_alert > now - ALERT_WINDOW):
            return None
        alert = RadarAlert(id=new_id("ralrt"), account_id=scope.account_id, livemode=scope.livemode,
                           evaluated=rate.evaluated, blocked=rate.blocked, threshold=settings.radar_alert_block_rate,
                           created=now)
        await queries.insert_alert(alert)
        await emit(ctx, scope, ALERT_EVENT, "radar_alert", alert.id, alert_json(alert))
    log.warning("Radar: block rate %d/%d over the last hour in %s", rate.blocked, rate.evaluated, scope.account_id)
    return alert
