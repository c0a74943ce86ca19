"""The Radar rule language: what parses, what is refused and where, how rules evaluate, decide and compile to SQL."""

from __future__ import annotations

import pytest

from server.errors import InvalidRequest
from server.fraud.rules import MAX_NESTING, MAX_RULE_LENGTH, RuleError, decide, fold_list, jsonb_signal, parse
from server.fraud.signals import CATALOGUE, RISK_LEVELS, VELOCITY_KEYS, VELOCITY_WINDOWS, Signal, SignalType

VALID = [
    ("block if :card_country: != :ip_country: and :amount_in_usd: > 500", "block",
     {"card_country", "ip_country", "amount_in_usd"}, set()),
    ("review if :card_count_for_ip_address_hourly: > 3", "review", {"card_count_for_ip_address_hourly"}, set()),
    ("allow if :email: in @vip_customers", "allow", {"email"}, {"vip_customers"}),
    ("block if :risk_level: = 'highest'", "block", {"risk_level"}, set()),
    ("review if :risk_score: >= 65 and not :is_3d_secure:", "review", {"risk_score", "is_3d_secure"}, set()),
    ("block if :card_country: in ('NG', 'GH')", "block", {"card_country"}, set()),
    ('block if :email_domain: = "mailinator.com"', "block", {"email_domain"}, set()),
    ("review if (:amount: > 100 or :is_new_customer:) and not (:card_funding: = 'prepaid')", "review",
     {"amount", "is_new_customer", "card_funding"}, set()),
    ("BLOCK IF :amount: < -1.5 OR :is_3d_secure: = FALSE", "block", {"amount", "is_3d_secure"}, set()),
    ("review if :amount: in (100, 200.50, .5)", "review", {"amount"}, set()),
    ("allow if\n  :customer: in @trusted\n  and :ip_address: in @office_ips", "allow",
     {"customer", "ip_address"}, {"trusted", "office_ips"}),
    ("block if not not :is_new_customer:", "block", {"is_new_customer"}, set()),
    ("block if :amount_vs_customer_median: >= 5", "block", {"amount_vs_customer_median"}, set()),
    (r"block if :user_agent: = 'it\'s a bot'", "block", {"user_agent"}, set()),
]


@pytest.mark.parametrize(("text", "action", "attributes", "lists"), VALID)
def test_valid_rules_parse(text, action, attributes, lists):
    rule = parse(text, CATALOGUE)
    assert (rule.action, set(rule.attributes), set(rule.lists), rule.text) == (action, attributes, lists, text)


# (rule, 1-based column, a phrase the message must contain)
INVALID = [
    ("", 1, "expected allow, block or review at column 1, found the end of the rule"),
    ("blok if :amount: > 1", 1, "expected allow, block or review at column 1, found 'blok'"),
    ("block :amount: > 1", 7, "expected 'if' at column 7"),
    ("block if", 9, "expected an attribute like :amount:, 'not' or '(' at column 9"),
    ("block if 500 < :amount:", 10, "expected an attribute like :amount:, 'not' or '(' at column 10, found '500'"),
    ("block if :amount: 5", 19, "expected an operator (=, !=, <, <=, >, >=), 'in', 'and', 'or' or the end"),
    ("block if :amount: == 5", 20, "a number, true or false at column 20, found '='"),
    ("block if :amount: >", 20, "expected an attribute like :amount:, a string like 'US', a number, true or false"),
    ("block if :amount: > 1 andy", 23, "expected 'and', 'or' or the end of the rule at column 23, found 'andy'"),
    ("block if (:amount: > 1", 23, "expected 'and', 'or' or ')' at column 23, found the end of the rule"),
    ("block if :amount: > 1)", 22, "expected 'and', 'or' or the end of the rule at column 22, found ')'"),
    ("block if :amount: > 1 ; drop table", 23, "found ';'"),
    ("block if ()", 11, "expected an attribute like :amount:, 'not' or '(' at column 11, found ')'"),
    ("block if :email: in @", 21, "expected a list like @blocked_emails or '(' at column 21"),
    ("block if :email: in ()", 22, "expected a string like 'US', a number, true or false at column 22"),
    ("block if :email: in ('a' 'b')", 26, "expected ',' or ')' at column 26"),
    ("block if :email: = 'open", 20, "the string at column 20 is never closed"),
    ("block if :amount: > 1 and", 26, "'not' or '(' at column 26, found the end of the rule"),
    ("block if :amont: > 1", 10, "unknown attribute :amont: at column 10 (did you mean :amount:?)"),
    ("block if :nothing_like_it: > 1", 10, "unknown attribute :nothing_like_it: at column 10;"),
    ("block if :amount: > :nope:", 21, "unknown attribute :nope: at column 21"),
    ("block if :email: > 5", 20, ":email: is a string but 5 is a number; expected a string at column 20"),
    ("block if :amount: = 'x'", 21, ":amount: is a number but 'x' is a string; expected a number at column 21"),
    ("block if :amount: = :email:", 21, ":amount: is a number but :email: is a string"),
    ("block if :is_3d_secure: = 1", 27, ":is_3d_secure: is a bool but 1 is a number"),
    ("block if :card_country: < 'US'", 25, "< compares numbers but :card_country: is a string; expected = or !="),
    ("block if :is_new_customer: >= true", 28, ">= compares numbers but :is_new_customer: is a bool"),
    ("block if :email:", 17, ":email: is a string; expected a comparison after it at column 17"),
    ("block if not :amount:", 22, ":amount: is a number; expected a comparison after it"),
    ("block if :amount: in @big_spenders", 10, "value lists hold strings but :amount: is a number"),
    ("block if :is_3d_secure: in (true)", 10, ":is_3d_secure: is a bool; 'in' needs a string or number attribute"),
    ("block if :amount: in (1, 'two')", 26, ":amount: is a number but 'two' is a string"),
    ("block if :risk_level: = 'hihgest'", 25, ":risk_level: is one of 'normal', 'elevated', 'highest'"),
    ("block if :card_funding: in ('credit', 'gift')", 39, ":card_funding: is one of 'credit', 'debit'"),
]


