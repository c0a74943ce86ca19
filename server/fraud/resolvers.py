"""GraphQL queries and mutations of Radar: rules, backtests, value lists, reviews, explanations, alerts."""

from __future__ import annotations

import msgspec
import strawberry
from strawberry.types import Info

from server.fraud import radar, reviews, trial
from server.fraud import types as t
from server.gql.common import Connection, connection, ctx_of, first_arg, one_or_none
from server.pagination import decode_cursor
from server.payments.types import PaymentIntent, PaymentIntentPayload, PaymentIntentResult


def _given(value: object) -> object:
    """An input field left out stays as it is (msgspec's UNSET is what the services understand)."""
    return msgspec.UNSET if value is strawberry.UNSET else value


@strawberry.type
class RadarQuery:
    @strawberry.field(description="Radar rules of this mode, in the order they decide: allow, block, review.")
    async def radar_rules(self, info: Info) -> list[t.RadarRule]:
        return [t.RadarRule.from_row(r) for r in await radar.list_rules(ctx_of(info))]

    @strawberry.field(description="One Radar rule.")
    async def radar_rule(self, info: Info, id: strawberry.ID) -> t.RadarRule | None:
        return await one_or_none(t.RadarRule.from_row, radar.get_rule(ctx_of(info), str(id)))

    @strawberry.field(description="How many of the last `days` days' payments and transfers a rule would have "
                                  "matched, from their stored signals (the rule need not be saved).")
    async def radar_backtest(self, info: Info, rule: str, days: int = 30) -> t.RadarBacktestResult:
        return t.RadarBacktest.from_result(await radar.backtest(ctx_of(info), rule, days))

    @strawberry.field(description="A decision's stored explanation.")
    async def risk_evaluation(self, info: Info, id: strawberry.ID) -> t.RiskEvaluation | None:
        return await one_or_none(t.RiskEvaluation.from_row, radar.get_evaluation(ctx_of(info), str(id)))

    @strawberry.field(description="Value lists of this mode, newest first.")
    async def radar_value_lists(self, info: Info, first: int | None = None, after: str | None = None,
                                alias: str | None = None) -> Connection[t.ValueList]:
        page = await radar.list_value_lists(ctx_of(info), first_arg(first), decode_cursor(after, "after"), alias)
        return connection(page, t.ValueList.from_row)

    @strawberry.field(description="One value list.")
    async def radar_value_list(self, info: Info, id: strawberry.ID) -> t.ValueList | None:
        return await one_or_none(t.ValueList.from_row, radar.get_value_list(ctx_of(info), str(id)))

    @strawberry.field(description="The values of one list, newest first; `value` finds one. A list not in this "
                                  "mode has none.")
    async def radar_value_list_items(self, info: Info, value_list: strawberry.ID, first: int | None = None,
                                     after: str | None = None,
                                     value: str | None = None) -> Connection[t.ValueListItem]:
        page = await radar.list_items(ctx_of(info), str(value_list), first_arg(first), decode_cursor(after, "after"),
                                      value, missing_is_empty=True)
        return connection(page, t.ValueListItem.from_row)

    @strawberry.field(description="One value list item.")
    async def radar_value_list_item(self, info: Info, id: strawberry.ID) -> t.ValueListItem | None:
        return await one_or_none(t.ValueListItem.from_row, radar.get_item(ctx_of(info), str(id)))

    @strawberry.field(description="Reviews of this mode, newest first; `open: true` is the queue.")
    async def reviews(self, info: Info, first: int | None = None, after: str | None = None,
                      open: bool | None = None) -> Connection[t.Review]:
        page = await reviews.list_reviews(ctx_of(info), first_arg(first), decode_cursor(after, "after"), open)
        return connection(page, t.Review.from_row)

    @strawberry.field(description="One review.")
    async def review(self, info: Info, id: strawberry.ID) -> t.Review | None:
        return await one_or_none(t.Review.from_row, reviews.get(ctx_of(info), str(id)))

    @strawberry.field(description="The block-rate alert of the last hour, if one fired (the dashboard's banner).")
    async def radar_alert(self, info: Info) -> t.RadarAlert | None:
        found = await radar.current_alert(ctx_of(info))
        return t.RadarAlert.from_row(found) if found else None


