"""SQL of seller benchmarks: a month's inputs across every seller of a mode, and the stored releases.

Months are UTC calendar months, read from the daily analytics rollups (whole UTC days) and, for what
the rollups do not count, from the source tables. Reads of stored releases are by mode and period;
a seller's own rows are always read by (account, mode).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg
import msgspec

from server import db
from server.benchmarks.rows import (
    ActiveSeller,
    BenchmarkPeriod,
    BenchmarkRelease,
    BenchmarkSellerValue,
    BudgetLine,
    CurrencyTotals,
    DisputeCount,
    Gross,
    SellerSettings,
)
from server.context import Scope
from server.ledger.rows import FxRate

# --- a month's inputs --------------------------------------------------------------------------


async def active_sellers(livemode: bool, start: datetime, end: datetime) -> list[ActiveSeller]:
    """Accounts that created a payment intent in [start, end), with their category and country now."""
    return await db.fetch_as(
        ActiveSeller,
        "SELECT a.id AS account_id, a.category, a.country, c.created FROM accounts a JOIN ("
        "  SELECT account_id, count(*) AS created FROM payment_intents"
        "  WHERE livemode = $1 AND created >= $2 AND created < $3 GROUP BY account_id"
        ") c ON c.account_id = a.id ORDER BY a.id", livemode, start, end)


async def currency_totals(livemode: bool, start: datetime, end: datetime) -> list[CurrencyTotals]:
    """Each seller's confirmed, succeeded, gross volume and refunds per currency, from the daily rollups."""
    return await db.fetch_as(
        CurrencyTotals,
        "SELECT account_id, currency, sum(attempts)::bigint AS attempts, sum(succeeded)::bigint AS succeeded, "
        "sum(gross_amount) AS gross, sum(refund_count)::bigint AS refunds FROM analytics_rollups_daily "
        "WHERE livemode = $1 AND bucket >= $2 AND bucket < $3 AND currency <> '' "
        "GROUP BY account_id, currency", livemode, start, end)


async def gross_volume(livemode: bool, start: datetime, end: datetime) -> list[Gross]:
    return await db.fetch_as(
        Gross,
        "SELECT account_id, currency, sum(gross_amount) AS gross FROM analytics_rollups_daily "
        "WHERE livemode = $1 AND bucket >= $2 AND bucket < $3 AND currency <> '' "
        "GROUP BY account_id, currency HAVING sum(gross_amount) <> 0", livemode, start, end)


async def dispute_counts(livemode: bool, start: datetime, end: datetime) -> list[DisputeCount]:
    """Disputed payments among those created in [start, end), per seller.

    The one place benchmarks count disputes: from `payment_intents.disputed` until the disputes
    domain has its table (then this reads disputes by the disputed payment's creation time).
    """
    return await db.fetch_as(
        DisputeCount,
        "SELECT account_id, count(*) AS disputed FROM payment_intents "
        "WHERE livemode = $1 AND created >= $2 AND created < $3 AND disputed GROUP BY account_id",
        livemode, start, end)


async def usd_rates(livemode: bool, account_ids: Sequence[str]) -> list[FxRate]:
    """The sellers' FX rates to or from USD (analytics converts with these)."""
    return await db.fetch_as(
        FxRate, "SELECT * FROM fx_rates WHERE livemode = $1 AND account_id = ANY($2::text[]) "
                "AND 'USD' IN (base, quote)", livemode, list(account_ids))


# --- storing a period ---------------------------------------------------------------------------


async def claim_period(row: BenchmarkPeriod) -> bool:
    """Insert the period's row unless the period was computed (or is being computed: this waits)."""
    fields = msgspec.structs.asdict(row)
    found = await db.fetchrow(db.insert_sql("benchmark_periods", list(fields), "ON CONFLICT DO NOTHING RETURNING id"),
                              *fields.values())
    return found is not None


async def copy_rows(table: str, columns: Sequence[str], records: list[tuple[Any, ...]]) -> None:
    """COPY a period's releases, seller values or budget entries (in the caller's transaction)."""
    assert table in ("benchmark_releases", "benchmark_seller_values", "privacy_budget_ledger"), table
    if not records:
        return
    async with db.transaction() as txn:
        await txn.connection.copy_records_to_table(table, records=records, columns=list(columns))


async def spent_in(livemode: bool, period: date) -> dict[str, float]:
    rows = await db.fetch("SELECT account_id, sum(epsilon) AS spent FROM privacy_budget_ledger "
                          "WHERE livemode = $1 AND period = $2 GROUP BY account_id", livemode, period)
    return {r["account_id"]: float(r["spent"]) for r in rows}


# --- reading stored releases ---------------------------------------------------------------------


async def period(livemode: bool, month: date) -> BenchmarkPeriod | None:
    return await db.fetchrow_as(BenchmarkPeriod, "SELECT * FROM benchmark_periods WHERE livemode = $1 AND period = $2",
                                livemode, month)


