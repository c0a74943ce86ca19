"""Seller benchmarks: each period's releases, computed once, each seller's own values and the privacy budget ledger.

- `BenchmarkPeriod`: one row per (mode, month) whose releases were computed: the unique key is what
  refuses computing a period twice; `policy` keeps the parameters (k, ε, cap) the period was released with.
- `BenchmarkRelease`: one row per cohort and kind: the cohort's size bucket (`kind = 'count'`) or one
  metric's released quantiles, or why it was suppressed or refused. Releases are not any seller's data:
  they carry no account id.
- `BenchmarkSellerValue`: each seller's own exact value of each metric in the period (null: undefined)
  and the release of the cohort it was benchmarked in; only the seller itself ever reads its row.
- `PrivacyBudgetEntry`: the append-only ledger of ε spent: which release spent how much for which seller.
  A trigger refuses UPDATE, DELETE and TRUNCATE (raw migration `db_2026_11_30t16_14_40_000000.py`).
"""

from piccolo.columns import JSONB, BigSerial, Boolean, Date, DoublePrecision, Text, Timestamptz, Varchar
from piccolo.table import Table


class BenchmarkPeriod(Table, tablename="benchmark_periods"):
    id = Varchar(length=40, primary_key=True)
    livemode = Boolean()
    period = Date()  # the month's first day
    policy = JSONB(default={})  # k_quartiles, k_median, epsilon_*, monthly_epsilon_cap in force
    computed_at = Timestamptz()


class BenchmarkRelease(Table, tablename="benchmark_releases"):
    id = Varchar(length=40, primary_key=True)
    livemode = Boolean()
    period = Date()
    category = Varchar(length=40)
    region = Varchar(length=20)  # a region, or 'global' (the category's fallback cohort)
    kind = Varchar(length=40)  # 'count' or a metric name
    status = Varchar(length=16)  # released | suppressed | refused
    size_bucket = Varchar(length=16, null=True, default=None)  # "500+", "100+"; null: below k (or refused)
    p25 = DoublePrecision(null=True, default=None)
    p50 = DoublePrecision(null=True, default=None)
    p75 = DoublePrecision(null=True, default=None)
    epsilon = DoublePrecision(default=0.0)  # what each member spent on it
    reason = Text(default="")
    created = Timestamptz()


class BenchmarkSellerValue(Table, tablename="benchmark_seller_values"):
    id = BigSerial(primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    period = Date()
    metric = Varchar(length=40)
    value = DoublePrecision(null=True, default=None)  # the seller's exact value; null: not defined this month
    release_id = Varchar(length=40)  # the release of the cohort the seller was benchmarked in


class PrivacyBudgetEntry(Table, tablename="privacy_budget_ledger"):
    id = BigSerial(primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    period = Date()
    release_id = Varchar(length=40)
    epsilon = DoublePrecision()
    created = Timestamptz()
