"""Radar's rules and value lists: the merchant's side. Every change is in the audit log.

A rule is saved only if it parses against the signal catalogue and names lists that exist
(`RuleError`: the column and what was expected there). A list a rule names cannot be deleted;
its alias cannot be changed under the rule either. Both would leave a rule that silently stops
matching.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec

from server import clock, db, validation
from server.audit import service as audit
from server.context import RequestContext, Scope
from server.errors import Conflict, ErrorCode, InvalidRequest, NotFound
from server.fraud import engine, queries
from server.fraud.lists import ALIAS, ITEM_TYPES, MAX_NAME, clean_value, folded
from server.fraud.rows import RadarAlert, RadarRule, RiskEvaluation, ValueList, ValueListItem
from server.fraud.rules import ACTION_ORDER, RuleError, parse
from server.fraud.service import ALERT_WINDOW, ensure_defaults
from server.fraud.signals import CATALOGUE
from server.fraud.storage import column_for
from server.idempotency import effects
from server.ids import new_id
from server.pagination import Page
from server.permissions import read, write

MAX_BACKTEST_DAYS = 365
BACKTEST_EXAMPLES = 10


def actor(ctx: RequestContext) -> str:
    """Who made a change, as lists show it: the user's email, or the API key's id."""
    principal = ctx.principal
    return principal.email or (f"key {principal.key_id}" if principal.key_id else "paydeck")


async def _scope(ctx: RequestContext, access_write: bool) -> Scope:
    scope = ctx.require(write("radar") if access_write else read("radar"))
    await ensure_defaults(scope)
    return scope


# ---------------------------------------------------------------------------------------- rules


def _shadow(value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest("shadow must be true or false", param="shadow")
    return value


async def _checked(scope: Scope, text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest("rule is required, e.g. \"review if :amount_in_usd: > 500\"", param="rule")
    parse(text, CATALOGUE, known_lists=await queries.aliases(scope))
    return text


async def list_rules(ctx: RequestContext) -> list[RadarRule]:
    """Every rule of the mode, in the order they decide: allow, then block, then review; oldest first within."""
    scope = await _scope(ctx, False)
    return sorted(await queries.rules(scope), key=lambda r: (ACTION_ORDER.index(r.action), r.id))


async def get_rule(ctx: RequestContext, rule_id: str) -> RadarRule:
    scope = await _scope(ctx, False)
    found = await queries.rule(scope, rule_id)
    if found is None:
        raise NotFound(f"no such rule: '{rule_id}'", param="id")
    return found


async def create_rule(ctx: RequestContext, text: object, shadow: object = False) -> RadarRule:
    scope = await _scope(ctx, True)
    rule_text, is_shadow = await _checked(scope, text), _shadow(shadow)
    now = clock.now()
    made = RadarRule(id=new_id("rr"), account_id=scope.account_id, livemode=scope.livemode,
                     action=engine.parsed(rule_text).action, rule=rule_text, shadow=is_shadow, is_default=False,
                     created=now, updated=now)
    step = effects.step("create_radar_rule")
    async with db.transaction():
        done = await effects.recall(step)  # the same request committed it, then failed: answer with that rule
        if done is not None and (earlier := await queries.rule(scope, done["id"])) is not None:
            return earlier
        await queries.insert_rule(made)
        await audit.record(ctx, scope.account_id, "radar_rule.created", "radar_rule", made.id,
                           {"rule": rule_text, "shadow": is_shadow}, scope.livemode)
        await effects.bind(step, "radar_rule", made.id)
    return made


async def update_rule(ctx: RequestContext, rule_id: str, text: object = msgspec.UNSET,
                      shadow: object = msgspec.UNSET) -> RadarRule:
    scope = await _scope(ctx, True)
    changes: dict[str, object] = {}
    if text is not msgspec.UNSET:
        checked = await _checked(scope, text)
        changes["rule"], changes["action"] = checked, engine.parsed(checked).action
    if shadow is not msgspec.UNSET:
        changes["shadow"] = _shadow(shadow)
    async with db.transaction():
        before = await queries.rule(scope, rule_id, lock=True)
        if before is None:
            raise NotFound(f"no such rule: '{rule_id}'", param="id")
        if not changes:
            return before
        after = await queries.update_rule(scope, rule_id, {**changes, "updated": clock.now()})
        await audit.record(ctx, scope.account_id, "radar_rule.updated", "radar_rule", rule_id,
                           {"before": {"rule": before.rule, "shadow": before.shadow},
                            "after": {"rule": after.rule, "shadow": after.shadow}}, scope.livemode)
    return after


async def delete_rule(ctx: RequestContext, rule_id: str) -> RadarRule:
    scope = await _scope(ctx, True)
    async with db.transaction():
        found = await queries.rule(scope, rule_id, lock=True)
        if found is None or not await queries.delete_rule(scope, rule_id):
            raise NotFound(f"no such rule: '{rule_id}'", param="id")
        await audit.record(ctx, scope.account_id, "radar_rule.deleted", "radar_rule", rule_id,
                           {"rule": found.rule, "shadow": found.shadow}, scope.livemode)
    return found


class Backtest(msgspec.Struct, kw_only=True):
    rule: str
    days: int
    evaluated: int  # evaluations stored in the period
    matched: int
    payments_matched: int
    transfers_matched: int
    examples: list[RiskEvaluation]  # the latest that match


def _days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BACKTEST_DAYS:
        raise InvalidRequest(f"days must be an integer between 1 and {MAX_BACKTEST_DAYS}", param="days")
    return value


async def backtest(ctx: RequestContext, text: object, days: object = 30) -> Backtest:
    """How many of the last `days` days' evaluations the rule would have matched, from their stored signals.

    One SQL statement (`Rule.to_sql` over the stored JSONB), so it agrees with live evaluation by
    construction: the same catalogue, the same missing-is-false semantics, the same case folding.
    Lists are read as they are now.
    """
    scope = await _scope(ctx, False)
    period = _days(days)
    rule_text = await _checked(scope, text)
    rule = parse(rule_text, CATALOGUE)
    values = await queries.list_values(scope, sorted(rule.lists))
    condition = rule.to_sql(column_for("signals"), lambda alias: values.get(alias, []), first_param=5)
    until = clock.PAYMENTS.now()
    since = until - timedelta(days=period)
    counts = await queries.backtest(scope, since, until, condition.sql, condition.params)
    examples = await queries.backtest_examples(scope, since, until, condition.sql, condition.params,
                                               BACKTEST_EXAMPLES) if counts.matched else []
    return Backtest(rule=rule_text, days=period, evaluated=counts.evaluated, matched=counts.matched,
                    payments_matched=counts.payments_matched, transfers_matched=counts.transfers_matched,
                    examples=examples)


async def get_evaluation(ctx: RequestContext, evaluation_id: str) -> RiskEvaluation:
    scope = ctx.require(read("radar"))
    found = await queries.evaluation(scope, evaluation_id)
    if found is None:
        raise NotFound(f"no such evaluation: '{evaluation_id}'", param="id")
    return found


async def evaluations_of(ctx: RequestContext, object_ids: list[str]) -> list[RiskEvaluation | None]:
    """The evaluation of each payment or transfer, in the order asked (a loader's batch)."""
    scope = ctx.require(read("radar"))
    found = {e.object_id: e for e in await queries.evaluations_of(scope, object_ids)}
    return [found.get(object_id) for object_id in object_ids]


async def current_alert(ctx: RequestContext) -> RadarAlert | None:
    """The block-rate alert that fired within the last hour, if any (every dashboard page shows it as a banner);
    None, not an error, for someone who cannot see Radar, as the page shell asks for it."""
    if not ctx.can(read("radar")):
        return None
    scope = ctx.scope
    return await queries.latest_alert(scope, clock.PAYMENTS.now() - ALERT_WINDOW)


# ---------------------------------------------------------------------------------------- value lists


def _alias(value: object) -> str:
    if not isinstance(value, str) or not ALIAS.match(value):
        raise InvalidRequest("alias must start with a letter or '_' and hold at most 100 letters, digits, "
                             "'_' or '-'", param="alias")
    return value


def _name(value: object) -> str:
    text = validation.text(value, "name", MAX_NAME, strip=True)
    if not text:
        raise InvalidRequest("name is required", param="name")
    return text


def _item_type(value: object) -> str:
    if value is None:
        return "string"
    if value not in ITEM_TYPES:
        raise InvalidRequest(f"item_type must be one of {', '.join(ITEM_TYPES)}", param="item_type")
    return str(value)


async def list_value_lists(ctx: RequestContext, limit: int, after: str | None,
                           alias: str | None = None) -> Page[ValueList]:
    scope = await _scope(ctx, False)
    return Page.from_rows(await queries.value_lists(scope, after, limit, alias), limit)


async def item_counts(ctx: RequestContext, list_ids: list[str]) -> list[int]:
    scope = ctx.require(read("radar"))
    counts = await queries.item_counts(scope, list_ids)
    return [counts.get(list_id, 0) for list_id in list_ids]


async def get_value_list(ctx: RequestContext, list_id: str) -> ValueList:
    scope = ctx.require(read("radar"))
    found = await queries.value_list(scope, list_id)
    if found is None:
        raise NotFound(f"no such value list: '{list_id}'", param="id")
    return found


async def create_value_list(ctx: RequestContext, alias: object, name: object, item_type: object = None,
                            metadata: object = None) -> ValueList:
    scope = await _scope(ctx, True)
    made = ValueList(id=new_id("rsl"), account_id=scope.account_id, livemode=scope.livemode, alias=_alias(alias),
                     name=_name(name), item_type=_item_type(item_type), metadata=validation.metadata(metadata),
                     is_default=False, created_by=actor(ctx), created=clock.now())
    step = effects.step("create_value_list")
    async with db.transaction():
        done = await effects.recall(step)  # committed by this request before it failed: not a conflict
        if done is not None and (earlier := await queries.value_list(scope, done["id"])) is not None:
            return earlier
        if not await queries.insert_list(made):
            raise Conflict(f"a value list with the alias '{made.alias}' exists already", param="alias",
                           code=ErrorCode.RESOURCE_ALREADY_EXISTS)
        await audit.record(ctx, scope.account_id, "radar_value_list.created", "radar_value_list", made.id,
                           {"alias": made.alias, "item_type": made.item_type}, scope.livemode)
        await effects.bind(step, "radar_value_list", made.id)
    return made


async def _rules_naming(scope: Scope, alias: str) -> list[RadarRule]:
    return [r for r in await queries.rules(scope) if alias in engine.parsed(r.rule).lists]


async def update_value_list(ctx: RequestContext, list_id: str, alias: object = msgspec.UNSET,
                            name: object = msgspec.UNSET, metadata: object = msgspec.UNSET) -> ValueList:
    scope = await _scope(ctx, True)
    async with db.transaction():
        before = await queries.value_list(scope, list_id, lock=True)
        if before is None:
            raise NotFound(f"no such value list: '{list_id}'", param="id")
        new_alias = before.alias if alias is msgspec.UNSET else _alias(alias)
        if new_alias != before.alias and (naming := await _rules_naming(scope, before.alias)):
            raise Conflict(f"rules name @{before.alias} ({', '.join(r.id for r in naming)}): change them first",
                           param="alias")
        after = await queries.update_list(
            scope, list_id, new_alias, before.name if name is msgspec.UNSET else _name(name),
            before.metadata if metadata is msgspec.UNSET else validation.merged_metadata(before.metadata, metadata))
        if after is None:
            raise Conflict(f"a value list with the alias '{new_alias}' exists already", param="alias",
                           code=ErrorCode.RESOURCE_ALREADY_EXISTS)
        await audit.record(ctx, scope.account_id, "radar_value_list.updated", "radar_value_list", list_id,
                           {"alias": after.alias, "name": after.name}, scope.livemode)
    return after


async def delete_value_list(ctx: RequestContext, list_id: str) -> ValueList:
    scope = await _scope(ctx, True)
    async with db.transaction():
        found = await queries.value_list(scope, list_id, lock=True)
        if found is None:
            raise NotFound(f"no such value list: '{list_id}'", param="id")
        if naming := await _rules_naming(scope, found.alias):
            raise Conflict(f"rules name @{found.alias} ({', '.join(r.id for r in naming)}): delete or change them "
                           "first", param="id")
        await queries.delete_list(scope, list_id)
        await audit.record(ctx, scope.account_id, "radar_value_list.deleted", "radar_value_list", list_id,
                           {"alias": found.alias}, scope.livemode)
    return found


async def list_items(ctx: RequestContext, value_list: object, limit: int, after: str | None,
                     value: str | None = None, *, missing_is_empty: bool = False) -> Page[ValueListItem]:
    """The items of a list; a list not in this mode is a 404, or no items with `missing_is_empty` (GraphQL,
    where a query answers data rather than an error)."""
    scope = ctx.require(read("radar"))
    if not isinstance(value_list, str) or not value_list:
        raise InvalidRequest("value_list is required: the id of the list whose items to list", param="value_list")
    found = await queries.value_list(scope, value_list)
    if found is None and missing_is_empty:
        return Page([], False, None)
    if found is None:
        raise NotFound(f"no such value list: '{value_list}'", param="value_list")
    rows = await queries.items(scope, value_list, after, limit,
                               None if value is None else folded(value.strip()))
    return Page.from_rows(rows, limit)


async def get_item(ctx: RequestContext, item_id: str) -> ValueListItem:
    scope = ctx.require(read("radar"))
    found = await queries.item(scope, item_id)
    if found is None:
        raise NotFound(f"no such value list item: '{item_id}'", param="id")
    return found


async def add_item(ctx: RequestContext | None, scope: Scope, value_list: ValueList, value: object,
                   by: str) -> ValueListItem | None:
    """Add a value inside the caller's transaction; None when the list holds it already."""
    clean = clean_value(value_list.item_type, value)
    made = ValueListItem(id=new_id("rsli"), account_id=scope.account_id, livemode=scope.livemode,
                         value_list_id=value_list.id, value=clean, folded=folded(clean), created_by=by,
                         created=clock.now())
    if not await queries.insert_item(made):
        return None
    await audit.record(ctx, scope.account_id, "radar_value_list_item.created", "radar_value_list_item", made.id,
                       {"value_list": value_list.alias, "value": clean}, scope.livemode)
    return made


async def create_item(ctx: RequestContext, value_list: object, value: object) -> ValueListItem:
    scope = await _scope(ctx, True)
    if not isinstance(value_list, str) or not value_list:
        raise InvalidRequest("value_list is required: the id of the list to add to", param="value_list")
    step = effects.step("create_value_list_item", value_list)
    async with db.transaction():
        done = await effects.recall(step)  # committed by this request before it failed: not a conflict
        if done is not None and (earlier := await queries.item(scope, done["id"])) is not None:
            return earlier
        found = await queries.value_list(scope, value_list, lock=True)
        if found is None:
            raise NotFound(f"no such value list: '{value_list}'", param="value_list")
        made = await add_item(ctx, scope, found, value, actor(ctx))
        if made is None:
            raise Conflict(f"{value!r} is in the list '{found.alias}' already", param="value",
                           code=ErrorCode.RESOURCE_ALREADY_EXISTS)
        await effects.bind(step, "radar_value_list_item", made.id)
    return made


async def delete_item(ctx: RequestContext, item_id: str) -> ValueListItem:
    scope = await _scope(ctx, True)
    async with db.transaction():
        found = await queries.item(scope, item_id)
        if found is None or not await queries.delete_item(scope, item_id):
            raise NotFound(f"no such value list item: '{item_id}'", param="id")
        await audit.record(ctx, scope.account_id, "radar_value_list_item.deleted", "radar_value_list_item",
                           item_id, {"value_list": found.value_list_id, "value": found.value}, scope.livemode)
    return found


__all__ = ["RuleError", "Backtest"]
