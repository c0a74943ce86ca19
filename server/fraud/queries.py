"""SQL of Radar: rules, value lists, evaluations, reviews and alerts. Every read takes a Scope; rows are typed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from server import db
from server.context import Scope
from server.fraud.rows import (
    EvaluationContext,
    RadarAlert,
    RadarRule,
    Review,
    ReviewSubject,
    RiskEvaluation,
    ValueList,
    ValueListItem,
)

Row = RadarRule | ValueList | ValueListItem | RiskEvaluation | Review | RadarAlert


def _values(row: Row) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__struct_fields__}


async def _insert(table: str, row: Row, suffix: str = "") -> bool:
    values = _values(row)
    done = await db.fetch(db.insert_sql(table, list(values), suffix + " RETURNING id"), *values.values())
    return bool(done)


# ---------------------------------------------------------------------------------------- set-up


async def fingerprint_key(candidate: bytes) -> bytes:
    """The installation's card-fingerprint key: `candidate` if none was stored yet, else the stored one."""
    await db.execute("INSERT INTO radar_secrets (name, value) VALUES ('card_fingerprint', $1) "
                     "ON CONFLICT (name) DO NOTHING", candidate)
    row = await db.fetchrow("SELECT value FROM radar_secrets WHERE name = 'card_fingerprint'")
    assert row is not None
    return bytes(row["value"])


async def is_set_up(scope: Scope) -> bool:
    row = await db.fetchrow("SELECT EXISTS (SELECT 1 FROM radar_setups WHERE account_id = $1 AND livemode = $2) AS s",
                            scope.account_id, scope.livemode)
    return bool(row and row["s"])


async def claim_setup(scope: Scope, now: datetime) -> bool:
    """Mark the account's mode as set up; True for the one caller that did it first."""
    rows = await db.fetch(
        "INSERT INTO radar_setups (id, account_id, livemode, created) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (id) DO NOTHING RETURNING id",
        f"{scope.account_id}:{'live' if scope.livemode else 'test'}", scope.account_id, scope.livemode, now)
    return bool(rows)


_FOLD = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'"  # server.fraud.rules.fold


async def evaluation_context(scope: Scope, candidates: Sequence[str], currency: str, customer: str | None,
                             transfers: bool) -> EvaluationContext:
    """In one round trip: the rules; the list items among `candidates` (folded values) and the customer's
    email; the account's rate to USD; the customer's usual amount (the median of their last 100 successful
    payments, or sent transfers, in `currency`, read through the customer's index)."""
    usual = ("SELECT amount FROM transfers WHERE account_id = $1 AND livemode = $2 AND from_customer = $5 "
             "AND currency = $4 ORDER BY id DESC LIMIT 100") if transfers else (
            "SELECT amount FROM payment_intents WHERE account_id = $1 AND livemode = $2 AND customer_id = $5 "
            "AND currency = $4 AND status = 'succeeded' ORDER BY id DESC LIMIT 100")
    return await _one(EvaluationContext, f"""
        WITH c AS (SELECT email, translate(email, {_FOLD}) AS folded FROM customers
                   WHERE account_id = $1 AND livemode = $2 AND id = $5)
        SELECT EXISTS (SELECT 1 FROM radar_setups WHERE account_id = $1 AND livemode = $2) AS set_up,
               COALESCE((SELECT jsonb_agg(jsonb_build_object('id', id, 'rule', rule, 'shadow', shadow) ORDER BY id)
                         FROM radar_rules WHERE account_id = $1 AND livemode = $2), '[]'::jsonb) AS rules,
               COALESCE((SELECT jsonb_agg(jsonb_build_array(l.alias, i.folded))
                         FROM radar_value_list_items i JOIN radar_value_lists l ON l.id = i.value_list_id
                         WHERE i.account_id = $1 AND i.livemode = $2
                         AND (i.folded = ANY($3::text[]) OR i.folded = (SELECT folded FROM c))),
                        '[]'::jsonb) AS hits,
               (SELECT email FROM c) AS customer_email,
               (SELECT rate FROM fx_rates WHERE account_id = $1 AND livemode = $2 AND base = $4
                AND quote = 'USD') AS usd_rate,
               u.usual_count, u.usual_median
        FROM (SELECT count(*) AS usual_count,
                     percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) AS usual_median
              FROM ({usual}) s) u""",
        scope.account_id, scope.livemode, list(candidates), currency, customer)


async def _one(row_type: type[Any], sql: str, *args: Any) -> Any:
    row = await db.fetchrow_as(row_type, sql, *args)
    assert row is not None
    return row


# ---------------------------------------------------------------------------------------- rules


