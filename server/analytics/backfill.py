"""Write generated history in bulk: COPY for the objects, the ledger's bulk path for the money, then rollups.

`write_history()` writes day by day (bounded memory at a million payments): customers, payment intents,
refunds, credits and transfers by COPY; their journal entries through `ledger.bulk.post_many` (the same
legs the services post, so balances are the sum of real postings); API requests through the log's own
COPY (`apilogs.queries.copy_rows`, which rolls them up as it stores them). `rebuild` then recomputes the
range's rollups from what was written. History has no events: it happened before the outbox's
retention window, like data imported from elsewhere.

`backfill_demo()` gives the demo account 90 days of test-mode history, once: in one transaction, and
only while the account has no test-mode payment yet, so restarts and a crash half-way change nothing.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta

from server import clock, db
from server.accounts import queries as account_queries
from server.analytics import buckets, queries, verify
from server.analytics.history import (
    CREDIT_COLUMNS,
    CUSTOMER_COLUMNS,
    MEAN_FACTOR,
    PI_COLUMNS,
    REFUND_COLUMNS,
    TRANSFER_COLUMNS,
    Day,
    History,
    Payment,
    Shape,
)
from server.apilogs import partitions
from server.apilogs import queries as log_queries
from server.context import RequestContext, Scope
from server.ids import new_id
from server.ledger import bulk, fx
from server.ledger import service as ledger
from server.ledger.rows import LedgerAccount

DEMO_DAYS = 90
# Test-mode rates of the demo account (operator rates; analytics converts with them).
DEMO_RATES = {("EUR", "USD"): "1.08", ("GBP", "USD"): "1.27", ("JPY", "USD"): "0.0067", ("KWD", "USD"): "3.25"}


@dataclass
class Written:
    customers: int = 0
    payments: int = 0
    refunds: int = 0
    credits: int = 0
    transfers: int = 0
    postings: int = 0
    requests: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        parts = [f"{getattr(self, f.name)} {f.name}" for f in fields(self) if f.name != "seconds"]
        return ", ".join(parts) + f" in {self.seconds:.1f}s"


class _LedgerAccounts:
    """Ledger accounts by (owner, purpose, currency), created on first use ('' owner: the merchant)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.known: dict[tuple[str, str, str], LedgerAccount] = {}

    async def get(self, owner: str, purpose: str, currency: str) -> LedgerAccount:
        key = (owner, purpose, currency)
        if key not in self.known:
            self.known[key] = (await ledger.merchant_account(self.scope, purpose, currency) if not owner
                               else await ledger.ledger_account(self.scope, ledger.CUSTOMER, owner, purpose, currency))
        return self.known[key]


async def write_history(scope: Scope, history: History, first: date, last: date,
                        now: datetime | None = None) -> Written:
    """Write `history` for the local days first..last (nothing after `now`) into the scope; see the module doc.

    Runs in the caller's transaction if there is one (the demo: all or nothing), else one per day.
    """
    now = now or clock.now()
    started = time.perf_counter()
    written = Written()
    accounts = _LedgerAccounts(scope)
    for day in history.days(first, last, now):
        async with db.transaction():
            await _write_day(scope, day, accounts, written)
    written.seconds = time.perf_counter() - started
    return written


async def _write_day(scope: Scope, day: Day, accounts: _LedgerAccounts, written: Written) -> None:
    for table, columns, rows, counter in (("customers", CUSTOMER_COLUMNS, day.customers, "customers"),
                                          ("payment_intents", PI_COLUMNS, day.payments, "payments"),
                                          ("refunds", REFUND_COLUMNS, day.refunds, "refunds"),
                                          ("credits", CREDIT_COLUMNS, day.credits, "credits"),
                                          ("transfers", TRANSFER_COLUMNS, day.transfers, "transfers")):
        await queries.copy_records(table, columns, rows)
        setattr(written, counter, getattr(written, counter) + len(rows))
    entries = []
    for entry in day.entries:
        legs = [ledger.Leg((await accounts.get(owner, purpose, currency)).id, currency, amount)
                for owner, purpose, currency, amount in entry.moves if amount]
        entries.append(bulk.DatedEntry(entry.kind, legs, entry.created, entry.reference, id=entry.id))
    written.postings += await bulk.post_many(scope, entries)
    if day.requests:
        await log_queries.copy_rows(day.requests)
        written.requests += len(day.requests)


async def write_generated(scope: Scope, day: Day) -> Written:
    """Rows generated elsewhere (the benchmarks' demo marketplace) with their journal entries, in the caller's
    transaction; the caller rebuilds the rollups."""
    started = time.perf_counter()
    written = Written()
    await _write_day(scope, day, _LedgerAccounts(scope), written)
    written.seconds = time.perf_counter() - started
    return written