@strawberry.type
class RadarMutation:
    @strawberry.mutation(description="Add a rule; an invalid one is refused naming its column and what was expected.")
    async def create_radar_rule(self, info: Info, input: t.CreateRadarRuleInput) -> t.RadarRuleResult:
        row = await radar.create_rule(ctx_of(info), input.rule, input.shadow)
        return t.RadarRulePayload(rule=t.RadarRule.from_row(row))

    @strawberry.mutation(description="Change a rule's text or shadow mode.")
    async def update_radar_rule(self, info: Info, id: strawberry.ID,
                                input: t.UpdateRadarRuleInput) -> t.RadarRuleResult:
        row = await radar.update_rule(ctx_of(info), str(id), _given(input.rule), _given(input.shadow))
        return t.RadarRulePayload(rule=t.RadarRule.from_row(row))

    @strawberry.mutation(description="Delete a rule.")
    async def delete_radar_rule(self, info: Info, id: strawberry.ID) -> t.RadarRuleResult:
        row = await radar.delete_rule(ctx_of(info), str(id))
        return t.RadarRulePayload(rule=t.RadarRule.from_row(row))

    @strawberry.mutation(description="Create a value list.")
    async def create_radar_value_list(self, info: Info,
                                      input: t.CreateRadarValueListInput) -> t.RadarValueListResult:
        row = await radar.create_value_list(ctx_of(info), input.alias, input.name, input.item_type, input.metadata)
        return t.RadarValueListPayload(value_list=t.ValueList.from_row(row))

    @strawberry.mutation(description="Change a value list's alias, name or metadata.")
    async def update_radar_value_list(self, info: Info, id: strawberry.ID,
                                      input: t.UpdateRadarValueListInput) -> t.RadarValueListResult:
        row = await radar.update_value_list(ctx_of(info), str(id), _given(input.alias), _given(input.name),
                                            _given(input.metadata))
        return t.RadarValueListPayload(value_list=t.ValueList.from_row(row))

    @strawberry.mutation(description="Delete a value list that no rule names.")
    async def delete_radar_value_list(self, info: Info, id: strawberry.ID) -> t.RadarValueListResult:
        row = await radar.delete_value_list(ctx_of(info), str(id))
        return t.RadarValueListPayload(value_list=t.ValueList.from_row(row))

    @strawberry.mutation(description="Add a value to a list.")
    async def create_radar_value_list_item(self, info: Info,
                                           input: t.CreateRadarValueListItemInput) -> t.RadarValueListItemResult:
        row = await radar.create_item(ctx_of(info), input.value_list, input.value)
        return t.RadarValueListItemPayload(item=t.ValueListItem.from_row(row))

    @strawberry.mutation(description="Remove a value from its list.")
    async def delete_radar_value_list_item(self, info: Info, id: strawberry.ID) -> t.RadarValueListItemResult:
        row = await radar.delete_item(ctx_of(info), str(id))
        return t.RadarValueListItemPayload(item=t.ValueListItem.from_row(row))

    @strawberry.mutation(description="Approve a review: the payment stands.")
    async def approve_review(self, info: Info, id: strawberry.ID) -> t.ReviewResult:
        row = await reviews.approve(ctx_of(info), str(id))
        return t.ReviewPayload(review=t.Review.from_row(row))

    @strawberry.mutation(description="Refund the reviewed payment in full and close the review; `asFraud` also "
                                     "puts its card on the block list.")
    async def refund_review(self, info: Info, id: strawberry.ID, as_fraud: bool = False) -> t.ReviewResult:
        row = await reviews.refund(ctx_of(info), str(id), as_fraud)
        return t.ReviewPayload(review=t.Review.from_row(row))

    @strawberry.mutation(description="Test mode only: create and confirm a payment with a test card as a buyer "
                                     "would (email, IP address), to see what Radar decides.")
    async def create_test_payment(self, info: Info, input: t.CreateTestPaymentInput) -> PaymentIntentResult:
        row = await trial.create_test_payment(ctx_of(info), input.amount, input.currency, input.card_number,
                                              email=input.email, ip_address=input.ip_address, customer=input.customer)
        return PaymentIntentPayload(payment_intent=PaymentIntent.from_row(row), client_secret=None)
