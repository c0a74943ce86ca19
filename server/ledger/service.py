"""The ledger's internal API: the one place money moves.

Other domains (customers, payments, refunds, disputes) call these functions
inside their own `db.transaction()`; see docs/ledger.md. Amounts are signed
integers in minor units: a positive posting raises the ledger account's
balance, a negative one lowers it, and the postings of an entry sum to zero
per currency. Accounts that may not go negative (customer wallets, dispute
holds) make an entry that would overdraw them fail with `PaymentRequired`
(402, `insufficient_funds`) and change nothing. The merchant balance may go
negative: a refund within what was captured always succeeds, and the fee it
does not return can take the balance below zero (the merchant owes it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from server import db
from server.context import RequestContext, Scope
from server.errors import ErrorCode, PaymentRequired
from server.ids import new_id
from server.ledger import queries
from server.ledger.rows import Amount, Balance, BalanceChange, LedgerAccount, Posting
from server.pagination import Page
from server.permissions import read

# purpose -> may the balance go below zero?
PURPOSES: dict[str, bool] = {
    "customer_wallet": False,     # a customer's stored balance
    "merchant_balance": True,     # what the merchant may pay out; below zero, what it owes
    "dispute_hold": False,        # money held while a dispute is open
    "platform_protection": True,  # the platform's seller protection: pays covered dispute losses (goes below zero)
    "claim_hold": False,          # a customer's money held while a claim on a transfer is open
    "fees": True,                 # fees charged to the merchant
    "processor_clearing": True,   # money the card processor owes us
    "funding": True,              # money that entered from outside (credits)
    "fx": True,                   # one per currency: the other side of every conversion
}
CUSTOMER, MERCHANT = "customer", "merchant"
T = TypeVar("T")
# A posting naming a ledger account that is not there (ledger_post_entry's check): nothing was written.
UNKNOWN_ACCOUNT = "unknown ledger account"
MAX_KNOWN = 100_000  # ids kept per process; past it the cache starts again

# Ledger account ids as this process last found them, by (account, mode, owner, purpose, currency). An id never
# changes while its row exists; only "delete all test data" removes rows, and a posting naming a removed one fails
# whole (ledger_post_entry checks every account), so `with_known_accounts` forgets them all and runs its work again.
_known: dict[tuple[str, bool, str, str, str], str] = {}


class StaleLedgerAccount(Exception):
    """A remembered ledger account id no longer exists (its test data was deleted); the transaction failed whole."""


@dataclass(frozen=True)
class Leg:
    """One posting to make: `amount` (signed, minor units) on a ledger account."""

    ledger_account_id: str
    currency: str
    amount: int


@dataclass
class Entry:
    id: str
    kind: str
    reference: str | None
    postings: list[Posting] = field(default_factory=list)

    def balance_after(self, ledger_account_id: str) -> int:
        return next(p.balance_after for p in self.postings if p.ledger_account_id == ledger_account_id)


async def ledger_account(scope: Scope, owner_type: str, owner_id: str, purpose: str, currency: str) -> LedgerAccount:
    """The ledger account of (owner, purpose, currency), created on first use."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown ledger purpose {purpose!r}")
    return await queries.ensure_account(scope, owner_type, owner_id, purpose, currency, PURPOSES[purpose])


async def account_id(scope: Scope, owner_type: str, owner_id: str, purpose: str, currency: str) -> str:
    """The id of `ledger_account(...)`, remembered by this process once the row is committed.

    Post with it only inside `with_known_accounts`, which recovers from an id whose row was deleted since."""
    if (known := known_account_id(scope, owner_id, purpose, currency)) is not None:
        return known
    found = (await ledger_account(scope, owner_type, owner_id, purpose, currency)).id
    await remember_account_id(scope, owner_id, purpose, currency, found)
    return found


def known_account_id(scope: Scope, owner_id: str, purpose: str, currency: str) -> str | None:
    """The ledger account id this process remembers, if any (a write folded into one SQL call creates the
    account itself when this is None, and hands the id back to `remember_account_id`)."""
    return _known.get((scope.account_id, scope.livemode, owner_id, purpose, currency))


