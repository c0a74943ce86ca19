"""Typed rows of customers, credits and transfers; one field per column (`tests/test_rows.py`).

Their JSON shapes for REST and events are in `server/customers/serial.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

STATUSES = ("active", "suspended", "closed")


class Customer(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    email: str | None
    name: str
    metadata: dict[str, str]
    status: str  # active, suspended (cannot send money) or closed
    created: datetime
    updated: datetime


class CustomerChanges(msgspec.Struct, kw_only=True):
    """What an update asks to change; UNSET fields stay as they are. Values are untrusted (checked by the service)."""

    email: object = msgspec.UNSET
    name: object = msgspec.UNSET
    metadata: object = msgspec.UNSET  # merged into the current metadata; a null value removes its key
    status: object = msgspec.UNSET


class Credit(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    customer_id: str
    transaction_id: str
    amount: int
    currency: str
    entry_id: str
    created: datetime


class CreditOutcome(msgspec.Struct, kw_only=True):
    """What customer_credit() did: `credited` (with the wallet's balance after it and the ledger account ids it
    posted to), or what it refused, having written nothing: `no_customer`, `customer_closed`,
    `duplicate_transaction`."""

    outcome: str
    balance: int | None
    wallet_id: str | None
    funding_id: str | None


class Transfer(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    from_customer: str
    to_customer: str
    amount: int
    currency: str
    to_amount: int
    to_currency: str
    rate: str | None  # the effective FX rate, when converted
    entry_id: str
    description: str
    created: datetime
    risk: dict[str, Any] | None = None  # Radar's decision in short, when it ran