async def insert_rule(rule: RadarRule) -> None:
    await _insert("radar_rules", rule)


async def rules(scope: Scope) -> list[RadarRule]:
    """Every rule of the account's mode, oldest first (their order within an action)."""
    return await db.fetch_as(RadarRule, "SELECT * FROM radar_rules WHERE account_id = $1 AND livemode = $2 "
                                        "ORDER BY id", scope.account_id, scope.livemode)


async def rule(scope: Scope, rule_id: str, *, lock: bool = False) -> RadarRule | None:
    return await db.fetchrow_as(
        RadarRule, "SELECT * FROM radar_rules WHERE account_id = $1 AND livemode = $2 AND id = $3"
        + (" FOR UPDATE" if lock else ""), scope.account_id, scope.livemode, rule_id)


async def update_rule(scope: Scope, rule_id: str, changes: Mapping[str, object]) -> RadarRule:
    return await _one(RadarRule, f"UPDATE radar_rules SET {db.set_sql(list(changes), 4)} WHERE account_id = $1 "
                                 "AND livemode = $2 AND id = $3 RETURNING *",
                      scope.account_id, scope.livemode, rule_id, *changes.values())


async def delete_rule(scope: Scope, rule_id: str) -> bool:
    rows = await db.fetch("DELETE FROM radar_rules WHERE account_id = $1 AND livemode = $2 AND id = $3 RETURNING id",
                          scope.account_id, scope.livemode, rule_id)
    return bool(rows)


# ---------------------------------------------------------------------------------------- value lists


async def insert_list(value_list: ValueList) -> bool:
    """False when the alias is taken in this account's mode."""
    return await _insert("radar_value_lists", value_list, "ON CONFLICT (account_id, livemode, alias) DO NOTHING")


async def value_list(scope: Scope, list_id: str, *, lock: bool = False) -> ValueList | None:
    return await db.fetchrow_as(
        ValueList, "SELECT * FROM radar_value_lists WHERE account_id = $1 AND livemode = $2 AND id = $3"
        + (" FOR UPDATE" if lock else ""), scope.account_id, scope.livemode, list_id)


async def list_by_alias(scope: Scope, alias: str) -> ValueList | None:
    return await db.fetchrow_as(
        ValueList, "SELECT * FROM radar_value_lists WHERE account_id = $1 AND livemode = $2 AND alias = $3",
        scope.account_id, scope.livemode, alias)


async def value_lists(scope: Scope, after: str | None, limit: int, alias: str | None = None) -> list[ValueList]:
    """Newest first, `limit + 1` rows for keyset paging."""
    args: list[Any] = [scope.account_id, scope.livemode]
    where = "account_id = $1 AND livemode = $2"
    if alias is not None:
        args.append(alias)
        where += f" AND alias = ${len(args)}"
    if after:
        args.append(after)
        where += f" AND id < ${len(args)}"
    args.append(limit + 1)
    return await db.fetch_as(ValueList, f"SELECT * FROM radar_value_lists WHERE {where} ORDER BY id DESC "
                                        f"LIMIT ${len(args)}", *args)


async def aliases(scope: Scope) -> set[str]:
    rows = await db.fetch("SELECT alias FROM radar_value_lists WHERE account_id = $1 AND livemode = $2",
                          scope.account_id, scope.livemode)
    return {row["alias"] for row in rows}


async def update_list(scope: Scope, list_id: str, alias: str, name: str,
                      metadata: dict[str, str]) -> ValueList | None:
    """None when another list of the account's mode has the alias."""
    return await db.fetchrow_as(
        ValueList, "UPDATE radar_value_lists SET alias = $4, name = $5, metadata = $6 WHERE account_id = $1 "
                   "AND livemode = $2 AND id = $3 AND NOT EXISTS (SELECT 1 FROM radar_value_lists o WHERE "
                   "o.account_id = $1 AND o.livemode = $2 AND o.id <> $3 AND o.alias = $4) RETURNING *",
        scope.account_id, scope.livemode, list_id, alias, name, metadata)


async def delete_list(scope: Scope, list_id: str) -> None:
    await db.execute("DELETE FROM radar_value_list_items WHERE account_id = $1 AND livemode = $2 "
                     "AND value_list_id = $3", scope.account_id, scope.livemode, list_id)
    await db.execute("DELETE FROM radar_value_lists WHERE account_id = $1 AND livemode = $2 AND id = $3",
                     scope.account_id, scope.livemode, list_id)


async def insert_item(item: ValueListItem) -> bool:
    """False when the list already holds the value."""
    return await _insert("radar_value_list_items", item, "ON CONFLICT (value_list_id, folded) DO NOTHING")