FX_COLUMNS = ("id", "account_id", "livemode", "base", "quote", "rate", "spread_bps", "updated")


async def write_rates(livemode: bool, rates: list[tuple[str, str, str, str]], now: datetime) -> None:
    """Operator FX rates of many accounts at once, by COPY: (account, base, quote, rate), no spread."""
    await queries.copy_records("fx_rates", FX_COLUMNS, [(new_id("fx"), account_id, livemode, base, quote, rate, 0, now)
                                                        for account_id, base, quote, rate in rates])


async def ensure_log_partitions(since: datetime, now: datetime) -> None:
    """Daily partitions of the request log from `since` to today (outside any transaction: DDL once)."""
    day = since.astimezone(UTC).date()
    while day <= now.astimezone(UTC).date():
        await partitions.ensure(day)
        day += timedelta(days=1)


async def history_for(scope: Scope, shape: Shape, *, seed: int = 90,
                      requests_from: datetime | None = None) -> History:
    """A generator for the account's zone, pricing and secret keys."""
    account = await account_queries.account(scope.account_id)
    assert account is not None, f"no account {scope.account_id}"
    return History(scope.account_id, scope.livemode, buckets.zone(account["timezone"]),
                   {"fee_percent_bps": account["fee_percent_bps"], "fee_fixed_minor": account["fee_fixed_minor"]},
                   await queries.secret_key_ids(scope), shape, random.Random(seed), requests_from)


async def seed(scope: Scope, *, payments: int, days: int, with_requests: bool = False, seed: int = 7,
               now: datetime | None = None) -> Written:
    """About `payments` payments (with proportionate customers, refunds, credits, transfers) over the last
    `days` days, then the rollups of that range: the bulk writer of the benchmarks."""
    now = now or clock.now()
    per_day = payments / days / MEAN_FACTOR
    shape = Shape(payments_per_day=per_day, customers_per_day=max(1.0, per_day / 10),
                  credits_per_day=max(1.0, per_day / 40), transfers_per_day=max(1.0, per_day / 50),
                  with_requests=with_requests)
    history = await history_for(scope, shape, seed=seed)
    start = now - timedelta(days=days)
    if with_requests:
        await ensure_log_partitions(start, now)
    written = await write_history(scope, history, start.astimezone(history.zone).date(),
                                  now.astimezone(history.zone).date(), now)
    await verify.rebuild_scope(scope, start - timedelta(days=1), now + buckets.BUCKET)
    return written


async def write_payments(scope: Scope, payments: list[Payment], now: datetime | None = None) -> Written:
    """Exactly these payments (no refunds, no requests), with their ledger entries and rollups."""
    now = now or clock.now()
    history = await history_for(scope, Shape(refund_share=0, with_requests=False))
    history.now = now
    day = Day()
    for spec in sorted(payments, key=lambda p: p.at):
        history.payment(day, spec, now)
    written = Written()
    started = time.perf_counter()
    async with db.transaction():
        await _write_day(scope, day, _LedgerAccounts(scope), written)
    first, last = min(p.at for p in payments), max(p.at for p in payments)
    await verify.rebuild_scope(scope, first, last + buckets.BUCKET)
    written.seconds = time.perf_counter() - started
    return written


async def backfill_demo(ctx: RequestContext, days: int = DEMO_DAYS, now: datetime | None = None) -> Written | None:
    """90 days of test-mode history for the demo account, unless it already has payments (then None).

    `ctx` is the demo owner's, in test mode (it sets the demo FX rates, as an admin would).
    """
    scope = Scope(ctx.scope.account_id, False)
    now = now or clock.now()
    account = await account_queries.account(scope.account_id)
    assert account is not None
    if await queries.has_payments(scope):
        return None
    history = await history_for(scope, Shape(), requests_from=now - timedelta(days=account["log_retention_days"]))
    await ensure_log_partitions(history.requests_from or now, now)
    start = datetime.combine(now.astimezone(history.zone).date() - timedelta(days=days), datetime.min.time(),
                             tzinfo=history.zone)
    async with db.transaction():
        if not await queries.lock_account_without_payments(scope):
            return None  # another process wrote it meanwhile
        for (base, quote), rate in DEMO_RATES.items():
            await fx.set_rate(ctx, base, quote, rate, 0)
        written = await write_history(scope, history, start.date(), now.astimezone(history.zone).date(), now)
        await verify.rebuild_scope(scope, start, now + buckets.BUCKET)
    return written
