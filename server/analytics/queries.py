"""Every SQL statement of analytics: the follower's position, rollup upserts, reads for the service and the verifier.

Column lists come from the declarations (`metrics.scalar_columns()`, `api_metrics.API_METRICS`), never from
input; statements are built from the current declarations (a metric added is a column in every statement).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from server import db
from server.analytics.api_metrics import API_METRICS, ERROR_CODES_COLUMN, LATENCY_COLUMN, ApiCell, RowKey
from server.analytics.buckets import bucket_time
from server.analytics.levels import LEVELS, QUARTER, Level, Segment, floor_to
from server.analytics.metrics import Row, Source, Values, add_into, code_columns, scalar_columns
from server.context import Scope

# Writers of API rollups hold this advisory lock shared; a rebuild of API rollups holds it exclusively,
# so no flush adds to a row between the rebuild reading the logs and replacing the rows.
API_ROLLUP_LOCK = 0x616E_6170_6972  # "anapir"

ROLLUP_KEY = ("account_id", "livemode", "bucket", "currency")


@functools.cache
def _rollup_upsert(table: str, scalars: tuple[str, ...], codes: tuple[str, ...]) -> str:
    columns = [*ROLLUP_KEY, *scalars, *codes]
    types = ["text", "boolean", "timestamptz", "text", *["numeric"] * len(scalars), *["jsonb"] * len(codes)]
    sets = [f"{c} = {table}.{c} + EXCLUDED.{c}" for c in scalars]
    sets += [f"{c} = analytics_jsonb_add({table}.{c}, EXCLUDED.{c})" for c in codes]
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT * FROM unnest({', '.join(f'${i + 1}::{t}[]' for i, t in enumerate(types))}) "
            f"AS t({', '.join(columns)}) ORDER BY {', '.join(ROLLUP_KEY)} "
            f"ON CONFLICT ({', '.join(ROLLUP_KEY)}) DO UPDATE SET {', '.join(sets)}")


API_KEY = ("account_id", "livemode", "bucket", "endpoint", "api_key_id")
API_COUNTS = [m.column for m in API_METRICS]


@functools.cache
def _api_upsert(table: str) -> str:
    columns = [*API_KEY, *API_COUNTS, LATENCY_COLUMN, ERROR_CODES_COLUMN]
    types = ["text", "boolean", "timestamptz", "text", "text", *["bigint"] * len(API_COUNTS), "jsonb", "jsonb"]
    sets = [f"{c} = {table}.{c} + EXCLUDED.{c}" for c in API_COUNTS]
    sets += [f"{c} = analytics_jsonb_add({table}.{c}, EXCLUDED.{c})" for c in (LATENCY_COLUMN, ERROR_CODES_COLUMN)]
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT * FROM unnest({', '.join(f'${i + 1}::{t}[]' for i, t in enumerate(types))}) "
            f"AS t({', '.join(columns)}) ORDER BY {', '.join(API_KEY)} "
            f"ON CONFLICT ({', '.join(API_KEY)}) DO UPDATE SET {', '.join(sets)}")


# --- the follower's position ---------------------------------------------------------------------


async def lock_position(name: str, *, wait: bool) -> int | None:
    """The stored position, row-locked until the transaction ends; None if another process holds it
    (and `wait` is false)."""
    row = await db.fetchrow(
        "SELECT position FROM analytics_positions WHERE name = $1 FOR UPDATE" + ("" if wait else " SKIP LOCKED"),
        name)
    if row is None and wait:
        await db.execute("INSERT INTO analytics_positions (name, position, updated) VALUES ($1, 0, now()) "
                         "ON CONFLICT DO NOTHING", name)
        return await lock_position(name, wait=True)
    return None if row is None else int(row["position"])


async def set_position(name: str, position: int) -> None:
    await db.execute("UPDATE analytics_positions SET position = $2, updated = now() WHERE name = $1",
                     name, position)


async def position(name: str) -> int:
    row = await db.fetchrow("SELECT position FROM analytics_positions WHERE name = $1", name)
    return int(row["position"]) if row else 0


async def events_after(position: int, limit: int, object_types: Sequence[str]) -> list[dict[str, Any]]:
    """Positioned events after `position` in position order (commit order); snapshots only where they count.

    Positions are given by the event dispatcher after commit and always form a prefix 1..N, so a
    snapshot that sees a position sees every position below it (docs/events.md).
    """
    return await db.fetch(
        "SELECT pos, account_id, livemode, object_type, object_id, "
        "CASE WHEN object_type = ANY($3::text[]) THEN data END AS data "
        "FROM events WHERE pos > $1 AND pos IS NOT NULL ORDER BY pos LIMIT $2",
        position, limit, list(object_types))


async def backlog(name: str) -> dict[str, int]:
    """How far the follower is behind: events without a position yet, and positions not yet read."""
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM events WHERE pos IS NULL) AS unpositioned, "
        "(SELECT coalesce(max(pos), 0) FROM events WHERE pos IS NOT NULL) AS last_position, "
        "(SELECT position FROM analytics_positions WHERE name = $1) AS position", name)
    assert row is not None
    last, mine = int(row["last_position"]), int(row["position"] or 0)
    return {"unpositioned": int(row["unpositioned"]), "unread": max(0, last - mine)}


# --- facts and rollups ---------------------------------------------------------------------------


async def facts_of(object_ids: Sequence[str]) -> list[dict[str, Any]]:
    if not object_ids:
        return []
    return await db.fetch(
        "SELECT object_id, account_id, livemode, extract(epoch FROM bucket)::bigint AS bucket, currency, "
        "contribution FROM analytics_facts WHERE object_id = ANY($1::text[])", list(set(object_ids)))


FactRow = tuple[str, str, bool, int, str, dict[str, Any]]  # object, account, livemode, bucket, currency, values


async def save_facts(facts: Sequence[FactRow]) -> None:
    if not facts:
        return
    columns = list(zip(*facts, strict=True))
    await db.execute(
        "INSERT INTO analytics_facts (object_id, account_id, livemode, bucket, currency, contribution) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::timestamptz[], $5::text[], $6::jsonb[]) "
        "ON CONFLICT (object_id) DO UPDATE SET bucket = EXCLUDED.bucket, currency = EXCLUDED.currency, "
        "contribution = EXCLUDED.contribution",
        list(columns[0]), list(columns[1]), list(columns[2]), [bucket_time(b) for b in columns[3]],
        list(columns[4]), list(columns[5]))


RollupRow = tuple[str, bool, int, str, dict[str, Any]]  # account, livemode, bucket, currency, values


async def add_to_rollups(rows: Sequence[RollupRow]) -> None:
    """Add each row's values to its 15-minute row and to the hour and day holding it (rows created when
    missing, locked in key order)."""
    rows = [r for r in rows if r[4]]
    if not rows:
        return
    scalars, codes = list(scalar_columns()), code_columns()
    for level in LEVELS:
        merged: dict[tuple[str, bool, int, str], Values] = {}
        for account_id, livemode, bucket, currency, values in rows:
            add_into(merged.setdefault((account_id, livemode, floor_to(bucket, level), currency), {}), values)
        keys = sorted(k for k, v in merged.items() if v)
        if not keys:
            continue
        args: list[list[Any]] = [[k[0] for k in keys], [k[1] for k in keys], [bucket_time(k[2]) for k in keys],
                                 [k[3] for k in keys]]
        args += [[int(merged[k].get(c, 0)) for k in keys] for c in scalars]
        args += [[merged[k].get(c, {}) for k in keys] for c in codes]
        await db.execute(_rollup_upsert(level.table, tuple(scalars), tuple(codes)), *args)


async def add_to_api_rollups(cells: dict[RowKey, ApiCell], levels: Sequence[Level] = LEVELS) -> None:
    """Add request cells to their 15-minute, hour and day rows (holding the API-rollup lock shared)."""
    if not cells:
        return
    await db.execute("SELECT pg_advisory_xact_lock_shared($1)", API_ROLLUP_LOCK)
    for level in levels:
        merged: dict[RowKey, ApiCell] = {}
        for key, cell in cells.items():
            coarse = (key[0], key[1], floor_to(key[2], level), key[3], key[4])
            merged.setdefault(coarse, ApiCell()).merge(cell)
        keys = sorted(merged)
        args: list[list[Any]] = [[k[0] for k in keys], [k[1] for k in keys], [bucket_time(k[2]) for k in keys],
                                 [k[3] for k in keys], [k[4] for k in keys]]
        args += [[merged[k].counts[c] for k in keys] for c in API_COUNTS]
        args.append([{str(i): n for i, n in merged[k].latency.items()} for k in keys])
        args.append([merged[k].error_codes for k in keys])
        await db.execute(_api_upsert(level.api_table), *args)


async def lock_api_rollups() -> None:
    """Hold off every API-rollup writer until this transaction ends (rebuilds)."""
    await db.execute("SELECT pg_advisory_xact_lock($1)", API_ROLLUP_LOCK)


async def repeatable_read() -> None:
    """One snapshot for the rest of the transaction (must be its first statement)."""
    await db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


# --- ranges of rollups (verifier, rebuild) --------------------------------------------------------


async def rollup_rows(scope: Scope, since: datetime, until: datetime, level: Level = QUARTER) -> list[dict[str, Any]]:
    columns = [*scalar_columns(), *code_columns()]
    return await db.fetch(
        f"SELECT extract(epoch FROM bucket)::bigint AS bucket, currency, {', '.join(columns)} "
        f"FROM {level.table} WHERE account_id = $1 AND livemode = $2 AND bucket >= $3 AND bucket < $4",
        scope.account_id, scope.livemode, since, until)


async def api_rollup_rows(scope: Scope, since: datetime, until: datetime,
                          level: Level = QUARTER) -> list[dict[str, Any]]:
    return await db.fetch(
        f"SELECT extract(epoch FROM bucket)::bigint AS bucket, endpoint, api_key_id, {', '.join(API_COUNTS)}, "
        f"{LATENCY_COLUMN}, {ERROR_CODES_COLUMN} FROM {level.api_table} "
        "WHERE account_id = $1 AND livemode = $2 AND bucket >= $3 AND bucket < $4",
        scope.account_id, scope.livemode, since, until)


async def delete_range(table: str, scope: Scope, since: datetime, until: datetime) -> None:
    """Delete a scope's rows of one table in [since, until) (a rollup level's range must be on its grain)."""
    assert table in {"analytics_facts", *(lv.table for lv in LEVELS), *(lv.api_table for lv in LEVELS)}, table
    await db.execute(f"DELETE FROM {table} WHERE account_id = $1 AND livemode = $2 AND bucket >= $3 AND bucket < $4",
                     scope.account_id, scope.livemode, since, until)


async def source_rows(source: Source[Row], scope: Scope, since: datetime, until: datetime) -> AsyncIterator[Row]:
    """Typed rows of a source table created in [since, until), streamed (a cursor: bounded memory at any size).

    Must run inside a transaction; the rows are what the rollups of that range are made of.
    """
    assert source.table in ("payment_intents", "refunds", "customers", "credits", "transfers", "disputes")
    txn = db.engine().current_transaction.get()
    assert txn is not None, "stream source rows inside a transaction"
    async for record in txn.connection.cursor(
            f"SELECT * FROM {source.table} WHERE account_id = $1 AND livemode = $2 AND created >= $3 "
            "AND created < $4", scope.account_id, scope.livemode, since, until, prefetch=2000):
        yield msgspec.convert(dict(record), source.row)


async def scopes_since(since: datetime, account_id: str | None) -> list[Scope]:
    """Every (account, mode) with source rows or rollups at or after `since`."""
    parts = [f"SELECT DISTINCT account_id, livemode FROM {t} WHERE created >= $1"
             for t in ("payment_intents", "refunds", "customers", "credits", "transfers", "disputes")]
    parts += [f"SELECT DISTINCT account_id, livemode FROM {t} WHERE bucket >= $1"
              for t in ("analytics_rollups", "analytics_api_rollups")]
    parts.append("SELECT DISTINCT account_id, livemode FROM api_request_logs WHERE started_at >= $1")
    rows = await db.fetch(f"SELECT DISTINCT account_id, livemode FROM ({' UNION '.join(parts)}) s "
                          "WHERE $2::text IS NULL OR account_id = $2 ORDER BY 1, 2", since, account_id)
    return [Scope(r["account_id"], r["livemode"]) for r in rows]


async def retention_days(account_id: str) -> int | None:
    row = await db.fetchrow("SELECT log_retention_days FROM accounts WHERE id = $1", account_id)
    return int(row["log_retention_days"]) if row else None


# --- the ledger, for the tie-out -----------------------------------------------------------------

_BUCKET = "(floor(extract(epoch FROM {0}) / 900) * 900)::bigint"


async def ledger_payments(scope: Scope, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Gross, fee and net per bucket of the payments' creation, as the ledger's payment entries hold them."""
    return await db.fetch(
        f"SELECT {_BUCKET.format('pi.created')} AS bucket, upper(pi.currency) AS currency, "
        "-sum(p.amount) FILTER (WHERE la.purpose = 'processor_clearing') AS gross_amount, "
        "sum(p.amount) FILTER (WHERE la.purpose = 'fees') AS fee_amount, "
        "sum(p.amount) FILTER (WHERE la.purpose = 'merchant_balance') AS net_amount "
        "FROM payment_intents pi "
        "JOIN journal_entries je ON je.reference = pi.id AND je.account_id = pi.account_id "
        "AND je.livemode = pi.livemode AND je.kind = 'payment' "
        "JOIN postings p ON p.entry_id = je.id AND p.account_id = je.account_id AND p.livemode = je.livemode "
        "JOIN ledger_accounts la ON la.id = p.ledger_account_id "
        "WHERE pi.account_id = $1 AND pi.livemode = $2 AND pi.created >= $3 AND pi.created < $4 GROUP BY 1, 2",
        scope.account_id, scope.livemode, since, until)