async def item(scope: Scope, item_id: str) -> ValueListItem | None:
    return await db.fetchrow_as(
        ValueListItem, "SELECT * FROM radar_value_list_items WHERE account_id = $1 AND livemode = $2 AND id = $3",
        scope.account_id, scope.livemode, item_id)


async def item_by_value(scope: Scope, list_id: str, folded: str) -> ValueListItem | None:
    return await db.fetchrow_as(
        ValueListItem, "SELECT * FROM radar_value_list_items WHERE account_id = $1 AND livemode = $2 "
                       "AND value_list_id = $3 AND folded = $4", scope.account_id, scope.livemode, list_id, folded)


async def items(scope: Scope, list_id: str, after: str | None, limit: int,
                folded: str | None = None) -> list[ValueListItem]:
    args: list[Any] = [scope.account_id, scope.livemode, list_id]
    where = "account_id = $1 AND livemode = $2 AND value_list_id = $3"
    if folded is not None:
        args.append(folded)
        where += f" AND folded = ${len(args)}"
    if after:
        args.append(after)
        where += f" AND id < ${len(args)}"
    args.append(limit + 1)
    return await db.fetch_as(ValueListItem, f"SELECT * FROM radar_value_list_items WHERE {where} ORDER BY id DESC "
                                            f"LIMIT ${len(args)}", *args)


async def item_counts(scope: Scope, list_ids: Sequence[str]) -> dict[str, int]:
    rows = await db.fetch("SELECT value_list_id, count(*) AS n FROM radar_value_list_items WHERE account_id = $1 "
                          "AND livemode = $2 AND value_list_id = ANY($3::text[]) GROUP BY value_list_id",
                          scope.account_id, scope.livemode, list(list_ids))
    return {row["value_list_id"]: row["n"] for row in rows}


async def list_values(scope: Scope, aliases: Sequence[str]) -> dict[str, list[str]]:
    """Every folded value of the named lists (a backtest binds them)."""
    rows = await db.fetch("SELECT l.alias, i.folded FROM radar_value_list_items i JOIN radar_value_lists l "
                          "ON l.id = i.value_list_id WHERE l.account_id = $1 AND l.livemode = $2 "
                          "AND l.alias = ANY($3::text[])", scope.account_id, scope.livemode, list(aliases))
    found: dict[str, list[str]] = {alias: [] for alias in aliases}
    for row in rows:
        found[row["alias"]].append(row["folded"])
    return found


async def delete_item(scope: Scope, item_id: str) -> bool:
    rows = await db.fetch("DELETE FROM radar_value_list_items WHERE account_id = $1 AND livemode = $2 AND id = $3 "
                          "RETURNING id", scope.account_id, scope.livemode, item_id)
    return bool(rows)


# ---------------------------------------------------------------------------------------- evaluations


async def insert_evaluation(evaluation: RiskEvaluation) -> None:
    await _insert("risk_evaluations", evaluation)


async def evaluation(scope: Scope, evaluation_id: str) -> RiskEvaluation | None:
    return await db.fetchrow_as(
        RiskEvaluation, "SELECT * FROM risk_evaluations WHERE account_id = $1 AND livemode = $2 AND id = $3",
        scope.account_id, scope.livemode, evaluation_id)


async def evaluations_of(scope: Scope, object_ids: Sequence[str]) -> list[RiskEvaluation]:
    return await db.fetch_as(
        RiskEvaluation, "SELECT * FROM risk_evaluations WHERE account_id = $1 AND livemode = $2 "
                        "AND object_id = ANY($3::text[])", scope.account_id, scope.livemode, list(object_ids))


class BacktestCounts(msgspec.Struct, kw_only=True):
    evaluated: int
    matched: int
    payments_matched: int
    transfers_matched: int


async def backtest(scope: Scope, since: datetime, until: datetime, condition: str,
                   params: Sequence[Any]) -> BacktestCounts:
    """Count the evaluations of the period and those matching `condition` (SQL from `Rule.to_sql`, whose
    parameters start at $5). One pass over the period's rows of this account's mode, read through
    `risk_evaluations_scope_created`; the signals are stored inline and uncompressed for it."""
    return await _one(BacktestCounts, f"""
        SELECT count(*) AS evaluated,
               count(*) FILTER (WHERE matched) AS matched,
               count(*) FILTER (WHERE matched AND object_type = 'payment_intent') AS payments_matched,
               count(*) FILTER (WHERE matched AND object_type = 'transfer') AS transfers_matched
        FROM (SELECT object_type, {condition} AS matched FROM risk_evaluations
              WHERE account_id = $1 AND livemode = $2 AND created > $3 AND created <= $4) e""",
        scope.account_id, scope.livemode, since, until, *params)