async def remember_account_id(scope: Scope, owner_id: str, purpose: str, currency: str, found: str) -> None:
    """Remember an id once its row is committed: at once outside a transaction, after its commit inside one."""
    key = (scope.account_id, scope.livemode, owner_id, purpose, currency)

    async def remember() -> None:
        if len(_known) >= MAX_KNOWN:
            _known.clear()
        _known[key] = found

    if db.in_transaction():
        db.after_commit(remember)  # a row this transaction created is not there if it rolls back
    else:
        await remember()


async def merchant_account_id(scope: Scope, purpose: str, currency: str) -> str:
    return await account_id(scope, MERCHANT, scope.account_id, purpose, currency)


async def wallet_id(scope: Scope, customer_id: str, currency: str) -> str:
    return await account_id(scope, CUSTOMER, customer_id, "customer_wallet", currency)


async def forget_accounts() -> None:
    """Drop every remembered ledger account id of this process (after "delete all test data")."""
    _known.clear()


async def with_known_accounts(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` (which opens its own transaction and posts with remembered ids); if a remembered id's row has
    gone, its transaction failed whole and changed nothing: forget the ids and run it once more."""
    if db.in_transaction():
        raise RuntimeError("with_known_accounts runs a whole transaction; call it outside one")
    try:
        return await work()
    except StaleLedgerAccount:
        await forget_accounts()
        return await work()


async def wallet(scope: Scope, customer_id: str, currency: str) -> LedgerAccount:
    return await ledger_account(scope, CUSTOMER, customer_id, "customer_wallet", currency)


async def merchant_account(scope: Scope, purpose: str, currency: str) -> LedgerAccount:
    """An account-level ledger account (merchant balance, fees, clearing, funding, fx) of this mode."""
    return await ledger_account(scope, MERCHANT, scope.account_id, purpose, currency)


def check_legs(legs: list[Leg]) -> None:
    if len(legs) < 2:
        raise ValueError("an entry needs at least two postings")
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int) or leg.amount == 0:
            raise ValueError(f"posting amounts are non-zero integers, not {leg.amount!r}")
        totals[leg.currency] += leg.amount
    unbalanced = {c: t for c, t in totals.items() if t != 0}
    if unbalanced:
        raise ValueError(f"postings do not sum to zero per currency: {unbalanced}")


async def post(scope: Scope, kind: str, legs: list[Leg], *, reference: str | None = None, description: str = "",
               metadata: dict[str, Any] | None = None, entry_id: str | None = None) -> Entry:
    """Record one journal entry atomically. Joins the caller's transaction (or opens one).

    Ledger accounts are locked in id order, so concurrent entries never
    deadlock. Raises PaymentRequired if a non-negative account would go below
    zero; nothing is written then.
    """
    check_legs(legs)
    entry_id = entry_id or new_id("je")
    raw_legs = [(leg.ledger_account_id, leg.currency, leg.amount) for leg in legs]
    with posting_errors():
        if db.engine().current_transaction.get() is not None:  # the caller's block undoes it on error
            rows = await queries.post_entry(scope, entry_id, kind, reference, description, metadata or {}, raw_legs)
        else:
            async with db.transaction():
                rows = await queries.post_entry(scope, entry_id, kind, reference, description, metadata or {},
                                                raw_legs)
    return Entry(entry_id, kind, reference, rows)


@contextmanager
def posting_errors() -> Iterator[None]:
    """What ledger_post_entry() refuses, as the ledger's errors: an overdraft is `PaymentRequired`, a remembered
    account id whose row is gone `StaleLedgerAccount` (for `with_known_accounts`). Nothing was written then."""
    try:
        yield
    except asyncpg.CheckViolationError as exc:
        if exc.constraint_name == "ledger_accounts_non_negative":
            raise PaymentRequired("insufficient funds: the balance is too low for this amount",
                                  code=ErrorCode.INSUFFICIENT_FUNDS, param="amount") from None
        raise
    except asyncpg.ForeignKeyViolationError as exc:
        if UNKNOWN_ACCOUNT in str(exc):
            raise StaleLedgerAccount(str(exc)) from exc
        raise


async def transfer(scope: Scope, kind: str, source: LedgerAccount, target: LedgerAccount, amount: int, *,
                   reference: str | None = None, description: str = "") -> Entry:
    """Move `amount` between two ledger accounts of the same currency."""
    assert source.currency == target.currency, "use convert legs for cross-currency moves"
    return await post(scope, kind, [Leg(source.id, source.currency, -amount),
                                    Leg(target.id, target.currency, amount)],
                      reference=reference, description=description)


async def record_payment(scope: Scope, payment_id: str, gross: int, fee: int, currency: str) -> Entry:
    """A succeeded payment: the processor owes `gross`; the merchant gets gross - fee; `fee` is ours.

    Posts with remembered account ids: run the caller's transaction inside `with_known_accounts`."""
    clearing = await merchant_account_id(scope, "processor_clearing", currency)
    balance = await merchant_account_id(scope, "merchant_balance", currency)
    fees = await merchant_account_id(scope, "fees", currency)
    legs = [Leg(clearing, currency, -gross), Leg(balance, currency, gross - fee)]
    if fee:
        legs.append(Leg(fees, currency, fee))
    return await post(scope, "payment", [leg for leg in legs if leg.amount], reference=payment_id)


async def record_refund(scope: Scope, refund_id: str, amount: int, currency: str) -> Entry:
    """A refund leaves the merchant balance back to the processor, even below zero."""
    clearing = await merchant_account(scope, "processor_clearing", currency)
    balance = await merchant_account(scope, "merchant_balance", currency)
    return await transfer(scope, "refund", balance, clearing, amount, reference=refund_id)


async def balances(scope: Scope, owner_id: str, purpose: str, at: datetime | None = None) -> list[Balance]:
    """Balance per currency of an owner's ledger accounts of one purpose, now or at `at`."""
    accounts = await queries.accounts_of_owner(scope, owner_id, purpose)
    if at is not None:
        then = await queries.balances_at(scope, [a.id for a in accounts], at)
        return [Balance(currency=a.currency, available=then.get(a.id, 0), pending=0, ledger_account_id=a.id)
                for a in accounts if a.created <= at]
    return [_balance_now(a) for a in accounts]


async def current_balances(scope: Scope, owner_ids: list[str], purpose: str) -> list[list[Balance]]:
    """`balances` now, of many owners at once, in the order asked."""
    found: dict[str, list[Balance]] = {owner_id: [] for owner_id in owner_ids}
    for a in await queries.accounts_of_owners(scope, owner_ids, purpose):
        found[a.owner_id].append(_balance_now(a))
    return [found[owner_id] for owner_id in owner_ids]


def _balance_now(account: LedgerAccount) -> Balance:
    return Balance(currency=account.currency, available=account.balance, pending=0, ledger_account_id=account.id)


async def history(scope: Scope, owner_id: str, purpose: str, after: str | None, limit: int,
                  gte: datetime | None = None, lte: datetime | None = None) -> list[BalanceChange]:
    """Postings on an owner's ledger accounts, newest first, `limit + 1` rows for keyset paging."""
    accounts = await queries.accounts_of_owner(scope, owner_id, purpose)
    if not accounts:
        return []
    return await queries.history(scope, [a.id for a in accounts], after, limit, gte, lte)


async def available_balance(ctx: RequestContext) -> list[Amount]:
    """What the merchant may pay out, per currency (below zero: what it owes): REST and GraphQL `balance`."""
    scope = ctx.require(read("balance"))
    return [Amount(amount=b.available, currency=b.currency)
            for b in await balances(scope, scope.account_id, "merchant_balance")]


async def merchant_balances(ctx: RequestContext) -> list[LedgerAccount]:
    """The account's own ledger accounts (balance, fees, clearing, funding, fx) for the Balance page."""
    scope = ctx.require(read("balance"))
    return await queries.accounts_of_owner(scope, scope.account_id)


async def merchant_history(ctx: RequestContext, limit: int, after: str | None) -> Page[BalanceChange]:
    """What moved the merchant balance, newest first (the Stripe-compatible balance transactions)."""
    scope = ctx.require(read("balance"))
    return Page.from_rows(await history(scope, scope.account_id, "merchant_balance", after, limit), limit)
