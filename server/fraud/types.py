"""GraphQL types of Radar: the risk of a payment or transfer, its explanation, rules, lists, reviews, alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.fraud import rows
from server.fraud.radar import Backtest
from server.fraud.serial import predicate_of
from server.fraud.signals import CATALOGUE
from server.fraud.storage import from_stored
from server.gql.common import ConflictError, NotFoundError, ValidationError
from server.gql.loaders import loaders_of


@strawberry.type(description="A rule as a decision names it.")
class RuleRef:
    id: str | None = strawberry.field(description="`rr_…`")
    action: str = strawberry.field(description="allow, block or review.")
    rule: str = strawberry.field(description="The whole rule text.")
    shadow: bool = strawberry.field(description="A shadow rule is reported, never deciding.")

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RuleRef | None:
        if not data:
            return None
        return cls(id=data.get("id"), action=data["action"], rule=data["rule"], shadow=bool(data.get("shadow")))


@strawberry.type(description="One factor of the risk score: the value it read and the points it gave.")
class RiskFactor:
    signal: str = strawberry.field(description="The signal (or two signals compared).")
    value: JSON | None = strawberry.field(description="What the signal was for this payment (null: unknown).")
    points: int = strawberry.field(description="Points it added to the score.")
    why: str = strawberry.field(description="What the factor measures.")
    formula: str = strawberry.field(description="How its points are computed.")
    note: str | None = strawberry.field(description="Why it gave none although the value would score, if so.")


@strawberry.type(description="A value of the payment found in a value list.")
class ListHit:
    list: str = strawberry.field(description="The list's alias.")
    value: str = strawberry.field(description="The value found (folded to lower case).")


@strawberry.type(description="A signal's value at the decision.")
class SignalValue:
    name: str = strawberry.field(description="The signal's name, as rules write it between colons.")
    value: JSON = strawberry.field(description="Its value.")
    description: str = strawberry.field(description="What it means.")


@strawberry.type(description="The stored explanation of a decision: every rule that matched, every factor, "
                             "every signal.")
class RiskEvaluation:
    id: str = strawberry.field(description="`rsk_…`")
    object_type: str = strawberry.field(description="payment_intent or transfer.")
    object_id: str = strawberry.field(description="The payment intent or transfer decided on.")
    score: int = strawberry.field(description="0–99.")
    level: str = strawberry.field(description="normal, elevated or highest.")
    outcome: str = strawberry.field(description="allow, review or block.")
    rule: RuleRef | None = strawberry.field(description="The rule that decided; null when none matched (allow).")
    rules_matched: list[RuleRef] = strawberry.field(description="Every enforced rule that matched, in decision order.")
    shadow_rules_matched: list[RuleRef] = strawberry.field(description="Shadow rules that matched (logged only).")
    factors: list[RiskFactor] = strawberry.field(description="The score's factors, zero points included.")
    list_hits: list[ListHit] = strawberry.field(description="The payment's values found in value lists.")
    signals: list[SignalValue] = strawberry.field(description="Every signal known at the decision, by name.")
    created: datetime = strawberry.field(description="When it was decided.")

    @classmethod
    def from_row(cls, row: rows.RiskEvaluation) -> RiskEvaluation:
        e = row.explanation
        values = from_stored(row.signals)
        return cls(
            id=row.id, object_type=row.object_type, object_id=row.object_id, score=row.score, level=row.level,
            outcome=row.outcome, rule=RuleRef.from_json(e.get("rule")),
            rules_matched=[r for r in map(RuleRef.from_json, e.get("rules_matched", [])) if r],
            shadow_rules_matched=[r for r in map(RuleRef.from_json, e.get("shadow_rules_matched", [])) if r],
            factors=[RiskFactor(signal=c["signal"], value=JSON(c.get("value")), points=c["points"], why=c["why"],
                                formula=c["formula"], note=c.get("note")) for c in e.get("contributions", [])],
            list_hits=[ListHit(list=h["list"], value=h["value"]) for h in e.get("list_hits", [])],
            signals=[SignalValue(name=name, value=JSON(values[name]), description=CATALOGUE[name].description)
                     for name in CATALOGUE if name in values],
            created=row.created)


@strawberry.type(description="A factor that gave points, in short.")
class RiskReason:
    signal: str = strawberry.field(description="The signal.")
    points: int = strawberry.field(description="Points it gave.")


@strawberry.type(description="The risk decision on a payment or transfer: score, level, outcome and why.")
class Risk:
    evaluation_id: str = strawberry.field(description="The stored explanation, `rsk_…`.")
    score: int = strawberry.field(description="0–99: normal below 65, elevated 65–74, highest from 75.")
    level: str = strawberry.field(description="normal, elevated or highest.")
    outcome: str = strawberry.field(description="allow, review or block.")
    rule: RuleRef | None = strawberry.field(description="The rule that decided, if one did.")
    reasons: list[RiskReason] = strawberry.field(description="The factors that gave points.")
    object_id: strawberry.Private[str]

    @strawberry.field(description="The whole explanation: every rule that matched, factor and signal.")
    async def evaluation(self, info: Info) -> RiskEvaluation | None:
        row = await loaders_of(info).evaluation_of_object.load(self.object_id)
        return RiskEvaluation.from_row(row) if row else None

    @classmethod
    def from_json(cls, object_id: str, data: dict[str, Any] | None) -> Risk | None:
        if not data:
            return None
        return cls(evaluation_id=data["evaluation"], score=data["score"], level=data["level"],
                   outcome=data["outcome"], rule=RuleRef.from_json(data.get("rule")),
                   reasons=[RiskReason(signal=r["signal"], points=r["points"]) for r in data.get("reasons", [])],
                   object_id=object_id)


@strawberry.type(description="A Radar rule: `{action} if {condition}`.")
class RadarRule:
    id: str = strawberry.field(description="`rr_…`")
    action: str = strawberry.field(description="allow, block or review.")
    predicate: str = strawberry.field(description="The condition after `if`.")
    rule: str = strawberry.field(description="The whole text.")
    shadow: bool = strawberry.field(description="Shadow rules are evaluated and reported but never decide.")
    default: bool = strawberry.field(description="One of the rules every account starts with.")
    created: datetime = strawberry.field(description="When it was made.")
    updated: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: rows.RadarRule) -> RadarRule:
        return cls(id=row.id, action=row.action, predicate=predicate_of(row.rule), rule=row.rule, shadow=row.shadow,
                   default=row.is_default, created=row.created, updated=row.updated)


@strawberry.type(description="A value in a value list.")
class ValueListItem:
    id: str = strawberry.field(description="`rsli_…`")
    value: str = strawberry.field(description="The value, in its one spelling.")
    value_list_id: str = strawberry.field(description="Its list, `rsl_…`.")
    created_by: str = strawberry.field(description="Who added it.")
    created: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def from_row(cls, row: rows.ValueListItem) -> ValueListItem:
        return cls(id=row.id, value=row.value, value_list_id=row.value_list_id, created_by=row.created_by,
                   created=row.created)


@strawberry.type(description="A list of values rules can test with `in @alias`.")
class ValueList:
    id: str = strawberry.field(description="`rsl_…`")
    alias: str = strawberry.field(description="How rules name it: @alias.")
    name: str = strawberry.field(description="A name for people.")
    item_type: str = strawberry.field(description="card_fingerprint, email, ip_address, country, customer_id, string.")
    metadata: JSON = strawberry.field(description="Your key-value pairs.")
    default: bool = strawberry.field(description="One of the lists every account starts with.")
    created_by: str = strawberry.field(description="Who made it.")
    created: datetime = strawberry.field(description="When it was made.")

    @strawberry.field(description="How many values it holds.")
    async def item_count(self, info: Info) -> int:
        return await loaders_of(info).value_list_item_count.load(self.id)

    @classmethod
    def from_row(cls, row: rows.ValueList) -> ValueList:
        return cls(id=row.id, alias=row.alias, name=row.name, item_type=row.item_type,
                   metadata=JSON(row.metadata), default=row.is_default, created_by=row.created_by, created=row.created)


@strawberry.type(description="A payment or transfer held for a person to decide on.")
class Review:
    id: str = strawberry.field(description="`prv_…`")
    payment_intent_id: str | None = strawberry.field(description="The payment reviewed, if a payment.")
    transfer_id: str | None = strawberry.field(description="The transfer reviewed, if a transfer.")
    open: bool = strawberry.field(description="Waiting for a decision.")
    opened_reason: str = strawberry.field(description="rule: a review rule matched.")
    closed_reason: str | None = strawberry.field(description="approved, refunded or refunded_as_fraud.")
    rule_id: str | None = strawberry.field(description="The rule that sent it here.")
    evaluation_id: str = strawberry.field(description="The decision's explanation.")
    closed_by: str | None = strawberry.field(description="Who closed it.")
    created: datetime = strawberry.field(description="When it opened.")
    closed_at: datetime | None = strawberry.field(description="When it closed.")
    object_id: strawberry.Private[str]

    @strawberry.field(description="The decision's explanation.")
    async def evaluation(self, info: Info) -> RiskEvaluation | None:
        row = await loaders_of(info).evaluation_of_object.load(self.object_id)
        return RiskEvaluation.from_row(row) if row else None

    @strawberry.field(description="What is reviewed: amount, currency, status, card.")
    async def subject(self, info: Info) -> ReviewSubject | None:
        found = await loaders_of(info).review_subject.load(self.object_id)
        return ReviewSubject.from_row(found) if found else None

    @classmethod
    def from_row(cls, row: rows.Review) -> Review:
        payment = row.object_type == "payment_intent"
        return cls(id=row.id, payment_intent_id=row.object_id if payment else None,
                   transfer_id=None if payment else row.object_id, open=row.open, opened_reason=row.opened_reason,
                   closed_reason=row.closed_reason, rule_id=row.rule_id, evaluation_id=row.evaluation_id,
                   closed_by=row.closed_by, created=row.created, closed_at=row.closed, object_id=row.object_id)


@strawberry.type(description="The payment or transfer of a review, in short.")
class ReviewSubject:
    id: str = strawberry.field(description="`pi_…` or `tr_…`.")
    amount: int = strawberry.field(description="Minor units.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    status: str = strawberry.field(description="The payment's status (a transfer's is succeeded).")
    customer_id: str | None = strawberry.field(description="The customer (the sender of a transfer).")
    card: str | None = strawberry.field(description="Brand and last four digits, e.g. visa •••• 4242.")

    @classmethod
    def from_row(cls, row: rows.ReviewSubject) -> ReviewSubject:
        card = f"{row.card_brand} •••• {row.card_last4}" if row.card_last4 else None
        return cls(id=row.id, amount=row.amount, currency=row.currency, status=row.status,
                   customer_id=row.customer_id, card=card)


@strawberry.type(description="A decision a backtest would have changed.")
class BacktestExample:
    evaluation_id: str = strawberry.field(description="`rsk_…`")
    object_type: str = strawberry.field(description="payment_intent or transfer.")
    object_id: str = strawberry.field(description="The payment intent or transfer.")
    score: int = strawberry.field(description="Its risk score.")
    outcome: str = strawberry.field(description="What was decided then.")
    created: datetime = strawberry.field(description="When.")


@strawberry.type(description="How many of the period's payments and transfers a rule would have matched.")
class RadarBacktest:
    rule: str = strawberry.field(description="The rule tried.")
    days: int = strawberry.field(description="The period: the last `days` days.")
    evaluated: int = strawberry.field(description="Decisions stored in the period.")
    matched: int = strawberry.field(description="How many the rule matches.")
    payments_matched: int = strawberry.field(description="Of them, payments.")
    transfers_matched: int = strawberry.field(description="Of them, transfers.")
    examples: list[BacktestExample] = strawberry.field(description="The latest it matches (at most 10).")

    @classmethod
    def from_result(cls, result: Backtest) -> RadarBacktest:
        return cls(rule=result.rule, days=result.days, evaluated=result.evaluated, matched=result.matched,
                   payments_matched=result.payments_matched, transfers_matched=result.transfers_matched,
                   examples=[BacktestExample(evaluation_id=e.id, object_type=e.object_type, object_id=e.object_id,
                                             score=e.score, outcome=e.outcome, created=e.created)
                             for e in result.examples])


@strawberry.type(description="The block rate crossed its threshold over the last hour.")
class RadarAlert:
    id: str = strawberry.field(description="`ralrt_…`")
    evaluated: int = strawberry.field(description="Decisions in the hour before it fired.")
    blocked: int = strawberry.field(description="Of them, blocked.")
    block_rate: float = strawberry.field(description="blocked / evaluated.")
    threshold: float = strawberry.field(description="The rate it crossed (PAYDECK_RADAR_ALERT_BLOCK_RATE).")
    created: datetime = strawberry.field(description="When it fired.")

    @classmethod
    def from_row(cls, row: rows.RadarAlert) -> RadarAlert:
        return cls(id=row.id, evaluated=row.evaluated, blocked=row.blocked,
                   block_rate=round(row.blocked / row.evaluated, 4) if row.evaluated else 0.0,
                   threshold=row.threshold, created=row.created)


@strawberry.input(description="A new rule.")
class CreateRadarRuleInput:
    rule: str = strawberry.field(description="`{action} if {condition}`, e.g. `review if :amount_in_usd: > 500`.")
    shadow: bool = strawberry.field(default=False, description="Log-only: evaluated and reported, never deciding.")


@strawberry.input(description="Changes to a rule; omitted fields stay.")
class UpdateRadarRuleInput:
    rule: str | None = strawberry.field(default=strawberry.UNSET, description="The new text.")
    shadow: bool | None = strawberry.field(default=strawberry.UNSET, description="Shadow (log-only) or enforced.")


@strawberry.input(description="A new value list.")
class CreateRadarValueListInput:
    alias: str = strawberry.field(description="How rules name it: letters, digits, '_' and '-'.")
    name: str = strawberry.field(description="A name for people.")
    item_type: str | None = strawberry.field(default=None, description="card_fingerprint, email, ip_address, "
                                                                        "country, customer_id or string (default).")
    metadata: JSON | None = strawberry.field(default=None, description="Key-value pairs.")


@strawberry.input(description="Changes to a value list; omitted fields stay.")
class UpdateRadarValueListInput:
    alias: str | None = strawberry.field(default=strawberry.UNSET, description="A new alias (no rule may name it).")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="A new name.")
    metadata: JSON | None = strawberry.field(default=strawberry.UNSET, description="Merged; null removes a key.")


@strawberry.input(description="A value to add to a list.")
class CreateRadarValueListItemInput:
    value_list: str = strawberry.field(description="The list, `rsl_…`.")
    value: str = strawberry.field(description="The value (checked against the list's item type).")


@strawberry.type(description="The rule after the change.")
class RadarRulePayload:
    rule: RadarRule = strawberry.field(description="The rule.")


@strawberry.type(description="The value list after the change.")
class RadarValueListPayload:
    value_list: ValueList = strawberry.field(description="The list.")


@strawberry.type(description="The value list item after the change.")
class RadarValueListItemPayload:
    item: ValueListItem = strawberry.field(description="The item.")


@strawberry.type(description="The review after the change.")
class ReviewPayload:
    review: Review = strawberry.field(description="The review.")


RadarRuleResult = Annotated[RadarRulePayload | ValidationError | NotFoundError,
                            strawberry.union("RadarRuleResult")]
RadarValueListResult = Annotated[RadarValueListPayload | ValidationError | NotFoundError | ConflictError,
                                 strawberry.union("RadarValueListResult")]
RadarValueListItemResult = Annotated[RadarValueListItemPayload | ValidationError | NotFoundError | ConflictError,
                                     strawberry.union("RadarValueListItemResult")]
ReviewResult = Annotated[ReviewPayload | ValidationError | NotFoundError | ConflictError,
                         strawberry.union("ReviewResult")]
RadarBacktestResult = Annotated[RadarBacktest | ValidationError, strawberry.union("RadarBacktestResult")]


@strawberry.input(description="A test-mode payment made as a buyer would, to try the rules.")
class CreateTestPaymentInput:
    amount: int = strawberry.field(description="Minor units.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    card_number: str = strawberry.field(description="A test card number (docs/payments.md lists them).")
    email: str | None = strawberry.field(default=None, description="The buyer's email.")
    ip_address: str | None = strawberry.field(default=None, description="The buyer's IP address.")
    customer: str | None = strawberry.field(default=None, description="A customer id.")
