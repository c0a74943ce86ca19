"""Analytics rollups: 15-minute UTC buckets that every chart, summary and report sums.

- `AnalyticsRollup`: payments, refunds, disputes, customers, credits and transfers per bucket, account,
  mode and currency (`''` for metrics without one, such as new customers). A metric is a column here
  (`RollupColumns`) and a line in `server/analytics/metrics.py`.
- `AnalyticsApiRollup`: API requests per bucket, endpoint group and key: status classes, a mergeable
  latency histogram (sparse jsonb, `server/analytics/histogram.py`) and error codes.
- `...Hourly` / `...Daily`: the same rows summed per UTC hour and day, written with the 15-minute rows,
  so a year reads about 400 rows per currency instead of 35,000 (`server/analytics/levels.py`).
- `AnalyticsFact`: what each source object (payment, refund, customer, credit, transfer) currently
  contributes to the rollups, so that a new snapshot of the object moves the rollups by the difference.
- `AnalyticsPosition`: how far the rollup follower has read the events outbox (the dispatcher's `pos`).

Unique keys, byte-wise ids and the jsonb summing functions are in the raw migration
`db/migrations/db_2026_11_30t14_44_30_000000.py`; docs/analytics.md explains the design.
"""

from decimal import Decimal

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, Numeric, Timestamptz, Varchar
from piccolo.table import Table

ZERO = Decimal(0)  # amounts are numeric: sums of many 64-bit amounts cannot overflow a bucket


class RollupColumns:
    """The columns of every level of payment rollups (a metric is one more line here)."""

    id = BigSerial(primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    bucket = Timestamptz()  # the bucket's start; buckets are [start, start + 15 min) in UTC
    currency = Varchar(length=3, default="")
    attempts = BigInt(default=0)
    succeeded = BigInt(default=0)
    failed = BigInt(default=0)
    canceled = BigInt(default=0)
    gross_amount = Numeric(default=ZERO)
    fee_amount = Numeric(default=ZERO)
    net_amount = Numeric(default=ZERO)
    refund_count = BigInt(default=0)
    refund_amount = Numeric(default=ZERO)
    dispute_count = BigInt(default=0)
    dispute_amount = Numeric(default=ZERO)
    new_customers = BigInt(default=0)
    credit_count = BigInt(default=0)
    credit_amount = Numeric(default=ZERO)
    transfer_count = BigInt(default=0)
    transfer_amount = Numeric(default=ZERO)
    decline_codes = JSONB(default={})  # decline code -> failed payments


class AnalyticsRollup(RollupColumns, Table, tablename="analytics_rollups"):
    """15-minute buckets: the level every other is summed from."""


class AnalyticsRollupHourly(RollupColumns, Table, tablename="analytics_rollups_hourly"):
    """UTC hours: the same numbers, so long ranges read a quarter of the rows."""


class AnalyticsRollupDaily(RollupColumns, Table, tablename="analytics_rollups_daily"):
    """UTC days: the same numbers again, for the inside of long ranges."""


class ApiRollupColumns:
    """The columns of every level of API rollups."""

    id = BigSerial(primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    bucket = Timestamptz()
    endpoint = Varchar(length=200)  # "POST /v1/payment_intents/{id}/confirm"
    api_key_id = Varchar(length=40, default="")  # '' for dashboard sessions
    requests = BigInt(default=0)
    status_2xx = BigInt(default=0)
    status_3xx = BigInt(default=0)
    status_4xx = BigInt(default=0)
    status_5xx = BigInt(default=0)
    latency = JSONB(default={})  # histogram bucket index -> requests
    error_codes = JSONB(default={})  # error code -> requests


class AnalyticsApiRollup(ApiRollupColumns, Table, tablename="analytics_api_rollups"):
    """15-minute buckets."""


class AnalyticsApiRollupHourly(ApiRollupColumns, Table, tablename="analytics_api_rollups_hourly"):
    """UTC hours."""


class AnalyticsApiRollupDaily(ApiRollupColumns, Table, tablename="analytics_api_rollups_daily"):
    """UTC days."""


class AnalyticsFact(Table, tablename="analytics_facts"):
    object_id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    bucket = Timestamptz()
    currency = Varchar(length=3, default="")
    contribution = JSONB(default={})  # rollup column -> amount (or code -> count for code columns)


class AnalyticsPosition(Table, tablename="analytics_positions"):
    name = Varchar(length=40, primary_key=True)
    position = BigInt(default=0)
    updated = Timestamptz()
