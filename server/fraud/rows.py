"""Typed rows of Radar: one field per column (`tests/test_rows.py` holds them to `db/tables/fraud.py`).

Their JSON shapes for REST and events are in `server/fraud/serial.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class RadarRule(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    action: str  # allow, block or review
    rule: str  # the whole text, `block if :risk_level: = 'highest'`
    shadow: bool  # evaluated and reported, never deciding
    is_default: bool  # one of the rules every account starts with
    created: datetime
    updated: datetime


class ValueList(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    alias: str  # how rules name it: @alias
    name: str
    item_type: str
    metadata: dict[str, str]
    is_default: bool
    created_by: str
    created: datetime


class ValueListItem(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    value_list_id: str
    value: str  # in its one spelling (server.fraud.lists.clean_value)
    folded: str  # what rules match it on
    created_by: str
    created: datetime


class RiskEvaluation(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    object_type: str  # payment_intent or transfer
    object_id: str
    score: int
    level: str
    outcome: str  # allow, review or block
    rule_id: str | None  # the rule that decided, if one did
    explanation: dict[str, Any]
    signals: dict[str, Any]  # stored keys (server.fraud.storage)
    created: datetime


class Review(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    object_type: str  # payment_intent or transfer
    object_id: str
    evaluation_id: str
    rule_id: str | None
    open: bool
    opened_reason: str  # rule
    closed_reason: str | None  # approved, refunded or refunded_as_fraud
    closed_by: str | None
    created: datetime
    closed: datetime | None


class RadarAlert(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    evaluated: int  # evaluations in the hour before it fired
    blocked: int
    threshold: float  # the block rate it crossed
    created: datetime


class RadarSetup(msgspec.Struct, kw_only=True):
    id: str  # account id and mode: `acct_…:test`
    account_id: str
    livemode: bool
    created: datetime


class EvaluationContext(msgspec.Struct, kw_only=True):
    """Everything an evaluation reads from PostgreSQL, in one round trip (queries.evaluation_context)."""

    set_up: bool
    rules: list[dict[str, Any]]  # id, rule, shadow
    hits: list[list[str]]  # [alias, folded value] of list items among the payment's values
    customer_email: str | None
    usd_rate: str | None  # the account's own rate to USD, when set
    usual_count: int
    usual_median: float | None


class ReviewSubject(msgspec.Struct, kw_only=True):
    """The payment or transfer of a review, in short (queries.review_subjects)."""

    id: str
    amount: int
    currency: str
    status: str
    customer_id: str | None
    card_brand: str | None
    card_last4: str | None