async def ledger_refunds(scope: Scope, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """What refunds took from merchant balances (less what failed refunds put back), per refund bucket."""
    return await db.fetch(
        f"SELECT {_BUCKET.format('r.created')} AS bucket, upper(r.currency) AS currency, "
        "-sum(p.amount) AS refund_amount FROM refunds r "
        "JOIN journal_entries je ON je.reference = r.id AND je.account_id = r.account_id "
        "AND je.livemode = r.livemode AND je.kind IN ('refund', 'refund_reversal') "
        "JOIN postings p ON p.entry_id = je.id AND p.account_id = je.account_id AND p.livemode = je.livemode "
        "JOIN ledger_accounts la ON la.id = p.ledger_account_id AND la.purpose = 'merchant_balance' "
        "WHERE r.account_id = $1 AND r.livemode = $2 AND r.created >= $3 AND r.created < $4 GROUP BY 1, 2",
        scope.account_id, scope.livemode, since, until)


async def ledger_credits(scope: Scope, since: datetime, until: datetime) -> list[dict[str, Any]]:
    return await db.fetch(
        f"SELECT {_BUCKET.format('c.created')} AS bucket, upper(c.currency) AS currency, "
        "sum(p.amount) AS credit_amount FROM credits c "
        "JOIN postings p ON p.entry_id = c.entry_id AND p.account_id = c.account_id AND p.livemode = c.livemode "
        "JOIN ledger_accounts la ON la.id = p.ledger_account_id AND la.purpose = 'customer_wallet' "
        "WHERE c.account_id = $1 AND c.livemode = $2 AND c.created >= $3 AND c.created < $4 GROUP BY 1, 2",
        scope.account_id, scope.livemode, since, until)


async def ledger_transfers(scope: Scope, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """What left the senders' wallets, per transfer bucket."""
    return await db.fetch(
        f"SELECT {_BUCKET.format('t.created')} AS bucket, upper(t.currency) AS currency, "
        "-sum(p.amount) AS transfer_amount FROM transfers t "
        "JOIN postings p ON p.entry_id = t.entry_id AND p.account_id = t.account_id AND p.livemode = t.livemode "
        "JOIN ledger_accounts la ON la.id = p.ledger_account_id AND la.purpose = 'customer_wallet' "
        "AND la.owner_id = t.from_customer AND la.currency = t.currency "
        "WHERE t.account_id = $1 AND t.livemode = $2 AND t.created >= $3 AND t.created < $4 GROUP BY 1, 2",
        scope.account_id, scope.livemode, since, until)


async def ledger_disputes(scope: Scope, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """What disputes keep from merchant balances (withdrawn, less what was won back or covered; the fee
    apart), per dispute bucket: the entries server/disputes/accounting.py names AMOUNT_KINDS."""
    return await db.fetch(
        f"SELECT {_BUCKET.format('d.created')} AS bucket, upper(d.currency) AS currency, "
        "-sum(p.amount) AS dispute_amount FROM disputes d "
        "JOIN journal_entries je ON je.reference = d.id AND je.account_id = d.account_id "
        "AND je.livemode = d.livemode AND je.kind IN ('dispute_withdrawal', 'dispute_reinstatement', "
        "'seller_protection') "
        "JOIN postings p ON p.entry_id = je.id AND p.account_id = je.account_id AND p.livemode = je.livemode "
        "JOIN ledger_accounts la ON la.id = p.ledger_account_id AND la.purpose = 'merchant_balance' "
        "WHERE d.account_id = $1 AND d.livemode = $2 AND d.created >= $3 AND d.created < $4 GROUP BY 1, 2",
        scope.account_id, scope.livemode, since, until)


# --- reads for the service -----------------------------------------------------------------------
#
# A read names its range as segments (`levels.segments`): each a level and a part of the range on that
# level's grain. The rows of all segments are read as one UNION ALL and summed together.


def _sums(columns: Iterable[str]) -> str:
    return ", ".join(f"coalesce(sum({c}), 0) AS {c}" for c in columns)


def _rows(scope: Scope, segments: Sequence[Segment], args: list[Any], *, api: bool = False,
          endpoint: str | None = None, api_key_id: str | None = None) -> str:
    """`(SELECT * FROM level WHERE scope AND part ... UNION ALL ...)`, appending its parameters to `args`."""
    args += [scope.account_id, scope.livemode]
    scoped = f"account_id = ${len(args) - 1} AND livemode = ${len(args)}"
    if endpoint is not None:
        args.append(endpoint)
        scoped += f" AND endpoint = ${len(args)}"
    if api_key_id is not None:
        args.append(api_key_id)
        scoped += f" AND api_key_id = ${len(args)}"
    parts = []
    for level, start, end in segments:
        args += [start, end]
        parts.append(f"SELECT * FROM {level.api_table if api else level.table} WHERE {scoped} "
                     f"AND bucket >= ${len(args) - 1} AND bucket < ${len(args)}")
    return "(" + " UNION ALL ".join(parts) + ")"


def _period(args: list[Any], starts: list[datetime] | None, keys: list[str]) -> None:
    if starts is not None:
        args.append(starts)
        keys.append(f"width_bucket(r.bucket, ${len(args)}::timestamptz[]) AS period")


async def totals(scope: Scope, segments: Sequence[Segment], starts: list[datetime] | None = None
                 ) -> list[dict[str, Any]]:
    """Every numeric rollup column summed per currency (and per period: the 1-based index of the period
    start in `starts` that a row falls in, when given)."""
    args: list[Any] = []
    keys: list[str] = []
    _period(args, starts, keys)
    keys.append("r.currency")
    rows = _rows(scope, segments, args)
    return await db.fetch(f"SELECT {', '.join(keys)}, {_sums(scalar_columns())} FROM {rows} r "
                          f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}", *args)


async def api_totals(scope: Scope, segments: Sequence[Segment], *, group: str | None = None,
                     starts: list[datetime] | None = None, endpoint: str | None = None,
                     api_key_id: str | None = None) -> list[dict[str, Any]]:
    """Request counts, by `group` ('endpoint' or 'api_key_id') and/or period when asked."""
    assert group in (None, "endpoint", "api_key_id")
    args: list[Any] = []
    keys: list[str] = []
    _period(args, starts, keys)
    if group:
        keys.append(f"r.{group} AS grp")
    rows = _rows(scope, segments, args, api=True, endpoint=endpoint, api_key_id=api_key_id)
    group_by = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    return await db.fetch(f"SELECT {', '.join([*keys, _sums(API_COUNTS)])} FROM {rows} r{group_by}", *args)


async def api_latency(scope: Scope, segments: Sequence[Segment], *, group: str | None = None,
                      starts: list[datetime] | None = None, endpoint: str | None = None,
                      api_key_id: str | None = None) -> list[dict[str, Any]]:
    """Merged latency histograms: (group?, period?, histogram bucket, count) rows."""
    assert group in (None, "endpoint", "api_key_id")
    args: list[Any] = []
    keys: list[str] = []
    _period(args, starts, keys)
    if group:
        keys.append(f"r.{group} AS grp")
    keys.append("h.key::int AS hbucket")
    rows = _rows(scope, segments, args, api=True, endpoint=endpoint, api_key_id=api_key_id)
    return await db.fetch(
        f"SELECT {', '.join(keys)}, sum(h.value::bigint) AS n FROM {rows} r, jsonb_each_text(r.{LATENCY_COLUMN}) h "
        f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}", *args)


async def top_codes(scope: Scope, segments: Sequence[Segment], column: str, limit: int) -> list[dict[str, Any]]:
    """The most frequent codes of a code column, with the total of all codes."""
    assert column in (*code_columns(), ERROR_CODES_COLUMN)
    args: list[Any] = []
    rows = _rows(scope, segments, args, api=column == ERROR_CODES_COLUMN)
    args.append(limit)
    return await db.fetch(
        f"SELECT h.key AS code, sum(h.value::bigint) AS n, sum(sum(h.value::bigint)) OVER () AS total "
        f"FROM {rows} r, jsonb_each_text(r.{column}) h GROUP BY h.key ORDER BY n DESC, h.key LIMIT ${len(args)}",
        *args)


# --- bulk writes of history (demo, benchmarks) -----------------------------------------------------


async def copy_records(table: str, columns: Sequence[str], records: list[tuple[Any, ...]]) -> None:
    """COPY rows into a table on the current transaction's connection (or a pooled one)."""
    assert table in ("customers", "payment_intents", "refunds", "credits", "transfers", "fx_rates"), table
    if not records:
        return
    async with db.transaction() as txn:
        await txn.connection.copy_records_to_table(table, records=records, columns=list(columns))


async def secret_key_ids(scope: Scope) -> list[str]:
    rows = await db.fetch("SELECT id FROM api_keys WHERE account_id = $1 AND livemode = $2 AND kind = 'secret' "
                          "AND revoked_at IS NULL ORDER BY id", scope.account_id, scope.livemode)
    return [r["id"] for r in rows]


async def has_payments(scope: Scope) -> bool:
    row = await db.fetchrow("SELECT EXISTS (SELECT 1 FROM payment_intents WHERE account_id = $1 AND livemode = $2) "
                            "AS any", scope.account_id, scope.livemode)
    return bool(row and row["any"])


async def lock_account_without_payments(scope: Scope) -> bool:
    """Lock the account row (one writer of history at a time); True if the scope still has no payment."""
    await db.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", scope.account_id)
    return not await has_payments(scope)