@pytest.mark.parametrize(("text", "column", "message"), INVALID)
def test_invalid_rules_name_the_column_and_what_was_expected(text, column, message):
    with pytest.raises(RuleError) as caught:
        parse(text, CATALOGUE)
    error = caught.value
    assert error.column == column, error.message
    assert message in error.message
    assert error.expected, "every refusal says what was expected"
    body = error.to_dict()
    assert (body["param"], body["code"], body["column"]) == ("rule", "invalid_rule", column)
    assert isinstance(error, InvalidRequest), "the REST layer renders it as a 400 naming the field"


def test_unknown_list_is_refused_only_when_the_known_lists_are_given():
    assert parse("allow if :email: in @vip", CATALOGUE).lists == {"vip"}
    with pytest.raises(RuleError) as caught:
        parse("allow if :email: in @vip", CATALOGUE, known_lists={"trusted"})
    assert (caught.value.column, caught.value.found) == (21, "@vip")
    assert parse("allow if :email: in @vip", CATALOGUE, known_lists={"vip"}).lists == {"vip"}


def test_length_and_nesting_are_bounded():
    with pytest.raises(RuleError, match="at most"):
        parse("block if " + " " * MAX_RULE_LENGTH + ":is_3d_secure:", CATALOGUE)
    deep = "block if " + "(" * (MAX_NESTING + 2) + ":is_3d_secure:" + ")" * (MAX_NESTING + 2)
    with pytest.raises(RuleError, match="nests deeper"):
        parse(deep, CATALOGUE)
    shallow = "block if " + "(" * 10 + ":is_3d_secure:" + ")" * 10
    assert parse(shallow, CATALOGUE).evaluate({"is_3d_secure": True}, {})


def test_the_parser_accepts_any_catalogue():
    catalogue = {"plan": Signal("plan", SignalType.STRING, "the subscription plan")}
    assert parse("allow if :plan: = 'pro'", catalogue).evaluate({"plan": "PRO"}, {})
    with pytest.raises(RuleError, match="unknown attribute :amount:"):
        parse("allow if :amount: > 1", catalogue)


def test_catalogue_has_every_velocity_signal_and_the_documented_names():
    for name in ("card_count_for_ip_address_hourly", "email_count_for_card_daily", "charge_attempts_per_card_minutely",
                 "amount_in_usd_per_ip_address_weekly", "ip_address_count_for_customer_weekly", "amount",
                 "amount_in_usd", "currency", "card_country", "ip_country", "card_brand", "card_funding", "email",
                 "email_domain", "customer", "is_new_customer", "amount_vs_customer_median", "risk_score",
                 "risk_level"):
        assert name in CATALOGUE, name
        assert CATALOGUE[name].description
    keys, windows = len(VELOCITY_KEYS), len(VELOCITY_WINDOWS)
    velocity = [n for n in CATALOGUE if n.endswith(tuple(w.suffix for w in VELOCITY_WINDOWS))]
    assert len(velocity) == keys * windows * (2 + keys - 1)
    assert all(CATALOGUE[n].type is SignalType.NUMBER for n in velocity)
    assert CATALOGUE["risk_level"].values == RISK_LEVELS


