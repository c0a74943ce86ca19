"""Recompute rollups from the source tables, compare them to the stored ones, and rebuild a range.

Source tables: payment_intents, refunds, customers, credits, transfers and disputes (each row made into the
snapshot its events carry, then counted by `metrics.contribution`, the follower's own function), and
api_request_logs (counted by `api_metrics.add_rows`, the log writer's own function). The ledger is a
second, independent witness: the money columns are recomputed from the journal entries that moved
the money (payments, refunds and their reversals, credits, transfers, disputes) and must agree with the source
tables to the minor unit.

API rollups are compared only where the request log still holds every row of a bucket: retention
removes requests older than the account's `log_retention_days`, and the rollups keep them. A
rebuild likewise rewrites API rollups only in that window and keeps the older history.

Hourly and daily rows are compared, wherever they lie wholly inside the range, with the sources summed
the same way; a rebuild works in whole UTC days so that it can replace every level's rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from server import clock, db
from server.analytics import buckets, follower, queries
from server.analytics.api_metrics import API_METRICS, ERROR_CODES_COLUMN, LATENCY_COLUMN, ROW_FIELDS, ApiCell, add_rows
from server.analytics.buckets import bucket_time
from server.analytics.levels import DAY, HOUR, LEVELS, QUARTER, Level, floor_to
from server.analytics.metrics import SOURCES, Values, add_into, code_columns, contribution, scalar_columns
from server.apilogs import queries as log_queries
from server.context import Scope

RETENTION_MARGIN = timedelta(hours=1)  # retention may run while we read: stay clear of its cutoff


@dataclass(frozen=True)
class Difference:
    """One number that disagrees, to the minor unit."""

    kind: str  # "rollup" (payments, customers, ...), "api" or "ledger"; "rollup hourly", "api daily", ...: a level
    scope: Scope
    bucket: datetime
    key: str  # the currency, or "endpoint key"
    column: str  # a column, or "column[code]"
    stored: int  # what the rollup holds (for "ledger": what the ledger holds)
    expected: int  # what the source tables give

    def __str__(self) -> str:
        found = "ledger" if self.kind == "ledger" else "rollup"
        return (f"{self.scope.account_id} {self.scope.mode} {self.bucket:%Y-%m-%dT%H:%MZ} {self.kind} "
                f"{self.key or '-'} {self.column}: {found} {self.stored}, source {self.expected} "
                f"(off by {self.stored - self.expected:+d})")


FACTS_BATCH = 10_000


@dataclass
class Expected:
    """Rollups of a range recomputed from the source tables, and how many objects they came from."""

    rollups: dict[tuple[int, str], Values] = field(default_factory=dict)
    objects: int = 0


async def from_sources(scope: Scope, since: datetime, until: datetime, *, save_facts: bool = False) -> Expected:
    """Count every source row of [since, until) with `metrics.contribution`; optionally store each as a fact."""
    expected = Expected()
    facts: list[queries.FactRow] = []
    for source in SOURCES:
        async for row in queries.source_rows(source, scope, since, until):
            snapshot = source.snapshot(row)
            counted = contribution(source, snapshot)
            add_into(expected.rollups.setdefault((counted.bucket, counted.currency), {}), counted.values)
            expected.objects += 1
            if save_facts:
                facts.append((snapshot["id"], scope.account_id, scope.livemode, counted.bucket, counted.currency,
                              counted.values))
                if len(facts) >= FACTS_BATCH:
                    await queries.save_facts(facts)
                    facts = []
    await queries.save_facts(facts)
    return expected


def _stored_rollups(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[int, str], Values]:
    stored: dict[tuple[int, str], Values] = {}
    for row in rows:
        values: Values = {}
        add_into(values, {c: int(row[c]) for c in scalar_columns()})
        add_into(values, {c: row[c] for c in code_columns()})
        stored[(int(row["bucket"]), row["currency"])] = values
    return stored


def _compare(kind: str, scope: Scope, stored: Mapping[tuple[int, str], Values],
             expected: Mapping[tuple[int, str], Values], columns: Iterable[str] | None = None) -> list[Difference]:
    wanted = None if columns is None else set(columns)
    out = []
    for key in sorted(set(stored) | set(expected)):
        have, want = stored.get(key, {}), expected.get(key, {})
        for column in sorted(set(have) | set(want)):
            if wanted is not None and column not in wanted:
                continue
            a, b = have.get(column, 0), want.get(column, 0)
            if isinstance(a, Mapping) or isinstance(b, Mapping):
                a, b = a or {}, b or {}
                for code in sorted(set(a) | set(b)):
                    if int(a.get(code, 0)) != int(b.get(code, 0)):
                        out.append(Difference(kind, scope, bucket_time(key[0]), key[1], f"{column}[{code}]",
                                              int(a.get(code, 0)), int(b.get(code, 0))))
            elif int(a) != int(b):
                out.append(Difference(kind, scope, bucket_time(key[0]), key[1], column, int(a), int(b)))
    return out


# --- the ledger as a witness ------------------------------------------------------------------------

LEDGER_TIES: list[Callable[[Scope, datetime, datetime], Awaitable[list[dict[str, Any]]]]] = [
    queries.ledger_payments, queries.ledger_refunds, queries.ledger_credits, queries.ledger_transfers,
    queries.ledger_disputes,
]
LEDGER_COLUMNS = ("gross_amount", "fee_amount", "net_amount", "refund_amount", "credit_amount", "transfer_amount",
                  "dispute_amount")


async def _ledger(scope: Scope, since: datetime, until: datetime) -> dict[tuple[int, str], Values]:
    held: dict[tuple[int, str], Values] = {}
    for tie in LEDGER_TIES:
        for row in await tie(scope, since, until):
            values = {c: int(row[c] or 0) for c in LEDGER_COLUMNS if c in row}
            add_into(held.setdefault((int(row["bucket"]), row["currency"]), {}), values)
    return held


# --- levels ---------------------------------------------------------------------------------------------


def _on(level: Level, moment: datetime, *, up: bool) -> datetime:
    seconds = int((moment - buckets.EPOCH).total_seconds())
    down = floor_to(seconds, level)
    return bucket_time(down + level.seconds if up and down != seconds else down)


def _regroup(values: Mapping[tuple[int, str], Values], level: Level, lo: datetime,
             hi: datetime) -> dict[tuple[int, str], Values]:
    """Quarter-hour values summed into `level`'s rows, for the rows lying wholly in [lo, hi)."""
    first, last = int((lo - buckets.EPOCH).total_seconds()), int((hi - buckets.EPOCH).total_seconds())
    out: dict[tuple[int, str], Values] = {}
    for (bucket, key), value in values.items():
        if first <= bucket < last:
            add_into(out.setdefault((floor_to(bucket, level), key), {}), value)
    return out


