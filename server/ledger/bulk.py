"""The ledger's bulk path: many journal entries dated in the past, in a few calls (history, benchmarks).

`post_many()` writes entries through `ledger_post_bulk()` (see its migration,
`db/migrations/db_2026_11_30t14_44_40_000000.py`), which enforces what posting
one by one enforces: entries balance per currency, postings go to known ledger
accounts of the scope, balances change only by postings (each posting's
`balance_after` and `account_seq` continue its account's running balance), and
an account that may not go negative never does. One more rule comes with
dating entries: a ledger account's new postings may not be dated before the
postings it already has, so point-in-time balances (`balances(at=...)`) stay
true. History is therefore written before any live activity of those accounts.

The leg builders below make the same postings as `service.record_payment`,
`record_refund`, a credit and a same-currency transfer (a test holds them equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from server.context import Scope
from server.errors import ErrorCode, PaymentRequired
from server.ids import new_id
from server.ledger import queries
from server.ledger.rows import LedgerAccount
from server.ledger.service import Leg, check_legs

CHUNK = 20_000  # entries per call: bounded memory on both sides, one round trip per chunk


@dataclass(frozen=True)
class DatedEntry:
    kind: str
    legs: list[Leg]
    created: datetime
    reference: str | None = None
    description: str = ""
    id: str = field(default="")

    def entry_id(self) -> str:
        return self.id or new_id("je", at_ms=int(self.created.timestamp() * 1000))


async def post_many(scope: Scope, entries: Sequence[DatedEntry], chunk: int = CHUNK) -> int:
    """Write `entries` in time order inside the caller's transaction (or one per chunk); returns postings written.

    Raises ValueError for an entry that does not balance (nothing is written) and PaymentRequired when an
    account that may not go negative would, at any point of the history.
    """
    for entry in entries:
        check_legs(entry.legs)
        if entry.created.tzinfo is None:
            raise ValueError("entry times must be timezone-aware")
    ordered = sorted(entries, key=lambda e: e.created)
    written = 0
    for start in range(0, len(ordered), chunk):
        rows, postings = _rows(ordered[start:start + chunk])
        try:
            written += await queries.post_bulk(scope, rows, postings)
        except asyncpg.CheckViolationError as exc:
            if exc.constraint_name == "ledger_accounts_non_negative":
                raise PaymentRequired("insufficient funds: the history overdraws a balance that may not go "
                                      "negative", code=ErrorCode.INSUFFICIENT_FUNDS) from None
            raise
    return written


def _rows(entries: Sequence[DatedEntry]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rows, postings = [], []
    for entry in entries:
        entry_id = entry.entry_id()
        at_ms = int(entry.created.timestamp() * 1000)
        rows.append((entry_id, entry.kind, entry.reference, entry.description, entry.created))
        postings += [(new_id("pst", at_ms=at_ms), entry_id, leg.ledger_account_id, leg.amount) for leg in entry.legs]
    return rows, postings


# --- the legs of each kind of entry, as the one-by-one paths post them ------------------------------


def payment_legs(clearing: LedgerAccount, balance: LedgerAccount, fees: LedgerAccount, gross: int,
                 fee: int) -> list[Leg]:
    """`service.record_payment`: clearing −gross, merchant balance +(gross − fee), fees +fee."""
    currency = clearing.currency
    legs = [Leg(clearing.id, currency, -gross), Leg(balance.id, currency, gross - fee)]
    if fee:
        legs.append(Leg(fees.id, currency, fee))
    return [leg for leg in legs if leg.amount]


def move_legs(source: LedgerAccount, target: LedgerAccount, amount: int) -> list[Leg]:
    """`service.transfer`: a refund (balance → clearing), a credit (funding → wallet), a same-currency transfer."""
    assert source.currency == target.currency, "a move stays in one currency"
    return [Leg(source.id, source.currency, -amount), Leg(target.id, target.currency, amount)]
