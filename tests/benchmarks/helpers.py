"""Shared helpers of the benchmarks tests: a month of their own, sellers with exactly chosen payments, a small policy.

Releases are across every seller of a mode, so each test writes its sellers' payments in a month no
other test uses (`fresh_month()`: months from 2001 on, one per call, years before any real data);
only its own sellers are active there.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from server.accounts import service as accounts
from server.analytics import backfill
from server.analytics.history import Payment
from server.benchmarks import periods, service
from server.benchmarks.metrics import ReleasePolicy
from server.context import Scope
from server.permissions import Role
from tests.factories import new_account, user_ctx

# Cohorts of 20 get quartiles, of 8 the median; counts are nearly exact (ε 5), so tests can say which.
SMALL = ReleasePolicy(k_quartiles=20, epsilon_per_quartile=0.5, k_median=8, epsilon_median=1.0, epsilon_count=5.0,
                      monthly_epsilon_cap=30.0)
_months = itertools.count()


def fresh_month() -> date:
    """A month no other test in this process releases (and far from any real data)."""
    n = next(_months)
    return date(2001 + n // 12, n % 12 + 1, 1)


@dataclass(frozen=True)
class Mix:
    """One seller's month: how many intents succeed, fail, are abandoned; each succeeded one's amount (cents)."""

    succeeded: int = 8
    failed: int = 1
    abandoned: int = 1
    amount: int = 2_000
    disputed: int = 0


def payments(month: date, mix: Mix, currency: str = "USD") -> list[Payment]:
    start = periods.start(month)
    found = []
    for i in range(mix.succeeded):
        found.append(Payment(start + timedelta(days=1, hours=i), mix.amount, currency, disputed=i < mix.disputed))
    for i in range(mix.failed):
        found.append(Payment(start + timedelta(days=2, hours=i), mix.amount, currency, "failed",
                             decline_code="generic_decline"))
    for i in range(mix.abandoned):
        found.append(Payment(start + timedelta(days=3, hours=i), mix.amount, currency, "requires_payment_method"))
    return found


async def sellers(month: date, mixes: list[Mix], *, category: str = "retail", country: str = "DE",
                  previous: Mix | None = None) -> list[str]:
    """Seller accounts (no logins) with these months; `previous` also gives each the month before."""
    ids = await accounts.create_sellers([
        accounts.SellerAccount(name=f"Seller {i}", category=category, country=country, default_currency="USD",
                               timezone="UTC") for i in range(len(mixes))], created=periods.start(month))
    for account_id, mix in zip(ids, mixes, strict=True):
        history = payments(month, mix)
        if previous:
            history += payments(periods.previous(month), previous)
        await backfill.write_payments(Scope(account_id, False), history,
                                      now=periods.end(month) + timedelta(days=40))
    return ids


async def owner(month: date, mix: Mix | None, *, category: str = "retail", country: str = "DE",
                previous: Mix | None = None):
    """A seller with a login and its owner's context; `mix` None: no payments that month."""
    account = await new_account(category=category, country=country)
    scope = Scope(account.account["id"], False)
    history = payments(month, mix) if mix else []
    if previous:
        history += payments(periods.previous(month), previous)
    if history:
        await backfill.write_payments(scope, history, now=periods.end(month) + timedelta(days=40))
    return account, user_ctx(account.account["id"], account.user["id"], Role.OWNER)


async def release(month: date, policy: ReleasePolicy = SMALL, livemode: bool = False):
    return await service.compute_period(livemode, month, policy)
