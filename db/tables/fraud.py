"""Radar: rules, value lists and their items, risk evaluations (signals for backtests), reviews, alerts."""

from piccolo.columns import JSONB, Boolean, Bytea, Integer, Real, Timestamptz, Varchar
from piccolo.table import Table


class RadarRule(Table, tablename="radar_rules"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    action = Varchar(length=10)
    rule = Varchar(length=1000)
    shadow = Boolean(default=False)
    is_default = Boolean(default=False)
    created = Timestamptz()
    updated = Timestamptz()


class RadarValueList(Table, tablename="radar_value_lists"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    alias = Varchar(length=100)
    name = Varchar(length=100)
    item_type = Varchar(length=20)
    metadata = JSONB(default={})
    is_default = Boolean(default=False)
    created_by = Varchar(length=320)
    created = Timestamptz()


class RadarValueListItem(Table, tablename="radar_value_list_items"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    value_list_id = Varchar(length=40)
    value = Varchar(length=800)
    folded = Varchar(length=800)  # what rules match it on (ASCII lower case)
    created_by = Varchar(length=320)
    created = Timestamptz()


class RiskEvaluation(Table, tablename="risk_evaluations"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    object_type = Varchar(length=20)
    object_id = Varchar(length=40)
    score = Integer()
    level = Varchar(length=10)
    outcome = Varchar(length=10)
    rule_id = Varchar(length=40, null=True, default=None)
    explanation = JSONB(default={})
    signals = JSONB(default={})  # stored inline and uncompressed: backtests read it (see the raw migration)
    created = Timestamptz()


class Review(Table, tablename="reviews"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    object_type = Varchar(length=20)
    object_id = Varchar(length=40)
    evaluation_id = Varchar(length=40)
    rule_id = Varchar(length=40, null=True, default=None)
    open = Boolean(default=True)
    opened_reason = Varchar(length=20)
    closed_reason = Varchar(length=20, null=True, default=None)
    closed_by = Varchar(length=320, null=True, default=None)
    created = Timestamptz()
    closed = Timestamptz(null=True, default=None)


class RadarAlert(Table, tablename="radar_alerts"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    evaluated = Integer()
    blocked = Integer()
    threshold = Real()
    created = Timestamptz()


class RadarSetup(Table, tablename="radar_setups"):
    """An account's mode that has its default lists and rules."""

    id = Varchar(length=60, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    created = Timestamptz()


class RadarSecret(Table, tablename="radar_secrets"):
    """Installation-wide keys: `card_fingerprint` keys the card fingerprints of risk evaluations."""

    name = Varchar(length=40, primary_key=True)
    value = Bytea()