PAYMENT = {
    "amount": 60000, "amount_in_usd": 600.0, "currency": "USD", "card_country": "US", "ip_country": "GB",
    "email": "Buyer@Example.com", "email_domain": "example.com", "customer": "cus_1", "is_3d_secure": False,
    "is_new_customer": True, "risk_score": 70, "risk_level": "elevated", "card_count_for_ip_address_hourly": 4,
}

# (rule, signal overrides, expected)
EVALUATIONS = [
    ("block if :card_country: != :ip_country: and :amount_in_usd: > 500", {}, True),
    ("block if :card_country: != :ip_country: and :amount_in_usd: > 500", {"ip_country": "US"}, False),
    ("block if :card_country: != :ip_country: and :amount_in_usd: > 500", {"amount_in_usd": 500}, False),
    ("block if :card_country: != :ip_country:", {"ip_country": None}, False),
    ("block if :card_country: = :ip_country:", {"ip_country": "us"}, True),
    ("review if :card_count_for_ip_address_hourly: > 3", {}, True),
    ("review if :card_count_for_ip_address_hourly: > 3", {"card_count_for_ip_address_hourly": 3}, False),
    ("allow if :email: in @vip_customers", {}, True),
    ("allow if :email: in @vip_customers", {"email": "other@example.com"}, False),
    ("allow if :email: in @missing_list", {}, False),
    ("block if :risk_level: = 'highest'", {}, False),
    ("block if :risk_level: = 'HIGHEST'", {"risk_level": "highest"}, True),
    ("review if :risk_score: >= 65 and not :is_3d_secure:", {}, True),
    ("review if :risk_score: >= 65 and not :is_3d_secure:", {"is_3d_secure": True}, False),
    ("review if :risk_score: >= 65 and not :is_3d_secure:", {"risk_score": 64.99}, False),
    ("block if :email_domain: in ('EXAMPLE.com', 'x.org')", {}, True),
    ("block if :amount: in (100, 60000)", {}, True),
    ("block if :amount: in (100, 60000)", {"amount": 60000.0}, True),
    ("block if :currency: = 'usd'", {}, True),
    ("block if :currency: != 'usd'", {}, False),
    ("block if :is_new_customer:", {}, True),
    ("block if :is_new_customer: = false", {}, False),
    ("block if :is_new_customer: != false", {}, True),
    # A missing (or wrongly typed, or non-finite) value makes every test on it false ...
    ("block if :amount_vs_customer_median: > 5", {}, False),
    ("block if :amount_vs_customer_median: <= 5", {}, False),
    ("block if :amount_vs_customer_median: != 5", {}, False),
    ("block if :amount: > 5", {"amount": "60000"}, False),
    ("block if :amount: > 5", {"amount": True}, False),
    ("block if :amount: > 5", {"amount": float("nan")}, False),
    ("block if :amount: > 5", {"amount": float("inf")}, False),
    ("block if :email: = 'x'", {"email": 5}, False),
    ("block if :is_3d_secure:", {"is_3d_secure": "true"}, False),
    # ... and `not` negates that false.
    ("block if not :amount_vs_customer_median: > 5", {}, True),
    ("block if not :user_agent: in ('curl')", {}, True),
    ("block if :amount: > 1 or :amount_vs_customer_median: > 5", {}, True),
    ("block if :amount: > 1 and :amount_vs_customer_median: > 5", {}, False),
]


@pytest.mark.parametrize(("text", "overrides", "expected"), EVALUATIONS)
def test_evaluation(text, overrides, expected):
    signals = {**PAYMENT, **overrides}
    signals = {k: v for k, v in signals.items() if not (k in overrides and overrides[k] is None)}
    lists = {"vip_customers": fold_list(["BUYER@example.com", "ceo@example.com"])}
    assert parse(text, CATALOGUE).evaluate(signals, lists) is expected


def rules(*specs):
    return [parse(text, CATALOGUE, id=rule_id, shadow=shadow) for rule_id, text, shadow in specs]


