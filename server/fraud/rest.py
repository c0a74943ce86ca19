"""REST: /v1/radar/rules, /v1/radar/backtests, /v1/radar/evaluations, /v1/radar/value_lists,
/v1/radar/value_list_items and /v1/reviews (Stripe's names and shapes where Stripe has them)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import Provide

from server.context import RequestContext
from server.fraud import radar, reviews
from server.fraud.radar import Backtest
from server.fraud.serial import evaluation_json, item_json, review_json, rule_json, value_list_json
from server.pagination import Page, decode_cursor, parse_limit
from server.rest import api_context, list_body

UNSET: Any = msgspec.UNSET


class RuleCreate(msgspec.Struct, forbid_unknown_fields=True):
    rule: Any = None
    shadow: Any = False


class RuleUpdate(msgspec.Struct, forbid_unknown_fields=True):
    rule: Any = UNSET
    shadow: Any = UNSET


class BacktestCreate(msgspec.Struct, forbid_unknown_fields=True):
    rule: Any = None
    days: Any = 30


class ValueListCreate(msgspec.Struct, forbid_unknown_fields=True):
    alias: Any = None
    name: Any = None
    item_type: Any = None
    metadata: Any = None


class ValueListUpdate(msgspec.Struct, forbid_unknown_fields=True):
    alias: Any = UNSET
    name: Any = UNSET
    metadata: Any = UNSET


class ItemCreate(msgspec.Struct, forbid_unknown_fields=True):
    value: Any = None
    value_list: Any = None


class ReviewRefund(msgspec.Struct, forbid_unknown_fields=True):
    as_fraud: Any = False


def deleted(object_type: str, object_id: str) -> dict[str, Any]:
    return {"id": object_id, "object": object_type, "deleted": True}


def backtest_json(result: Backtest) -> dict[str, Any]:
    return {"object": "radar.backtest", "rule": result.rule, "days": result.days, "evaluated": result.evaluated,
            "matched": result.matched, "payments_matched": result.payments_matched,
            "transfers_matched": result.transfers_matched,
            "examples": [{"evaluation": e.id, "object_type": e.object_type, "object_id": e.object_id,
                          "score": e.score, "outcome": e.outcome, "created": int(e.created.timestamp())}
                         for e in result.examples]}


class RadarRuleController(Controller):
    path = "/v1/radar/rules"
    tags = ["radar"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/", summary="List the rules, in the order they decide (allow, block, review)")
    async def list_(self, ctx: RequestContext) -> dict[str, Any]:
        rules = await radar.list_rules(ctx)
        return list_body(Page(rules, False, None), rule_json, "/v1/radar/rules")

    @post("/", status_code=200, summary="Create a rule; an invalid one is refused with its column")
    async def create(self, ctx: RequestContext, data: RuleCreate) -> dict[str, Any]:
        return rule_json(await radar.create_rule(ctx, data.rule, data.shadow))

    @get("/{rule_id:str}", summary="Retrieve a rule")
    async def retrieve(self, ctx: RequestContext, rule_id: str) -> dict[str, Any]:
        return rule_json(await radar.get_rule(ctx, rule_id))

    @post("/{rule_id:str}", status_code=200, summary="Change a rule's text or shadow mode")
    async def update(self, ctx: RequestContext, rule_id: str, data: RuleUpdate) -> dict[str, Any]:
        return rule_json(await radar.update_rule(ctx, rule_id, data.rule, data.shadow))

    @delete("/{rule_id:str}", status_code=200, summary="Delete a rule")
    async def remove(self, ctx: RequestContext, rule_id: str) -> dict[str, Any]:
        return deleted("radar.rule", (await radar.delete_rule(ctx, rule_id)).id)


class BacktestController(Controller):
    path = "/v1/radar/backtests"
    tags = ["radar"]
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200, summary="How many of the last `days` days' payments a rule would have matched")
    async def create(self, ctx: RequestContext, data: BacktestCreate) -> dict[str, Any]:
        return backtest_json(await radar.backtest(ctx, data.rule, data.days))


class EvaluationController(Controller):
    path = "/v1/radar/evaluations"
    tags = ["radar"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/{evaluation_id:str}", summary="A decision's stored explanation: rules, factors, every signal")
    async def retrieve(self, ctx: RequestContext, evaluation_id: str) -> dict[str, Any]:
        return evaluation_json(await radar.get_evaluation(ctx, evaluation_id))


class ValueListController(Controller):
    path = "/v1/radar/value_lists"
    tags = ["radar"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/", summary="List value lists, newest first")
    async def list_(self, ctx: RequestContext, limit: str | None = None, cursor: str | None = None,
                    alias: str | None = None) -> dict[str, Any]:
        page = await radar.list_value_lists(ctx, parse_limit(limit), decode_cursor(cursor), alias)
        return list_body(page, value_list_json, "/v1/radar/value_lists")

    @post("/", status_code=200, summary="Create a value list")
    async def create(self, ctx: RequestContext, data: ValueListCreate) -> dict[str, Any]:
        return value_list_json(await radar.create_value_list(ctx, data.alias, data.name, data.item_type,
                                                             data.metadata))

    @get("/{value_list_id:str}", summary="Retrieve a value list")
    async def retrieve(self, ctx: RequestContext, value_list_id: str) -> dict[str, Any]:
        found = await radar.get_value_list(ctx, value_list_id)
        (count,) = await radar.item_counts(ctx, [found.id])
        return value_list_json(found, count)

    @post("/{value_list_id:str}", status_code=200, summary="Change a value list's alias, name or metadata")
    async def update(self, ctx: RequestContext, value_list_id: str, data: ValueListUpdate) -> dict[str, Any]:
        return value_list_json(await radar.update_value_list(ctx, value_list_id, data.alias, data.name,
                                                             data.metadata))

    @delete("/{value_list_id:str}", status_code=200, summary="Delete a value list no rule names")
    async def remove(self, ctx: RequestContext, value_list_id: str) -> dict[str, Any]:
        return deleted("radar.value_list", (await radar.delete_value_list(ctx, value_list_id)).id)


class ValueListItemController(Controller):
    path = "/v1/radar/value_list_items"
    tags = ["radar"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/", summary="List the items of one value list, newest first")
    async def list_(self, ctx: RequestContext, value_list: str | None = None, value: str | None = None,
                    limit: str | None = None, cursor: str | None = None) -> dict[str, Any]:
        page = await radar.list_items(ctx, value_list, parse_limit(limit), decode_cursor(cursor), value)
        return list_body(page, item_json, "/v1/radar/value_list_items")

    @post("/", status_code=200, summary="Add a value to a value list")
    async def create(self, ctx: RequestContext, data: ItemCreate) -> dict[str, Any]:
        return item_json(await radar.create_item(ctx, data.value_list, data.value))

    @get("/{item_id:str}", summary="Retrieve a value list item")
    async def retrieve(self, ctx: RequestContext, item_id: str) -> dict[str, Any]:
        return item_json(await radar.get_item(ctx, item_id))

    @delete("/{item_id:str}", status_code=200, summary="Remove a value from its list")
    async def remove(self, ctx: RequestContext, item_id: str) -> dict[str, Any]:
        return deleted("radar.value_list_item", (await radar.delete_item(ctx, item_id)).id)


class ReviewController(Controller):
    path = "/v1/reviews"
    tags = ["reviews"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/", summary="List reviews, newest first; `open=true` for the queue")
    async def list_(self, ctx: RequestContext, open: str | None = None, limit: str | None = None,
                    cursor: str | None = None) -> dict[str, Any]:
        page = await reviews.list_reviews(ctx, parse_limit(limit), decode_cursor(cursor), reviews.open_filter(open))
        return list_body(page, review_json, "/v1/reviews")

    @get("/{review_id:str}", summary="Retrieve a review")
    async def retrieve(self, ctx: RequestContext, review_id: str) -> dict[str, Any]:
        return review_json(await reviews.get(ctx, review_id))

    @post("/{review_id:str}/approve", status_code=200, summary="Approve: the payment stands, the review closes")
    async def approve(self, ctx: RequestContext, review_id: str) -> dict[str, Any]:
        return review_json(await reviews.approve(ctx, review_id))

    @post("/{review_id:str}/refund", status_code=200,
          summary="Refund the payment in full and close the review; `as_fraud` also blocks the card")
    async def refund(self, ctx: RequestContext, review_id: str, data: ReviewRefund | None = None) -> dict[str, Any]:
        return review_json(await reviews.refund(ctx, review_id, data.as_fraud if data else False))


CONTROLLERS = [RadarRuleController, BacktestController, EvaluationController, ValueListController,
               ValueListItemController, ReviewController]
