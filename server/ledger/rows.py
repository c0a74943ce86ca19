"""Typed rows of the ledger: what `queries` returns and the ledger's internal API passes to other domains.

`LedgerAccount` and `FxRate` have one field per column of their table (`tests/test_rows.py`).
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class Amount(msgspec.Struct, frozen=True):
    """An amount of money: signed integer minor units of an ISO 4217 currency."""

    amount: int
    currency: str


class LedgerAccount(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    owner_type: str  # customer | merchant
    owner_id: str
    purpose: str  # customer_wallet | merchant_balance | fees | processor_clearing | fx | ...
    currency: str
    allow_negative: bool
    balance: int
    version: int
    created: datetime


class Posting(msgspec.Struct, frozen=True, kw_only=True):
    """One posting an entry made, with the balance it left on its ledger account."""

    ledger_account_id: str
    currency: str
    amount: int
    balance_after: int


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    """The balance of one ledger account (one currency) of an owner, now or at a moment."""

    currency: str
    available: int
    pending: int
    ledger_account_id: str


class BalanceChange(msgspec.Struct, frozen=True, kw_only=True):
    """A posting with its journal entry: one line of an owner's balance history."""

    id: str
    entry_id: str
    currency: str
    amount: int
    balance_after: int
    created: datetime
    kind: str
    reference: str | None
    description: str


class FxRate(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    base: str
    quote: str
    rate: str  # a decimal, kept as text so no float touches it
    spread_bps: int
    updated: datetime