def test_decide_allow_then_block_then_review_first_match_decides():
    ruleset = rules(
        ("r1", "review if :risk_score: >= 65", False),
        ("b1", "block if :card_country: != :ip_country:", False),
        ("b2", "block if :amount_in_usd: > 500", False),
        ("a1", "allow if :email: in @vip_customers", False),
    )
    vip = {"vip_customers": fold_list(["buyer@example.com"])}
    decision = decide(ruleset, PAYMENT, vip)
    assert (decision.action, decision.rule.id) == ("allow", "a1")
    assert [r.id for r in decision.matched] == ["a1", "b1", "b2", "r1"]

    decision = decide(ruleset, PAYMENT, {})
    assert (decision.action, decision.rule.id, [r.id for r in decision.matched]) == ("block", "b1", ["b1", "b2", "r1"])

    decision = decide(ruleset, {**PAYMENT, "ip_country": "US", "amount_in_usd": 10.0}, {})
    assert (decision.action, decision.rule.id) == ("review", "r1")

    decision = decide(ruleset, {"risk_score": 10}, {})
    assert (decision.action, decision.rule, decision.matched) == ("allow", None, [])


def test_shadow_rules_are_reported_but_never_decide():
    ruleset = rules(
        ("s1", "block if :amount_in_usd: > 100", True),
        ("s2", "allow if :amount_in_usd: > 100", True),
        ("s3", "block if :amount_in_usd: > 1000000", True),
        ("r1", "review if :is_new_customer:", False),
    )
    decision = decide(ruleset, PAYMENT, {})
    assert (decision.action, decision.rule.id) == ("review", "r1")
    assert [r.id for r in decision.matched] == ["r1"]
    assert [r.id for r in decision.shadow_matched] == ["s2", "s1"]

    only_shadow = decide(ruleset[:1], PAYMENT, {})
    assert (only_shadow.action, only_shadow.rule, [r.id for r in only_shadow.shadow_matched]) == ("allow", None, ["s1"])


def test_with_options_changes_mode_not_meaning():
    rule = parse("block if :is_new_customer:", CATALOGUE)
    shadow = rule.with_options(shadow=True, id="rule_1")
    assert (shadow.shadow, shadow.id, shadow.condition, rule.shadow) == (True, "rule_1", rule.condition, False)


FOLD = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'"

# (rule, expected SQL, expected params) with signals in a JSONB column named `signals`.
SQL = [
    ("block if :card_country: != :ip_country: and :amount_in_usd: > 500",
     f"(COALESCE(translate((signals->>'card_country'), {FOLD}) <> translate((signals->>'ip_country'), {FOLD}), false)"
     " AND COALESCE((signals->>'amount_in_usd')::double precision > $3::double precision, false))",
     [500.0]),
    ("review if :card_count_for_ip_address_hourly: > 3",
     "COALESCE((signals->>'card_count_for_ip_address_hourly')::double precision > $3::double precision, false)",
     [3.0]),
    ("allow if :email: in @vip_customers",
     f"COALESCE(translate((signals->>'email'), {FOLD}) = ANY($3::text[]), false)",
     [["a@example.com", "b@example.com"]]),
    ("block if :risk_level: = 'Highest'",
     f"COALESCE(translate((signals->>'risk_level'), {FOLD}) = $3::text, false)",
     ["highest"]),
    ("review if :risk_score: >= 65 and not :is_3d_secure:",
     "(COALESCE((signals->>'risk_score')::double precision >= $3::double precision, false)"
     " AND (NOT COALESCE((signals->>'is_3d_secure')::boolean, false)))",
     [65.0]),
    ("block if :amount: in (1, 2.5) or :is_new_customer: = true or :email_domain: in ('X.com')",
     "(COALESCE((signals->>'amount')::double precision = ANY($3::double precision[]), false)"
     " OR COALESCE((signals->>'is_new_customer')::boolean = $4::boolean, false)"
     f" OR COALESCE(translate((signals->>'email_domain'), {FOLD}) = ANY($5::text[]), false))",
     [[1.0, 2.5], True, ["x.com"]]),
]


@pytest.mark.parametrize(("text", "sql", "params"), SQL)
def test_to_sql(text, sql, params):
    lists = {"vip_customers": ["B@example.com", "a@example.com"]}
    compiled = parse(text, CATALOGUE).to_sql(jsonb_signal("signals"), lists.__getitem__, first_param=3)
    assert (compiled.sql, compiled.params) == (sql, params)


def test_to_sql_never_inlines_values():
    compiled = parse(r"block if :email: = 'x\'); drop table payments; --'", CATALOGUE).to_sql(
        jsonb_signal("s"), lambda alias: [])
    assert "drop" not in compiled.sql
    assert compiled.params == ["x'); drop table payments; --"]