async def _level_differences(kind: str, scope: Scope, expected: Mapping[tuple[int, str], Values], since: datetime,
                             until: datetime, read: Callable[[Level, datetime, datetime], Awaitable[Mapping]]
                             ) -> list[Difference]:
    """Each coarser level's whole rows in [since, until) against the same range of expected quarter hours."""
    out = []
    for level in LEVELS[1:]:
        lo, hi = _on(level, since, up=True), _on(level, until, up=False)
        if lo < hi:
            out += _compare(f"{kind} {level.table.rsplit('_', 1)[-1]}", scope, await read(level, lo, hi),
                            _regroup(expected, level, lo, hi))
    return out


# --- API rollups ------------------------------------------------------------------------------------


async def api_window(scope: Scope, since: datetime, until: datetime, level: Level = QUARTER
                     ) -> tuple[datetime, datetime] | None:
    """The part of [since, until) whose request rows retention has not touched, in whole rows of `level`."""
    days = await queries.retention_days(scope.account_id)
    if days is None:
        return None
    kept_from = clock.now() - timedelta(days=days) + RETENTION_MARGIN
    start, end = _on(level, max(since, kept_from), up=True), _on(level, until, up=True)
    return (start, end) if start < end else None


def _chunks(start: datetime, end: datetime) -> Iterable[tuple[datetime, datetime]]:
    """[start, end) cut at UTC midnights."""
    while start < end:
        stop = min(end, _on(DAY, start + buckets.BUCKET, up=True))
        yield start, stop
        start = stop


async def _api_cells(scope: Scope, since: datetime, until: datetime) -> dict[Any, ApiCell]:
    cells: dict[Any, ApiCell] = {}
    rows = await log_queries.rollup_rows(scope.account_id, scope.livemode, since, until)
    add_rows(cells, ([r[f] for f in ROW_FIELDS] for r in rows), {f: i for i, f in enumerate(ROW_FIELDS)})
    return cells


def _api_values(cell: ApiCell) -> Values:
    values: Values = {}
    add_into(values, {**cell.counts, LATENCY_COLUMN: {str(i): n for i, n in cell.latency.items()},
                      ERROR_CODES_COLUMN: cell.error_codes})
    return values


async def _stored_api(scope: Scope, level: Level, since: datetime, until: datetime) -> dict[tuple[int, str], Values]:
    stored: dict[tuple[int, str], Values] = {}
    for row in await queries.api_rollup_rows(scope, since, until, level):
        values: Values = {}
        add_into(values, {**{m.column: int(row[m.column]) for m in API_METRICS},
                          LATENCY_COLUMN: row[LATENCY_COLUMN], ERROR_CODES_COLUMN: row[ERROR_CODES_COLUMN]})
        stored[(int(row["bucket"]), f"{row['endpoint']} {row['api_key_id']}")] = values
    return stored


