"""What every rollup column counts: one declarative list, read by the follower and by the verifier alike.

A metric is a function of one object's snapshot: the JSON that `emit()` stores with each event about
the object, which is also what the object's serializer makes of its row. So:

- the **follower** (`follower.py`) reads an event, computes the object's contribution from the
  snapshot, and moves the rollups by the difference from what the object contributed before
  (`analytics_facts`);
- the **verifier** (`verify.py`) reads the source rows, turns each into the same snapshot with the same
  serializer, and sums the same contributions.

Both call `contribution()` below, so they cannot count differently. A new metric is a column on
`analytics_rollups` (a migration) and one `Metric(...)` line here; `paydeck analytics verify --rebuild`
fills the column for history already stored.

A contribution lands in the 15-minute bucket of the object's own `created` time and in the object's
currency: a payment's attempt, outcome, gross, fee and net count when the payment was created (like
a charge's date), a refund when the refund was created, a customer when created, a dispute when the
processor reported it: a chargeback counts once (an inquiry from when it escalates), and its amount
while the merchant is without it (withdrawn and neither won back nor covered by seller protection;
the dispute fee is not in it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

import msgspec

from server.analytics.buckets import bucket_start
from server.customers import rows as customer_rows
from server.customers.serial import credit_json, customer_json, transfer_json
from server.disputes import rows as dispute_rows
from server.disputes.serial import amount_lost, dispute_counts, dispute_json
from server.payments import rows as payment_rows
from server.payments.serial import intent_json, refund_json

Snapshot = Mapping[str, Any]
NO_CURRENCY = ""  # the rollup row of metrics that have no currency (new customers)


class Unit(StrEnum):
    COUNT = "count"
    AMOUNT = "amount"  # minor units of the row's currency


Row = TypeVar("Row", bound=msgspec.Struct)


@dataclass(frozen=True)
class Source(Generic[Row]):
    """A kind of object that contributes: its table and typed row, its events' object type, its snapshot."""

    object_type: str  # events.object_type of the events that carry its snapshot
    table: str
    row: type[Row]  # the typed row of `table` (its domain's rows.py)
    snapshot: Callable[[Row], Snapshot]  # a row -> the snapshot its events carry (the domain's serializer)
    currency: Callable[[Snapshot], str]


@dataclass(frozen=True)
class Metric:
    column: str
    source: Source[Any]
    value: Callable[[Snapshot], int]  # what one object adds to its bucket (0: nothing)
    unit: Unit = Unit.COUNT


@dataclass(frozen=True)
class CodeCounts:
    """A jsonb column counting objects per code (decline codes)."""

    column: str
    source: Source[Any]
    code: Callable[[Snapshot], str | None]  # None: the object adds nothing


def _upper(field: str) -> Callable[[Snapshot], str]:
    return lambda snap: str(snap[field]).upper()


def _intent_snapshot(pi: payment_rows.PaymentIntent) -> Snapshot:
    return intent_json(pi, with_secret=False)


PAYMENT_INTENTS = Source("payment_intent", "payment_intents", payment_rows.PaymentIntent, _intent_snapshot,
                         _upper("currency"))
REFUNDS = Source("refund", "refunds", payment_rows.Refund, refund_json, _upper("currency"))
CUSTOMERS = Source("customer", "customers", customer_rows.Customer, customer_json, lambda snap: NO_CURRENCY)
CREDITS = Source("credit", "credits", customer_rows.Credit, credit_json, _upper("currency"))
TRANSFERS = Source("transfer", "transfers", customer_rows.Transfer, transfer_json,
                   _upper("currency"))  # the sender's currency
DISPUTES = Source("dispute", "disputes", dispute_rows.Dispute, dispute_json, _upper("currency"))
SOURCES: tuple[Source[Any], ...] = (PAYMENT_INTENTS, REFUNDS, CUSTOMERS, CREDITS, TRANSFERS, DISPUTES)
BY_OBJECT_TYPE = {s.object_type: s for s in SOURCES}

CONFIRMED = {"processing", "requires_capture", "succeeded", "failed"}


def confirmed(pi: Snapshot) -> bool:
    """Sent to the processor: every status after confirm, and a cancel after an authorization (it has a card)."""
    return pi["status"] in CONFIRMED or (pi["status"] == "canceled" and pi.get("card") is not None)


