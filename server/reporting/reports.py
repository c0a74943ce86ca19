"""What each report type holds: its rows, as CSV chunks.

The itemized types stream from SQL (`COPY … TO STDOUT`, `stream.CopyStream`): any size, constant memory.
The summaries are a few rows computed here: `balance.summary` from the ledger in one snapshot, checked to
tie (starting + activity = ending per balance and currency, or the run fails saying where it does not);
`usage.monthly` from the analytics rollups (and the ledger for dispute fees).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from server import db
from server.analytics import buckets
from server.analytics import service as analytics
from server.analytics.buckets import Interval
from server.context import Scope
from server.ledger.money import exponent
from server.reporting import queries
from server.reporting.catalog import BALANCE_COLUMNS, USAGE_COLUMNS
from server.reporting.rows import ReportRun
from server.reporting.stream import CopyStream

CHUNK = 1 << 20


class ReportFailed(Exception):
    """The report cannot be made from these parameters or this data; the run fails with this reason."""


def decimal(amount: int, currency: str) -> str:
    """Minor units as an exact decimal of the major unit: 1234 USD → "12.34", 1200 JPY → "1200"."""
    places = exponent(currency)
    return f"{Decimal(amount).scaleb(-places):.{places}f}"


class Source:
    """A report's CSV: iterate for chunks; `rows` once done; `total` (rows expected) when known ahead."""

    total: int | None = None
    rows: int = 0

    def __aiter__(self) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError


class FromSql(Source):
    def __init__(self, query: queries.Query, total: int) -> None:
        self.query, self.total = query, total

    async def __aiter__(self) -> AsyncGenerator[bytes, None]:
        stream = CopyStream(self.query)
        async for data in stream:
            yield data
        self.rows = stream.rows


class FromRows(Source):
    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.header, self.lines = header, rows
        self.total = len(rows)

    async def __aiter__(self) -> AsyncGenerator[bytes, None]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        for row in self.lines:
            writer.writerow(row)
            if buffer.tell() >= CHUNK:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
        self.rows = len(self.lines)


async def source(run: ReportRun) -> Source:
    scope = Scope(run.account_id, run.livemode)
    start, end = run.interval_start, run.interval_end
    if run.report_type == "payments.itemized":
        total = await queries.count_payments(scope, start, end, run.currency)
        return FromSql(queries.payments(scope, start, end, run.timezone, run.currency), total)
    if run.report_type == "balance_change_from_activity.itemized":
        total = await queries.count_balance_changes(scope, start, end, run.currency)
        return FromSql(queries.balance_changes(scope, start, end, run.timezone, run.currency), total)
    if run.report_type == "balance.summary":
        return FromRows(BALANCE_COLUMNS, await balance_summary(scope, run))
    if run.report_type == "usage.monthly":
        return FromRows(USAGE_COLUMNS, await usage_monthly(scope, run))
    raise ReportFailed(f"unknown report type {run.report_type}")


# --- balance.summary ------------------------------------------------------------------------------------

# (category, the activity categories it sums, description); fees are the fees of every entry.
CATEGORIES = [("charges", "charge", "Payments received, before fees"), ("refunds", "refund", "Refunds, and failed "
              "refunds put back"), ("disputes", "dispute", "Disputed amounts taken and returned"),
              ("credits", "credit", "Money added to customer balances"),
              ("transfers", "transfer", "Transfers between customers (across currencies: converted)"),
              ("other", "other", "Other ledger entries")]
BALANCE_NAMES = {"merchant": "Merchant balance", "customer_wallets": "Customer balances"}


@dataclass
class _Balance:
    starting: int = 0
    ending: int = 0
    gross: dict[str, int] | None = None
    fees: int = 0


