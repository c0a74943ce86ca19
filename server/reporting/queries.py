"""Every SQL statement of reporting: runs and their queue, file chunks, the reports' data, exports.

The itemized reports and the exports are SELECTs run as `COPY (…) TO STDOUT (FORMAT csv, HEADER)`
(`copy_out`): PostgreSQL writes the CSV, amounts become exact decimals in SQL (`_decimal`), and the rows
stream to the caller chunk by chunk. Column names come from our code, never from input.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
from babel.numbers import get_currency_precision, list_currencies

from server import db
from server.context import Scope
from server.reporting.rows import ReportRun, StatementScope

NOTIFY_CHANNEL = "paydeck_report_runs"
RUN_COLUMNS = tuple(ReportRun.__struct_fields__)
# Read-only streams (exports, a run's data) may outlast the 5 minutes a writing transaction may take: they
# write nothing, so nothing that relies on that bound (the webhook fan-out's window) can see them.
STREAM_TIMEOUT = "1h"


@dataclass(frozen=True)
class Query:
    """A SELECT and its arguments, to run as COPY."""

    sql: str
    args: list[Any] = field(default_factory=list)


def _runs(rows: list[dict[str, Any]]) -> list[ReportRun]:
    return [msgspec.convert(r, ReportRun) for r in rows]


# --- runs ---------------------------------------------------------------------------------------------


async def insert_run(run: ReportRun) -> ReportRun | None:
    """A new run; None when it is a statement that exists already (one per account, mode, type and month)."""
    values = msgspec.structs.astuple(run)
    placeholders = ", ".join(f"${i}" for i in range(1, len(RUN_COLUMNS) + 1))
    rows = await db.fetch(
        f"INSERT INTO report_runs ({', '.join(RUN_COLUMNS)}) VALUES ({placeholders}) "
        "ON CONFLICT (account_id, livemode, report_type, statement_month) WHERE statement_month IS NOT NULL "
        "DO NOTHING RETURNING *", *values)
    return _runs(rows)[0] if rows else None


async def notify_runners() -> None:
    """Wake the report workers (delivered when the transaction commits)."""
    await db.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)


async def get_run(scope: Scope, run_id: str) -> ReportRun | None:
    rows = await db.fetch("SELECT * FROM report_runs WHERE account_id = $1 AND livemode = $2 AND id = $3",
                          scope.account_id, scope.livemode, run_id)
    return _runs(rows)[0] if rows else None


async def list_runs(scope: Scope, after: str | None, limit: int, *, statements: bool | None = None,
                    report_type: str | None = None) -> list[ReportRun]:
    """Newest first, `limit + 1` rows for keyset paging; `statements` keeps only (or leaves out) statements."""
    args: list[Any] = [scope.account_id, scope.livemode]
    where = ["account_id = $1", "livemode = $2"]
    if after is not None:
        args.append(after)
        where.append(f"id < ${len(args)}")
    if statements is not None:
        where.append("statement_month IS NOT NULL" if statements else "statement_month IS NULL")
    if report_type is not None:
        args.append(report_type)
        where.append(f"report_type = ${len(args)}")
    args.append(limit + 1)
    return _runs(await db.fetch(f"SELECT * FROM report_runs WHERE {' AND '.join(where)} ORDER BY id DESC "
                                f"LIMIT ${len(args)}", *args))


async def claim_next(now: datetime, lease: timedelta, run_id: str | None = None) -> ReportRun | None:
    """The oldest pending run nobody holds (never claimed, or its lease ran out), asked-for runs before
    statements, or that run only, claimed for `lease`."""
    rows = await db.fetch(
        "UPDATE report_runs SET attempts = attempts + 1, lease_until = $2, started = coalesce(started, $1), "
        "rows_done = 0 WHERE id = (SELECT id FROM report_runs WHERE status = 'pending' "
        "AND (lease_until IS NULL OR lease_until < $1) AND ($3::text IS NULL OR id = $3) "
        # Runs someone asked for go before the statements job's (requested_by NULL): a person waiting for a
        # report never waits behind a month's batch of statements for every account.
        "ORDER BY requested_by IS NULL, created LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *", now, now + lease, run_id)
    return _runs(rows)[0] if rows else None


async def heartbeat(run: ReportRun, rows_done: int, rows_total: int | None, lease_until: datetime) -> bool:
    """Progress of the claim `run` holds, and a longer lease; False if the claim was lost."""
    rows = await db.fetch(
        "UPDATE report_runs SET rows_done = $3, rows_total = $4, lease_until = $5 "
        "WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING id",
        run.id, run.attempts, rows_done, rows_total, lease_until)
    return bool(rows)


async def finish(run: ReportRun, rows: int, size: int, now: datetime) -> ReportRun | None:
    """Mark the claimed run succeeded (in the transaction that wrote its file); None if the claim was lost."""
    found = await db.fetch(
        "UPDATE report_runs SET status = 'succeeded', rows_done = $3, rows_total = $3, result_rows = $3, "
        "result_bytes = $4, finished = $5, lease_until = NULL, error = NULL "
        "WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING *", run.id, run.attempts, rows, size, now)
    return _runs(found)[0] if found else None


async def fail(run: ReportRun, error: str, now: datetime) -> ReportRun | None:
    """Mark the claimed run failed with its reason; None if the claim was lost."""
    found = await db.fetch(
        "UPDATE report_runs SET status = 'failed', error = $3, finished = $4, lease_until = NULL "
        "WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING *", run.id, run.attempts, error[:2000], now)
    return _runs(found)[0] if found else None


async def insert_chunk(run: ReportRun, seq: int, data: bytes) -> None:
    await db.execute("INSERT INTO report_file_chunks (run_id, account_id, livemode, seq, data) "
                     "VALUES ($1, $2, $3, $4, $5)", run.id, run.account_id, run.livemode, seq, data)


async def chunk(run: ReportRun, seq: int) -> bytes | None:
    row = await db.fetchrow("SELECT data FROM report_file_chunks WHERE run_id = $1 AND account_id = $2 "
                            "AND livemode = $3 AND seq = $4", run.id, run.account_id, run.livemode, seq)
    return bytes(row["data"]) if row else None


# --- monthly statements -------------------------------------------------------------------------------


async def statement_scopes(report_type: str) -> list[StatementScope]:
    """Every account and mode, with the last month it has a statement of `report_type` for."""
    rows = await db.fetch(
        "SELECT a.id AS account_id, m.livemode, a.timezone, "
        "(SELECT max(r.statement_month) FROM report_runs r WHERE r.account_id = a.id AND r.livemode = m.livemode "
        " AND r.report_type = $1 AND r.statement_month IS NOT NULL) AS last_month "
        "FROM accounts a CROSS JOIN (VALUES (false), (true)) AS m(livemode) ORDER BY a.id, m.livemode", report_type)
    return [msgspec.convert(r, StatementScope) for r in rows]


async def first_activity(scope: Scope) -> datetime | None:
    """The first ledger posting or API request rollup of a scope: its statements start that month."""
    row = await db.fetchrow(
        "SELECT least((SELECT min(created) FROM postings WHERE account_id = $1 AND livemode = $2), "
        "(SELECT min(bucket) FROM analytics_api_rollups_daily WHERE account_id = $1 AND livemode = $2)) AS first",
        scope.account_id, scope.livemode)
    return row["first"] if row else None


# --- amounts and times as CSV text ----------------------------------------------------------------------


@functools.cache
def _exponents() -> tuple[list[str], list[int]]:
    codes = sorted(list_currencies())
    return codes, [get_currency_precision(c) for c in codes]


def _exponent_table(args: list[Any]) -> str:
    """`unnest(codes, exponents) AS e(code, exp)`, appending its two arguments."""
    codes, exps = _exponents()
    args += [codes, exps]
    return f"unnest(${len(args) - 1}::text[], ${len(args)}::int[]) AS e(code, exp)"


def _decimal(expr: str) -> str:
    """Minor units as an exact decimal of the major unit (`e.exp` digits after the point)."""
    return f"round(({expr})::numeric / power(10::numeric, e.exp), e.exp)"


def _utc(expr: str) -> str:
    return f"to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def _local(expr: str, tz_param: str) -> str:
    return f"to_char({expr} AT TIME ZONE {tz_param}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"


# --- payments -------------------------------------------------------------------------------------------


def _payments_where(scope: Scope, start: datetime | None, end: datetime | None, currency: str | None,
                    status: str | None, args: list[Any]) -> str:
    args += [scope.account_id, scope.livemode]
    where = [f"pi.account_id = ${len(args) - 1}", f"pi.livemode = ${len(args)}"]
    for op, value in ((">=", start), ("<", end)):
        if value is not None:
            args.append(value)
            where.append(f"pi.created {op} ${len(args)}")
    if currency is not None:
        args.append(currency.lower())
        where.append(f"pi.currency = ${len(args)}")
    if status is not None:
        args.append(status)
        where.append(f"pi.status = ${len(args)}")
    return " AND ".join(where)


def payments(scope: Scope, start: datetime | None, end: datetime | None, timezone: str, currency: str | None,
             status: str | None = None) -> Query:
    """payments.itemized and the payments export: one row per payment intent, oldest first."""
    args: list[Any] = []
    where = _payments_where(scope, start, end, currency, status, args)
    exps = _exponent_table(args)
    args.append(timezone)
    tz = f"${len(args)}::text"
    return Query(
        f"SELECT pi.id AS payment_intent, {_utc('pi.created')} AS created_utc, "
        f"{_local('pi.created', tz)} AS created_local, pi.status, upper(pi.currency) AS currency, "
        f"{_decimal('pi.amount')} AS amount, {_decimal('pi.amount_received')} AS amount_received, "
        f"{_decimal('pi.fee')} AS fee, {_decimal('pi.amount_received - pi.fee')} AS net, "
        f"{_decimal('pi.amount_refunded')} AS amount_refunded, pi.customer_id AS customer, pi.description, "
        "pi.capture_method, pi.card_brand, pi.card_last4, pi.card_country, pi.failure_code "
        f"FROM payment_intents pi JOIN {exps} ON e.code = upper(pi.currency) "
        f"WHERE {where} ORDER BY pi.created, pi.id", args)


async def count_payments(scope: Scope, start: datetime | None, end: datetime | None, currency: str | None,
                         status: str | None = None) -> int:
    args: list[Any] = []
    where = _payments_where(scope, start, end, currency, status, args)
    row = await db.fetchrow(f"SELECT count(*) AS n FROM payment_intents pi WHERE {where}", *args)
    return int(row["n"]) if row else 0


# --- the ledger -----------------------------------------------------------------------------------------

# What moved a balance, by the kind of its journal entry.
_CATEGORY = ("CASE WHEN je.kind = 'payment' THEN 'charge' WHEN je.kind IN ('refund', 'refund_reversal') THEN 'refund' "
             "WHEN je.kind LIKE 'dispute%' THEN 'dispute' WHEN je.kind = 'credit' THEN 'credit' "
             "WHEN je.kind = 'transfer' THEN 'transfer' ELSE 'other' END")
# The fee an entry charged: its postings on the fees ledger accounts (a payment's fee, a dispute's fee).
_FEE = ("LEFT JOIN LATERAL (SELECT sum(q.amount) AS amount FROM postings q JOIN ledger_accounts fa "
        "ON fa.id = q.ledger_account_id AND fa.purpose = 'fees' WHERE q.account_id = p.account_id "
        "AND q.livemode = p.livemode AND q.entry_id = p.entry_id AND q.currency = p.currency) f ON true")
_ENTRY = "JOIN journal_entries je ON je.id = p.entry_id AND je.account_id = p.account_id AND je.livemode = p.livemode"
# The balances a summary covers: the merchant balance and, together, every customer wallet.
BALANCE_OF_PURPOSE = {"merchant_balance": "merchant", "customer_wallet": "customer_wallets"}


def _ledger_accounts(scope: Scope, purposes: Sequence[str], currency: str | None, args: list[Any]) -> str:
    args += [scope.account_id, scope.livemode, list(purposes)]
    sql = (f"SELECT id, currency, purpose FROM ledger_accounts WHERE account_id = ${len(args) - 2} "
           f"AND livemode = ${len(args) - 1} AND purpose = ANY(${len(args)}::text[])")
    if currency is not None:
        args.append(currency)
        sql += f" AND currency = ${len(args)}"
    return sql


def _changes_where(scope: Scope, start: datetime, end: datetime, args: list[Any]) -> str:
    args += [scope.account_id, scope.livemode, start, end]
    n = len(args)
    return (f"p.account_id = ${n - 3} AND p.livemode = ${n - 2} AND p.created >= ${n - 1} AND p.created < ${n}")


def balance_changes(scope: Scope, start: datetime, end: datetime, timezone: str, currency: str | None) -> Query:
    """balance_change_from_activity.itemized: every posting on the merchant balance, oldest first."""
    args: list[Any] = []
    accounts = _ledger_accounts(scope, ["merchant_balance"], currency, args)
    where = _changes_where(scope, start, end, args)
    exps = _exponent_table(args)
    args.append(timezone)
    tz = f"${len(args)}::text"
    return Query(
        f"SELECT p.id AS posting, p.entry_id AS entry, {_utc('p.created')} AS created_utc, "
        f"{_local('p.created', tz)} AS created_local, p.currency, {_CATEGORY} AS category, je.kind AS source_type, "
        f"je.reference AS source, {_decimal('p.amount + coalesce(f.amount, 0)')} AS gross, "
        f"{_decimal('coalesce(f.amount, 0)')} AS fee, {_decimal('p.amount')} AS net, "
        f"{_decimal('p.balance_after')} AS balance_after, je.description "
        f"FROM postings p JOIN ({accounts}) la ON la.id = p.ledger_account_id {_ENTRY} {_FEE} "
        f"JOIN {exps} ON e.code = p.currency WHERE {where} ORDER BY p.created, p.account_seq, p.id", args)


async def count_balance_changes(scope: Scope, start: datetime, end: datetime, currency: str | None) -> int:
    args: list[Any] = []
    accounts = _ledger_accounts(scope, ["merchant_balance"], currency, args)
    where = _changes_where(scope, start, end, args)
    row = await db.fetchrow(f"SELECT count(*) AS n FROM postings p JOIN ({accounts}) la "
                            f"ON la.id = p.ledger_account_id WHERE {where}", *args)
    return int(row["n"]) if row else 0


class BalanceEdge(msgspec.Struct, kw_only=True):
    balance: str  # merchant | customer_wallets
    currency: str
    starting: int
    ending: int


class BalanceActivity(msgspec.Struct, kw_only=True):
    balance: str
    currency: str
    category: str  # charge | refund | dispute | credit | transfer | other
    gross: int  # what moved the balance, before fees
    fee: int  # fees charged (positive)


def _balance_name() -> str:
    return "CASE la.purpose " + " ".join(f"WHEN '{p}' THEN '{b}'" for p, b in BALANCE_OF_PURPOSE.items()) + " END"


async def balance_edges(scope: Scope, start: datetime, end: datetime, currency: str | None) -> list[BalanceEdge]:
    """Each balance's total per currency just before `start` and just before `end`: for each ledger account,
    the balance after its last posting before then (postings of one account are made in time order)."""
    args: list[Any] = []
    accounts = _ledger_accounts(scope, list(BALANCE_OF_PURPOSE), currency, args)
    args += [start, end]
    s, e = len(args) - 1, len(args)

    def at(param: int) -> str:
        return ("coalesce((SELECT p.balance_after FROM postings p WHERE p.account_id = $1 AND p.livemode = $2 "
                f"AND p.ledger_account_id = la.id AND p.created < ${param} "
                "ORDER BY p.created DESC, p.account_seq DESC LIMIT 1), 0)")

    rows = await db.fetch(
        f"SELECT {_balance_name()} AS balance, la.currency, sum({at(s)})::bigint AS starting, "
        f"sum({at(e)})::bigint AS ending FROM ({accounts}) la GROUP BY 1, 2 ORDER BY 1, 2", *args)
    return [msgspec.convert(r, BalanceEdge) for r in rows]


async def balance_activity(scope: Scope, start: datetime, end: datetime,
                           currency: str | None) -> list[BalanceActivity]:
    """What moved each balance in [start, end), per currency and category."""
    args: list[Any] = []
    accounts = _ledger_accounts(scope, list(BALANCE_OF_PURPOSE), currency, args)
    where = _changes_where(scope, start, end, args)
    rows = await db.fetch(
        f"SELECT {_balance_name()} AS balance, la.currency, {_CATEGORY} AS category, "
        "sum(p.amount + coalesce(f.amount, 0))::bigint AS gross, sum(coalesce(f.amount, 0))::bigint AS fee "
        f"FROM postings p JOIN ({accounts}) la ON la.id = p.ledger_account_id {_ENTRY} {_FEE} "
        f"WHERE {where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", *args)
    return [msgspec.convert(r, BalanceActivity) for r in rows]


class PeriodFees(msgspec.Struct, kw_only=True):
    period: int  # 1-based index of the period start
    currency: str
    amount: int


async def dispute_fees(scope: Scope, starts: list[datetime], end: datetime, currency: str | None) -> list[PeriodFees]:
    """Fees charged by dispute entries, per period (the periods start at `starts`) and currency."""
    args: list[Any] = []
    accounts = _ledger_accounts(scope, ["fees"], currency, args)
    where = _changes_where(scope, starts[0], end, args)
    args.append(starts)
    rows = await db.fetch(
        f"SELECT width_bucket(p.created, ${len(args)}::timestamptz[]) AS period, p.currency, "
        f"sum(p.amount)::bigint AS amount FROM postings p JOIN ({accounts}) la ON la.id = p.ledger_account_id "
        f"{_ENTRY} WHERE {where} AND je.kind LIKE 'dispute%' GROUP BY 1, 2 ORDER BY 1, 2", *args)
    return [msgspec.convert(r, PeriodFees) for r in rows]


async def repeatable_read() -> None:
    """One snapshot for the rest of the transaction (its first statement)."""
    await db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


# --- the request log ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogExportFilter:
    since: datetime | None = None
    until: datetime | None = None
    status_class: int | None = None  # 2 for 2xx ...
    status: int | None = None
    method: str | None = None
    path_prefix: str | None = None
    api_key_id: str | None = None


def _logs_where(scope: Scope, f: LogExportFilter, args: list[Any]) -> str:
    args += [scope.account_id, scope.livemode]
    where = [f"l.account_id = ${len(args) - 1}", f"l.livemode = ${len(args)}"]
    conditions: list[tuple[str, Any]] = [
        ("l.started_at >= ${}", f.since), ("l.started_at < ${}", f.until), ("l.status_code = ${}", f.status),
        ("l.status_code / 100 = ${}", f.status_class), ("l.method = ${}", f.method),
        ("l.api_key_id = ${}", f.api_key_id),
        ("l.path LIKE ${} || '%'", f.path_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
         if f.path_prefix else None)]
    for template, value in conditions:
        if value is not None:
            args.append(value)
            where.append(template.format(len(args)))
    return " AND ".join(where)


def request_logs(scope: Scope, f: LogExportFilter, timezone: str) -> Query:
    """The API request log, oldest first, without bodies and headers (the log's detail has them)."""
    args: list[Any] = []
    where = _logs_where(scope, f, args)
    args.append(timezone)
    tz = f"${len(args)}::text"
    return Query(
        f"SELECT l.id AS request_id, {_utc('l.started_at')} AS started_utc, {_local('l.started_at', tz)} "
        "AS started_local, l.source, l.api_key_id AS api_key, l.user_id AS user, l.method, l.path, "
        "l.operation_name, l.status_code AS status, round(l.duration_ms::numeric, 3) AS duration_ms, l.error_type, "
        "l.error_code, l.error_message, l.idempotency_key, l.idempotent_replayed, l.ip_address, "
        "array_to_string(l.object_ids, ' ') AS object_ids "
        f"FROM api_request_logs l WHERE {where} ORDER BY l.started_at, l.id", args)


async def count_request_logs(scope: Scope, f: LogExportFilter) -> int:
    args: list[Any] = []
    where = _logs_where(scope, f, args)
    row = await db.fetchrow(f"SELECT count(*) AS n FROM api_request_logs l WHERE {where}", *args)
    return int(row["n"]) if row else 0


# --- streaming ------------------------------------------------------------------------------------------


async def copy_out(query: Query, sink: Callable[[bytes], Awaitable[None]]) -> int:
    """Run `query` as `COPY … TO STDOUT (FORMAT csv, HEADER)` in a read-only transaction of its own, handing
    each chunk to `sink` (which may wait: PostgreSQL waits with it); returns the number of rows."""
    async with db.transaction() as txn:
        await db.execute("SET TRANSACTION READ ONLY")
        await db.execute("SELECT set_config(name, $1, true) FROM pg_settings "
                         "WHERE name IN ('transaction_timeout', 'statement_timeout')", STREAM_TIMEOUT)
        status = await txn.connection.copy_from_query(query.sql, *query.args, output=sink, format="csv",
                                                      header=True)
    return int(str(status).rsplit(" ", 1)[-1])