async def backtest_examples(scope: Scope, since: datetime, until: datetime, condition: str,
                            params: Sequence[Any], limit: int) -> list[RiskEvaluation]:
    """The latest evaluations of the period that match (to show what a rule would catch)."""
    return await db.fetch_as(RiskEvaluation, f"""
        SELECT * FROM risk_evaluations WHERE account_id = $1 AND livemode = $2 AND created > $3 AND created <= $4
        AND {condition} ORDER BY created DESC LIMIT {int(limit)}""",
        scope.account_id, scope.livemode, since, until, *params)


class BlockRate(msgspec.Struct, kw_only=True):
    evaluated: int
    blocked: int
    last_alert: datetime | None


async def block_rate(scope: Scope, since: datetime) -> BlockRate:
    """Evaluations and blocks since `since` (an index-only scan), and when the last alert fired."""
    return await _one(BlockRate, """
        SELECT count(*) AS evaluated, count(*) FILTER (WHERE outcome = 'block') AS blocked,
               (SELECT max(created) FROM radar_alerts WHERE account_id = $1 AND livemode = $2) AS last_alert
        FROM risk_evaluations WHERE account_id = $1 AND livemode = $2 AND created > $3""",
        scope.account_id, scope.livemode, since)


async def lock_alerts(scope: Scope) -> None:
    """Serialize alert checks of one account's mode until the transaction ends."""
    await db.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                     f"radar_alerts:{scope.account_id}:{scope.livemode}")


async def insert_alert(alert: RadarAlert) -> None:
    await _insert("radar_alerts", alert)


async def latest_alert(scope: Scope, since: datetime) -> RadarAlert | None:
    return await db.fetchrow_as(
        RadarAlert, "SELECT * FROM radar_alerts WHERE account_id = $1 AND livemode = $2 AND created > $3 "
                    "ORDER BY created DESC LIMIT 1", scope.account_id, scope.livemode, since)


# ---------------------------------------------------------------------------------------- reviews


async def insert_review(review: Review) -> bool:
    """False when the object already has a review."""
    return await _insert("reviews", review, "ON CONFLICT (account_id, livemode, object_id) DO NOTHING")


async def review(scope: Scope, review_id: str, *, lock: bool = False) -> Review | None:
    return await db.fetchrow_as(
        Review, "SELECT * FROM reviews WHERE account_id = $1 AND livemode = $2 AND id = $3"
        + (" FOR UPDATE" if lock else ""), scope.account_id, scope.livemode, review_id)


async def reviews(scope: Scope, after: str | None, limit: int, open_: bool | None = None) -> list[Review]:
    args: list[Any] = [scope.account_id, scope.livemode]
    where = "account_id = $1 AND livemode = $2"
    if open_ is not None:
        args.append(open_)
        where += f" AND open = ${len(args)}"
    if after:
        args.append(after)
        where += f" AND id < ${len(args)}"
    args.append(limit + 1)
    return await db.fetch_as(Review, f"SELECT * FROM reviews WHERE {where} ORDER BY id DESC LIMIT ${len(args)}",
                             *args)


async def reviews_of(scope: Scope, object_ids: Sequence[str]) -> list[Review]:
    return await db.fetch_as(Review, "SELECT * FROM reviews WHERE account_id = $1 AND livemode = $2 "
                                     "AND object_id = ANY($3::text[])", scope.account_id, scope.livemode,
                             list(object_ids))


async def close_review(scope: Scope, review_id: str, reason: str, by: str, now: datetime) -> Review:
    return await _one(Review, "UPDATE reviews SET open = false, closed_reason = $4, closed_by = $5, closed = $6 "
                              "WHERE account_id = $1 AND livemode = $2 AND id = $3 RETURNING *",
                      scope.account_id, scope.livemode, review_id, reason, by, now)


async def review_subjects(scope: Scope, object_ids: Sequence[str]) -> list[ReviewSubject]:
    """The reviewed payments and transfers, in short."""
    return await db.fetch_as(ReviewSubject, """
        SELECT id, amount, currency, status, customer_id, card_brand, card_last4 FROM payment_intents
        WHERE account_id = $1 AND livemode = $2 AND id = ANY($3::text[])
        UNION ALL
        SELECT id, amount, currency, 'succeeded', from_customer, NULL, NULL FROM transfers
        WHERE account_id = $1 AND livemode = $2 AND id = ANY($3::text[])""",
        scope.account_id, scope.livemode, list(object_ids))