async def balance_summary(scope: Scope, run: ReportRun) -> list[list[str]]:
    async with db.transaction():
        await queries.repeatable_read()  # edges and activity from one snapshot of the ledger
        edges = await queries.balance_edges(scope, run.interval_start, run.interval_end, run.currency)
        activity = await queries.balance_activity(scope, run.interval_start, run.interval_end, run.currency)
    balances: dict[tuple[str, str], _Balance] = defaultdict(lambda: _Balance(gross=defaultdict(int)))
    for edge in edges:
        b = balances[(edge.balance, edge.currency)]
        b.starting, b.ending = edge.starting, edge.ending
    for moved in activity:
        b = balances[(moved.balance, moved.currency)]
        assert b.gross is not None
        b.gross[moved.category] += moved.gross
        b.fees += moved.fee
    tz = buckets.zone(run.timezone)
    opened = f"{run.interval_start.astimezone(tz):%Y-%m-%d %H:%M} ({run.timezone})"
    closed = f"{run.interval_end.astimezone(tz):%Y-%m-%d %H:%M} ({run.timezone})"
    rows: list[list[str]] = []
    for (balance, currency), b in sorted(balances.items()):
        assert b.gross is not None
        net = sum(b.gross.values()) - b.fees
        if b.starting + net != b.ending:
            raise ReportFailed(f"the ledger does not tie for {balance} {currency}: starting {b.starting} + activity "
                               f"{net} ≠ ending {b.ending} (minor units)")
        line = [("starting_balance", f"Balance at {opened}", b.starting)]
        line += [(name, text, b.gross.get(category, 0)) for name, category, text in CATEGORIES]
        line += [("fees", "Fees charged", -b.fees), ("ending_balance", f"Balance at {closed}", b.ending)]
        rows += [[balance, currency, name, text, decimal(amount, currency)] for name, text, amount in line]
    return rows


# --- usage.monthly --------------------------------------------------------------------------------------

PAYMENT_METRICS = [("payments", "successful_payments", False), ("payment_volume", "gross_volume", True),
                   ("fees", "fees", True), ("refunds", "refunds", False), ("refund_volume", "refund_volume", True),
                   ("disputes", "disputes", False), ("dispute_volume", "dispute_volume", True)]
API_METRICS = [("api_requests", "api_requests"), ("api_errors", "api_errors")]


async def usage_monthly(scope: Scope, run: ReportRun) -> list[list[str]]:
    """API requests of both modes (what the account is billed for), and the run's mode's money, per month."""
    start, end, tz = run.interval_start, run.interval_end, run.timezone
    months = buckets.period_starts(start, end, buckets.zone(tz), Interval.MONTH)
    labels = [f"{max(m, start).astimezone(buckets.zone(tz)):%Y-%m}" for m in months]
    rows: list[list[str]] = []
    for livemode in (True, False):
        series = await analytics.timeseries_of(Scope(scope.account_id, livemode), start, end, interval="month",
                                               timezone=tz, metrics=[m for _, m in API_METRICS])
        for label, point in zip(labels, series.points, strict=True):
            rows += [[label, "live" if livemode else "test", "", name, str(int(point.values[m].value or 0))]
                     for name, m in API_METRICS]
    money = await analytics.timeseries_of(scope, start, end, interval="month", timezone=tz,
                                          metrics=[m for _, m, _ in PAYMENT_METRICS], currency=run.currency)
    fees = {(f.period, f.currency): f.amount for f in await queries.dispute_fees(scope, months, end, run.currency)}
    currencies = _currencies(money.points, fees, run.currency) or [money.currency]  # none: zeros, in the default
    mode = "live" if scope.livemode else "test"
    for index, (label, point) in enumerate(zip(labels, money.points, strict=True), start=1):
        for currency in currencies:
            for name, metric, is_amount in PAYMENT_METRICS:
                value = int(point.values[metric].by_currency.get(currency) or 0)
                rows.append([label, mode, currency, name, decimal(value, currency) if is_amount else str(value)])
            rows.append([label, mode, currency, "dispute_fees", decimal(fees.get((index, currency), 0), currency)])
    return sorted(rows, key=lambda r: (r[0], r[1] != "live"))


def _currencies(points: Iterable[Any], fees: dict[tuple[int, str], int], only: str | None) -> list[str]:
    if only is not None:
        return [only]
    seen = {c for p in points for f in p.values.values() for c, v in f.by_currency.items() if v}
    seen |= {currency for (_, currency), amount in fees.items() if amount}
    return sorted(seen)