async def periods(livemode: bool, until: date | None = None, limit: int = 24) -> list[date]:
    """The computed periods, newest first."""
    rows = await db.fetch("SELECT period FROM benchmark_periods WHERE livemode = $1 AND ($2::date IS NULL OR "
                          "period <= $2) ORDER BY period DESC LIMIT $3", livemode, until, limit)
    return [r["period"] for r in rows]


async def releases_of_cohort(livemode: bool, months: Sequence[date], category: str, region: str
                             ) -> list[BenchmarkRelease]:
    return await db.fetch_as(
        BenchmarkRelease, "SELECT * FROM benchmark_releases WHERE livemode = $1 AND period = ANY($2::date[]) "
                          "AND category = $3 AND region = $4 ORDER BY period, kind",
        livemode, list(months), category, region)


async def count_release(livemode: bool, month: date, category: str, region: str) -> BenchmarkRelease | None:
    return await db.fetchrow_as(
        BenchmarkRelease, "SELECT * FROM benchmark_releases WHERE livemode = $1 AND period = $2 AND category = $3 "
                          "AND region = $4 AND kind = 'count'", livemode, month, category, region)


async def releases(livemode: bool, ids: Sequence[str]) -> list[BenchmarkRelease]:
    return await db.fetch_as(BenchmarkRelease, "SELECT * FROM benchmark_releases WHERE livemode = $1 AND "
                                               "id = ANY($2::text[])", livemode, list(ids))


async def seller_values(scope: Scope, months: Sequence[date]) -> list[BenchmarkSellerValue]:
    """The seller's own values (and the releases of its cohorts) in these periods."""
    return await db.fetch_as(
        BenchmarkSellerValue, "SELECT * FROM benchmark_seller_values WHERE account_id = $1 AND livemode = $2 "
                              "AND period = ANY($3::date[]) ORDER BY period, metric",
        scope.account_id, scope.livemode, list(months))


async def seller_settings(account_id: str) -> SellerSettings | None:
    """The category and country a seller's cohort follows when it was in none (no payments that month)."""
    return await db.fetchrow_as(SellerSettings, "SELECT category, country FROM accounts WHERE id = $1", account_id)


async def spent_by(scope: Scope, month: date) -> float:
    row = await db.fetchrow("SELECT coalesce(sum(epsilon), 0) AS spent FROM privacy_budget_ledger "
                            "WHERE account_id = $1 AND livemode = $2 AND period = $3",
                            scope.account_id, scope.livemode, month)
    return float(row["spent"]) if row else 0.0


async def budget_lines(scope: Scope, month: date) -> list[BudgetLine]:
    """The seller's ledger entries of a period with the releases they paid for, oldest first."""
    return await db.fetch_as(
        BudgetLine,
        "SELECT l.id, l.period, l.release_id, l.epsilon, l.created, r.category, r.region, r.kind, r.status "
        "FROM privacy_budget_ledger l JOIN benchmark_releases r ON r.id = l.release_id "
        "WHERE l.account_id = $1 AND l.livemode = $2 AND l.period = $3 ORDER BY l.id",
        scope.account_id, scope.livemode, month)


# Bulk writers of past months (the demo's history and marketplace) hold this lock shared; a release takes it
# exclusively, so releases wait for every writer.
HISTORY_BEING_WRITTEN = 0x70617964_6869  # "paydhi"


@contextlib.asynccontextmanager
async def holding_releases(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """Hold every release while past months are written: a month released meanwhile would be released
    without the sellers still to come, for good. A session lock on a connection of its own, so it spans the
    writer's transactions and is gone if the writer dies."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock_shared($1)", HISTORY_BEING_WRITTEN)
        yield conn
    finally:
        await conn.close()


# The sessions holding the releases: bulk writers, each with a shared session lock (holding_releases).
WRITERS_SQL = ("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND mode = 'ShareLock' "
               "AND ((classid::bigint << 32) | objid::bigint) = $1")


async def release_holders(conn: asyncpg.Connection) -> int:
    """How many bulk writers hold the releases now."""
    return int(await conn.fetchval(WRITERS_SQL, HISTORY_BEING_WRITTEN))


RELEASING = 0x70617964_7265  # "paydre": one release at a time (a second waits, then finds the month released)


async def hold_releases_here() -> bool:
    """In the caller's transaction: hold the releases exclusively until it ends, unless a bulk writer holds
    them (False). Taken before the month is read, so no writer can start between the check and the release.
    Releases queue behind each other first. The one before may still hold the writers' lock for an instant as
    its transaction ends (PostgreSQL lets RELEASING go first): only a shared holder is a writer; the
    exclusive lock of a release ending is waited out."""
    await db.execute("SELECT pg_advisory_xact_lock($1)", RELEASING)
    row = await db.fetchrow("SELECT pg_try_advisory_xact_lock($1) AS free", HISTORY_BEING_WRITTEN)
    if row and row["free"]:
        return True
    writers = await db.fetchrow(WRITERS_SQL, HISTORY_BEING_WRITTEN)
    if writers and writers["n"]:
        return False
    await db.execute("SELECT pg_advisory_xact_lock($1)", HISTORY_BEING_WRITTEN)
    return True
