"""Group commit: concurrent callers' ledger entries share one transaction and one durable COMMIT.

A commit waits for the WAL to reach the disk; with one entry per commit that
wait, not the work, bounds the ledger's rate (BENCHMARKS.md, "Ledger").
`post()` queues the caller's entry and waits. A drainer takes what is queued
(after at most `WINDOW` seconds for more to arrive), sends the whole batch in
one call of `ledger_post_entries()` and commits once; only then is each caller
answered, with its own result: its postings, or its own error. The SQL function
decides the entries in batch order in one pass over the locked balances and
writes the accepted ones set-wise; an entry that would overdraw an account is
refused alone, so it fails its caller with `PaymentRequired`
(insufficient_funds) and not the others. If the batch does not commit (a lost
connection, a failed COMMIT), every caller of that batch gets the error and
nothing of the batch is written.

It lives in bench/, not server/: no production path can use it today. Every
ledger write of the product commits atomically with its caller's other rows (a
transfer row, its event, Radar's record, the Idempotency-Key's effect binding)
in the caller's transaction through `service.post()` (docs/ledger.md, "Group
commit"). This is the measured capability behind issue 14's aim 2.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.ledger.entries import BatchPosting, post_entries
from server import db
from server.context import Scope
from server.errors import ErrorCode, PaymentRequired
from server.ids import new_id
from server.ledger.rows import LedgerAccount, Posting
from server.ledger.service import Entry, Leg, check_legs

WINDOW = 0.002  # seconds a drainer waits for more entries before it sends a batch that is not full
MAX_BATCH = 500  # entries per transaction: bounds the batch's locks and the size of one call
DRAINERS = 2  # batches in flight: one is built and sent while another waits for its COMMIT to reach disk


@dataclass
class _Pending:
    scope: Scope
    entry_id: str
    kind: str
    reference: str | None
    description: str
    metadata: dict[str, Any]
    legs: list[Leg]
    answer: asyncio.Future[Entry] = field(repr=False)


class GroupCommit:
    """One queue of entries per event loop; drainers exist only while entries wait (none when idle)."""

    def __init__(self, window: float = WINDOW, max_batch: int = MAX_BATCH, drainers: int = DRAINERS,
                 before_commit: Callable[[], Awaitable[None]] | None = None) -> None:
        self.window, self.max_batch, self.drainers = window, max_batch, drainers
        self.before_commit = before_commit  # runs inside the batch's transaction just before COMMIT (fault tests)
        self._queue: list[_Pending] = []
        self._running = 0
        self._drainers: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    async def post(self, scope: Scope, kind: str, legs: list[Leg], *, reference: str | None = None,
                   description: str = "", metadata: dict[str, Any] | None = None,
                   entry_id: str | None = None) -> Entry:
        """Record one journal entry; returns once the batch holding it has committed."""
        if db.in_transaction():
            raise RuntimeError("group commit cannot join the caller's transaction; use ledger.service.post()")
        check_legs(legs)
        answer: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(scope, entry_id or new_id("je"), kind, reference, description, metadata or {},
                                    legs, answer))
        if self._running < self.drainers:
            self._running += 1
            # A fresh context: the batch belongs to no request (no request's faults, replica routing or principal).
            task = asyncio.get_running_loop().create_task(self._drain(), context=contextvars.Context())
            self._drainers.add(task)
            task.add_done_callback(self._drainers.discard)
        return await answer

    async def _drain(self) -> None:
        try:
            while self._queue:
                if len(self._queue) < self.max_batch and self.window > 0:
                    await asyncio.sleep(self.window)
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                if batch:
                    await self._commit(batch)
        finally:
            self._running -= 1

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            async with db.transaction():
                rows = await post_entries(
                    [(p.scope, p.entry_id, p.kind, p.reference, p.description,
                      p.metadata,
                      [(leg.ledger_account_id, leg.currency, leg.amount) for leg in p.legs]) for p in batch])
                if self.before_commit is not None:
                    await self.before_commit()
        except BaseException as exc:  # nothing of the batch committed: no caller is told otherwise
            for p in batch:
                if not p.answer.done():
                    p.answer.set_exception(exc if isinstance(exc, Exception) else RuntimeError("batch cancelled"))
            if not isinstance(exc, Exception):
                raise
            return
        for n, p in enumerate(batch, 1):
            if not p.answer.done():
                _answer(p, [r for r in rows if r.entry == n])


def _answer(pending: _Pending, rows: list[BatchPosting]) -> None:
    failed = next((r for r in rows if r.error_state is not None), None)
    if failed is None:
        pending.answer.set_result(Entry(pending.entry_id, pending.kind, pending.reference, [
            Posting(ledger_account_id=r.ledger_account_id or "", currency=r.currency or "", amount=r.amount or 0,
                    balance_after=r.balance_after or 0) for r in rows]))
    elif failed.error_constraint == "ledger_accounts_non_negative":
        pending.answer.set_exception(PaymentRequired(
            "insufficient funds: the balance is too low for this amount", code=ErrorCode.INSUFFICIENT_FUNDS,
            param="amount"))
    else:
        pending.answer.set_exception(RuntimeError(
            f"ledger entry {pending.entry_id} refused ({failed.error_state}): {failed.error_message}"))


_committers: dict[asyncio.AbstractEventLoop, GroupCommit] = {}


def committer() -> GroupCommit:
    """This event loop's group commit (each process and each test loop has its own queue)."""
    loop = asyncio.get_running_loop()
    for stale in [other for other in _committers if other.is_closed()]:
        del _committers[stale]
    return _committers.setdefault(loop, GroupCommit())


async def post(scope: Scope, kind: str, legs: list[Leg], *, reference: str | None = None, description: str = "",
               metadata: dict[str, Any] | None = None, entry_id: str | None = None) -> Entry:
    """`service.post()` for a caller without a transaction of its own, committed together with concurrent ones."""
    return await committer().post(scope, kind, legs, reference=reference, description=description,
                                  metadata=metadata, entry_id=entry_id)


async def transfer(scope: Scope, kind: str, source: LedgerAccount, target: LedgerAccount, amount: int, *,
                   reference: str | None = None, description: str = "") -> Entry:
    """`service.transfer()` through the group commit."""
    assert source.currency == target.currency, "use convert legs for cross-currency moves"
    return await post(scope, kind, [Leg(source.id, source.currency, -amount), Leg(target.id, target.currency, amount)],
                      reference=reference, description=description)