def succeeded(pi: Snapshot) -> bool:
    return pi["status"] == "succeeded"


def refund_counts(refund: Snapshot) -> bool:
    """A pending or succeeded refund has left the merchant balance; a failed one was put back."""
    return refund["status"] != "failed"


def decline_code(pi: Snapshot) -> str | None:
    if pi["status"] != "failed":
        return None
    return (pi.get("last_payment_error") or {}).get("code") or "unknown"


METRICS: list[Metric] = [
    Metric("attempts", PAYMENT_INTENTS, lambda pi: int(confirmed(pi))),
    Metric("succeeded", PAYMENT_INTENTS, lambda pi: int(succeeded(pi))),
    Metric("failed", PAYMENT_INTENTS, lambda pi: int(pi["status"] == "failed")),
    Metric("canceled", PAYMENT_INTENTS, lambda pi: int(pi["status"] == "canceled")),
    Metric("gross_amount", PAYMENT_INTENTS, lambda pi: pi["amount_received"] if succeeded(pi) else 0, Unit.AMOUNT),
    Metric("fee_amount", PAYMENT_INTENTS, lambda pi: pi["fee"] if succeeded(pi) else 0, Unit.AMOUNT),
    Metric("net_amount", PAYMENT_INTENTS, lambda pi: pi["amount_received"] - pi["fee"] if succeeded(pi) else 0,
           Unit.AMOUNT),
    Metric("refund_count", REFUNDS, lambda r: int(refund_counts(r))),
    Metric("refund_amount", REFUNDS, lambda r: r["amount"] if refund_counts(r) else 0, Unit.AMOUNT),
    Metric("new_customers", CUSTOMERS, lambda c: 1),
    Metric("credit_count", CREDITS, lambda c: 1),
    Metric("credit_amount", CREDITS, lambda c: c["amount"], Unit.AMOUNT),
    Metric("transfer_count", TRANSFERS, lambda t: 1),
    Metric("transfer_amount", TRANSFERS, lambda t: t["amount"], Unit.AMOUNT),
    Metric("dispute_count", DISPUTES, lambda d: int(dispute_counts(d))),
    Metric("dispute_amount", DISPUTES, amount_lost, Unit.AMOUNT),
]
CODE_COUNTS: list[CodeCounts] = [
    CodeCounts("decline_codes", PAYMENT_INTENTS, decline_code),
]

# Columns that exist before the line that fills them (see the module docstring).
RESERVED_COLUMNS: dict[str, Unit] = {}


def scalar_columns() -> dict[str, Unit]:
    """Every numeric column of analytics_rollups, in a stable order."""
    return {**{m.column: m.unit for m in METRICS}, **RESERVED_COLUMNS}


def code_columns() -> list[str]:
    return [c.column for c in CODE_COUNTS]


# --- contributions -----------------------------------------------------------------------------

Values = dict[str, Any]  # column -> int, or code column -> {code: count}


@dataclass(frozen=True)
class Contribution:
    """What one object adds to one rollup row."""

    bucket: int  # Unix seconds of the bucket start
    currency: str
    values: Values

    def to_json(self) -> dict[str, Any]:
        return self.values


def contribution(source: Source[Any], snap: Snapshot) -> Contribution:
    values: Values = {}
    for metric in METRICS:
        if metric.source is source:
            amount = int(metric.value(snap))
            if amount:
                values[metric.column] = amount
    for counts in CODE_COUNTS:
        if counts.source is source and (code := counts.code(snap)):
            values[counts.column] = {str(code)[:80]: 1}
    return Contribution(bucket_start(int(snap["created"])), source.currency(snap), values)


def add_into(target: Values, values: Mapping[str, Any], sign: int = 1) -> None:
    """target += sign × values, column by column and code by code; zeros are dropped."""
    for column, value in values.items():
        if isinstance(value, Mapping):
            codes = target.setdefault(column, {})
            for code, count in value.items():
                total = codes.get(code, 0) + sign * int(count)
                if total:
                    codes[code] = total
                else:
                    codes.pop(code, None)
            if not codes:
                del target[column]
        else:
            total = target.get(column, 0) + sign * int(value)
            if total:
                target[column] = total
            else:
                target.pop(column, None)