async def _api_differences(scope: Scope, since: datetime, until: datetime) -> list[Difference]:
    out = []
    for start, end in _chunks(since, until):
        expected = {(key[2], f"{key[3]} {key[4]}"): _api_values(cell)
                    for key, cell in (await _api_cells(scope, start, end)).items()}
        out += _compare("api", scope, await _stored_api(scope, QUARTER, start, end), expected)
        out += await _level_differences("api", scope, expected, start, end,
                                        lambda level, lo, hi: _stored_api(scope, level, lo, hi))
    return out


# --- verify and rebuild -------------------------------------------------------------------------------


async def _stored_level(scope: Scope, level: Level, since: datetime, until: datetime) -> dict[tuple[int, str], Values]:
    return _stored_rollups(await queries.rollup_rows(scope, since, until, level))


async def differences(scope: Scope, since: datetime, until: datetime) -> list[Difference]:
    """Every difference in [since, until) (widened to whole buckets) between stored rollups, at every level,
    and the sources, in one snapshot."""
    since, until = buckets.floor(since), buckets.ceil(until)
    async with db.transaction():
        await queries.repeatable_read()
        expected = await from_sources(scope, since, until)
        out = _compare("rollup", scope, await _stored_level(scope, QUARTER, since, until), expected.rollups)
        out += await _level_differences("rollup", scope, expected.rollups, since, until,
                                        lambda level, lo, hi: _stored_level(scope, level, lo, hi))
        out += _compare("ledger", scope, await _ledger(scope, since, until), expected.rollups, LEDGER_COLUMNS)
        window = await api_window(scope, since, until)
        if window:
            out += await _api_differences(scope, *window)
    return out


async def verify(since: datetime, until: datetime | None = None, account_id: str | None = None, *,
                 settle_rounds: int = 3, settle_seconds: float = 1.0) -> list[Difference]:
    """Differences that persist once the follower has applied every event positioned so far.

    A payment committed while we compare is counted by the follower a moment later; a scope that
    shows differences is therefore compared again after catching up, and only what persists is
    reported.
    """
    since, until = buckets.floor(since), buckets.ceil(until or clock.now() + buckets.BUCKET)
    await follower.catch_up()
    found: list[Difference] = []
    for scope in await queries.scopes_since(since, account_id):
        found += await _settled(scope, since, until, settle_rounds, settle_seconds)
    return found


async def _settled(scope: Scope, since: datetime, until: datetime, rounds: int, pause: float) -> list[Difference]:
    found = await differences(scope, since, until)
    for _ in range(rounds - 1):
        if not found:
            break
        await asyncio.sleep(pause)
        await follower.catch_up()
        found = await differences(scope, since, until)
    return found


@dataclass
class Rebuilt:
    scope: Scope
    rollup_rows: int
    facts: int
    api_rows: int


async def rebuild_scope(scope: Scope, since: datetime, until: datetime) -> Rebuilt:
    """Rewrite a scope's rollups of [since, until), widened to whole UTC days, from the sources (API rollups:
    each level's rows whose request rows are all kept; older API history stays as it is).

    Holds the follower's position (it waits) and the API-rollup lock (log flushes wait), so nothing
    is counted twice or lost while the range is replaced.
    """
    since, until = _on(DAY, since, up=False), _on(DAY, until, up=True)
    async with db.transaction():
        await queries.lock_position(follower.POSITION, wait=True)
        await queries.delete_range("analytics_facts", scope, since, until)
        for level in LEVELS:
            await queries.delete_range(level.table, scope, since, until)
        expected = await from_sources(scope, since, until, save_facts=True)
        await queries.add_to_rollups([(scope.account_id, scope.livemode, bucket, currency, values)
                                      for (bucket, currency), values in sorted(expected.rollups.items())])
        api_rows = 0
        window = await api_window(scope, since, until, HOUR)
        if window:
            await queries.lock_api_rollups()
            for level in LEVELS:  # each level from its first row whose requests are all kept
                await queries.delete_range(level.api_table, scope, _on(level, window[0], up=True), window[1])
            for start, end in _chunks(*window):
                cells = await _api_cells(scope, start, end)
                whole_day = start == _on(DAY, start, up=False)
                await queries.add_to_api_rollups(cells, LEVELS if whole_day else (QUARTER, HOUR))
                api_rows += len(cells)
    return Rebuilt(scope, sum(1 for v in expected.rollups.values() if v), expected.objects, api_rows)


async def rebuild(since: datetime, until: datetime | None = None, account_id: str | None = None) -> list[Rebuilt]:
    until = until or clock.now() + buckets.BUCKET
    await follower.catch_up()
    return [await rebuild_scope(scope, since, until) for scope in await queries.scopes_since(since, account_id)]
