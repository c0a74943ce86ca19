"""The one JSON shape of each Radar object: REST bodies and event snapshots. Stripe's names where Stripe has them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.fraud.rows import RadarAlert, RadarRule, Review, RiskEvaluation, ValueList, ValueListItem
from server.fraud.storage import from_stored


def ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def predicate_of(rule: str) -> str:
    """The condition of `block if <condition>` (the text was parsed when saved, so it has the shape)."""
    return rule.split(None, 2)[2] if len(rule.split(None, 2)) == 3 else ""


def rule_json(rule: RadarRule) -> dict[str, Any]:
    return {"id": rule.id, "object": "radar.rule", "action": rule.action, "predicate": predicate_of(rule.rule),
            "rule": rule.rule, "shadow": rule.shadow, "default": rule.is_default, "livemode": rule.livemode,
            "created": ts(rule.created), "updated": ts(rule.updated)}


def value_list_json(value_list: ValueList, item_count: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": value_list.id, "object": "radar.value_list", "alias": value_list.alias, "name": value_list.name,
        "item_type": value_list.item_type, "metadata": value_list.metadata, "default": value_list.is_default,
        "created_by": value_list.created_by, "livemode": value_list.livemode, "created": ts(value_list.created)}
    if item_count is not None:
        body["item_count"] = item_count
    return body


def item_json(item: ValueListItem) -> dict[str, Any]:
    return {"id": item.id, "object": "radar.value_list_item", "value": item.value, "value_list": item.value_list_id,
            "created_by": item.created_by, "livemode": item.livemode, "created": ts(item.created)}


def review_json(review: Review) -> dict[str, Any]:
    return {"id": review.id, "object": "review",
            "payment_intent": review.object_id if review.object_type == "payment_intent" else None,
            "transfer": review.object_id if review.object_type == "transfer" else None,
            "open": review.open, "opened_reason": review.opened_reason, "closed_reason": review.closed_reason,
            "reason": review.closed_reason or review.opened_reason, "rule": review.rule_id,
            "evaluation": review.evaluation_id, "closed_by": review.closed_by, "livemode": review.livemode,
            "created": ts(review.created), "closed_at": ts(review.closed)}


def evaluation_json(evaluation: RiskEvaluation) -> dict[str, Any]:
    """The whole stored explanation, with every signal's value under its catalogue name."""
    return {"id": evaluation.id, "object": "radar.evaluation", "object_type": evaluation.object_type,
            evaluation.object_type: evaluation.object_id, "score": evaluation.score, "level": evaluation.level,
            "outcome": evaluation.outcome, **evaluation.explanation, "signals": from_stored(evaluation.signals),
            "livemode": evaluation.livemode, "created": ts(evaluation.created)}


def alert_json(alert: RadarAlert) -> dict[str, Any]:
    return {"id": alert.id, "object": "radar.alert", "evaluated": alert.evaluated, "blocked": alert.blocked,
            "block_rate": round(alert.blocked / alert.evaluated, 4) if alert.evaluated else 0.0,
            "threshold": alert.threshold, "window_seconds": 3600, "livemode": alert.livemode,
            "created": ts(alert.created)}
