"""Receipts: a number and a public, unguessable URL for every successful payment and refund.

Reads go through Redis (the seed's cached, read-only receipt service): the
first read builds the receipt from PostgreSQL and stores it; later reads are
served from Redis until a refund changes the payment, which deletes the
cached copies after its commit.
"""

from __future__ import annotations

import json
import secrets
from contextvars import ContextVar
from typing import Any

from server import clock, db, infra
from server.context import RequestContext, Scope
from server.errors import NotFound
from server.ids import new_id
from server.payments import queries
from server.payments.rows import Receipt
from server.payments.serial import card_json, refund_json, ts
from server.permissions import read
from server.urls import public_url

CACHE_SECONDS = 24 * 3600
TOKEN_BYTES = 24  # a public receipt URL carries this much randomness (32 URL-safe characters)
MIN_TOKEN_LENGTH, MAX_TOKEN_LENGTH = 20, 64  # anything else is no token of ours: not looked up


# The payment receipts this request has issued and committed: the answer that follows (REST's `receipt`) shows
# them without reading back what was just written. A payment's receipt never changes once issued.
REMEMBERED = 32
_issued: ContextVar[dict[str, Receipt] | None] = ContextVar("paydeck_receipts_issued", default=None)


def _remember_after_commit(receipt: Receipt) -> None:
    async def remember() -> None:
        issued = _issued.get()
        if issued is None:
            issued = {}
            _issued.set(issued)
        elif len(issued) >= REMEMBERED:  # a background job issues many in one task: keep it small
            issued.clear()
        issued[receipt.payment_intent_id] = receipt

    db.after_commit(remember)


def _number() -> str:
    digits = f"{secrets.randbelow(10**8):08d}"
    return f"{digits[:4]}-{digits[4:]}"


async def create(scope: Scope, pi_id: str, refund_id: str | None = None) -> Receipt:
    """Issue a receipt inside the caller's transaction; a refund's also drops cached copies of the payment's."""
    row = await queries.insert_receipt(Receipt(
        id=new_id("rcpt"), account_id=scope.account_id, livemode=scope.livemode, payment_intent_id=pi_id,
        refund_id=refund_id, number=_number(), token=secrets.token_urlsafe(TOKEN_BYTES),
        created=clock.PAYMENTS.now()))
    if refund_id is not None:  # a payment's first receipt has no cached copies yet
        await invalidate(scope, pi_id)
    else:
        _remember_after_commit(row)
    return row


async def invalidate(scope: Scope, pi_id: str) -> None:
    """After the current transaction commits, forget every cached receipt of this payment."""
    keys = []
    for r in await queries.receipts_of(scope, pi_id):
        keys += [f"receipt:{r.token}", f"receipt:id:{r.id}"]

    async def drop() -> None:
        if keys:
            await infra.redis().delete(*keys)

    db.after_commit(drop)


def url_of(token: str) -> str:
    return f"{public_url()}/receipts/{token}"


async def find(ctx: RequestContext, receipt_id: str) -> Receipt:
    """A receipt of this account and mode."""
    scope = ctx.require(read("payment_intents"))
    row = await queries.receipt(scope, receipt_id)
    if row is None:
        raise NotFound(f"no such receipt: '{receipt_id}'", param="id")
    return row


async def of_intents(scope: Scope, pi_ids: list[str]) -> list[Receipt | None]:
    """The receipt of each payment (None before it succeeded), in the order asked: a payment's nested field.

    The caller has read these payments through `scope` already, with whatever right that took
    (a publishable key confirming its payment sees the receipt as REST shows it)."""
    issued = _issued.get() or {}
    found = {pi_id: issued[pi_id] for pi_id in pi_ids if pi_id in issued
             and (issued[pi_id].account_id, issued[pi_id].livemode) == (scope.account_id, scope.livemode)}
    if missing := [pi_id for pi_id in pi_ids if pi_id not in found]:
        found.update((r.payment_intent_id, r) for r in await queries.payment_receipts(scope, missing))
    return [found.get(pi_id) for pi_id in pi_ids]


async def get(ctx: RequestContext, receipt_id: str) -> tuple[dict[str, Any], bool]:
    """The whole receipt (as the public page shows it), and whether it came from the cache."""
    row = await find(ctx, receipt_id)  # the cached copy is keyed by id: the scope is checked before serving it
    cache_key = f"receipt:id:{receipt_id}"
    if (hit := await _from_cache(cache_key)) is not None:
        return hit, True
    return await _store(cache_key, row), False


async def public(token: str) -> tuple[dict[str, Any], bool]:
    """The receipt behind a public token, and whether it came from the cache.

    The one unscoped read of receipts: only the unguessable token (TOKEN_BYTES random bytes) finds it,
    never a receipt's or a payment's id."""
    if not MIN_TOKEN_LENGTH <= len(token) <= MAX_TOKEN_LENGTH:
        raise NotFound("no such receipt")
    cache_key = f"receipt:{token}"
    if (hit := await _from_cache(cache_key)) is not None:
        return hit, True
    row = await queries.receipt_by_token(token)
    if row is None:
        raise NotFound("no such receipt")
    return await _store(cache_key, row), False


async def _build(receipt: Receipt) -> dict[str, Any]:
    pi = await queries.get(receipt.scope, receipt.payment_intent_id)
    assert pi is not None
    merchant = await queries.account_pricing(receipt.account_id)
    refunds = [refund_json(r) for r in await queries.refunds_of(receipt.scope, pi.id)]
    return {
        "id": receipt.id, "object": "receipt", "number": receipt.number, "url": url_of(receipt.token),
        "kind": "refund" if receipt.refund_id else "payment", "refund": receipt.refund_id,
        "payment_intent": pi.id, "merchant": merchant.name, "amount": pi.amount_received,
        "currency": pi.currency.lower(), "description": pi.description, "card": card_json(pi.card),
        "amount_refunded": pi.amount_refunded, "refunds": refunds, "livemode": receipt.livemode,
        "date": ts(receipt.created),
    }


async def _from_cache(cache_key: str) -> dict[str, Any] | None:
    hit = await infra.redis().get(cache_key)
    if hit is None:
        return None
    data: dict[str, Any] = json.loads(hit)
    data["url"] = url_of(data["url"].rsplit("/", 1)[-1])  # the host this request came to
    return data


async def _store(cache_key: str, receipt: Receipt) -> dict[str, Any]:
    data = await _build(receipt)
    await infra.redis().set(cache_key, json.dumps(data), ex=CACHE_SECONDS)
    return data
