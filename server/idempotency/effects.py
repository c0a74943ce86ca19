"""Recovery points: what a request committed is bound to its Idempotency-Key in the same transaction.

The middleware claims the key and runs the handler with no transaction
around it, so a handler may commit more than once (confirm commits
`processing` before it calls the processor). Every service transaction that
commits an effect under a key:

1. calls `recall(step)` first, which locks the key's row and returns what this
   step bound before, if anything;
2. if something was bound, resumes or returns that object instead of acting
   again (the earlier attempt committed, then failed or died before
   answering);
3. otherwise does its work and calls `bind(step, type, id, ...)` before COMMIT.

So a retry with the same key never repeats a committed effect. Without a key
(or outside a request: jobs, the reconciler) `step()` is None and both calls
do nothing. A step is `action:target#n`: the n-th call of that action on that
target in the request, so a GraphQL document running one mutation twice binds
each call on its own.
"""

from __future__ import annotations

from collections import Counter
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

from server import db
from server.idempotency import queries


@dataclass
class _Claim:
    row_id: str
    seen: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Step:
    row_id: str
    name: str


_claim: ContextVar[_Claim | None] = ContextVar("paydeck_idempotency_claim", default=None)


def activate(row_id: str) -> Token[_Claim | None]:
    """Set by the middleware around a handler that runs under the claimed key `row_id`."""
    return _claim.set(_Claim(row_id))


def deactivate(token: Token[_Claim | None]) -> None:
    _claim.reset(token)


def step(action: str, target: str = "") -> Step | None:
    """The next step of `action` on `target` in this request; None without an Idempotency-Key."""
    claim = _claim.get()
    if claim is None:
        return None
    base = f"{action}:{target}"
    claim.seen[base] += 1
    return Step(claim.row_id, f"{base}#{claim.seen[base]}")


async def recall(step: Step | None) -> dict[str, Any] | None:
    """Inside the effect's transaction, first: lock the key and return what `step` bound earlier."""
    if step is None:
        return None
    _require_transaction()
    return await queries.recall(step.row_id, step.name)


async def bind(step: Step | None, object_type: str, object_id: str, **facts: Any) -> None:
    """Inside the same transaction, before COMMIT: record the effect (its object, and what resuming needs)."""
    if step is None:
        return
    _require_transaction()
    await queries.bind(step.row_id, step.name, {"type": object_type, "id": object_id, **facts})


def _require_transaction() -> None:
    if not db.in_transaction():
        raise RuntimeError("an effect is recalled and bound inside the transaction that commits it")
