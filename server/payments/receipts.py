"""Receipts: a number and a public, unguessable URL for every successful payment and refund.

Reads go through Redis (the seed's cached, read-only receipt service): the
first read builds the receipt from PostgreSQL and stores it; later reads are
served from Redis until a refund changes the payment, which deletes the
cached copies after its commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
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


def _number() -> str:
    digits = f"{secrets.randbelow(10**8):08d}"
    return f"{digits[:4]}-{digits[4:]}"


async def create(scope: Scope, pi_id: str, refund_id: str | None = None) -> Receipt:
    """Issue a receipt inside the caller's transaction; a refund's also drops cached copies of the payment's."""
    row = await queries.insert_receipt(Receipt(
        id=new_id("rcpt"), account_id=scope.account_id, livemode=scope.livemode, payment_intent_id=pi_id,
        refund_id=refund_id, number=_number(), token=secrets.token_urlsafe(24), created=clock.PAYMENTS.now()))
    if refund_id is not None:  # a payment's first receipt has no cached copies yet
        await invalidate(pi_id)
    return row


async def invalidate(pi_id: str) -> None:
    """After the current transaction commits, forget every cached receipt of this payment."""
    keys = []
    for r in await queries.receipts_of(pi_id):
        keys += [f"receipt:{r.token}", f"receipt:id:{r.id}"]

    async def drop() -> None:
        if keys:
            await infra.redis().delete(*keys)

    db.after_commit(drop)


def url_of(token: str) -> str:
    return f"{public_url()}/receipts/{token}"


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


async def _cached(cache_key: str, load: Callable[[], Awaitable[Receipt]]) -> tuple[dict[str, Any], bool]:
    redis = infra.redis()
    hit = await redis.get(cache_key)
    if hit is not None:
        data = json.loads(hit)
        data["url"] = url_of(data["url"].rsplit("/", 1)[-1])  # the host this request came to
        return data, True
    receipt = await load()
    data = await _build(receipt)
    await redis.set(cache_key, json.dumps(data), ex=CACHE_SECONDS)
    return data, False


async def public(token: str) -> tuple[dict[str, Any], bool]:
    """The receipt behind a public token, and whether it came from the cache."""

    async def load() -> Receipt:
        row = await queries.receipt_by_token(token)
        if row is None:
            raise NotFound("no such receipt")
        return row

    if len(token) > 64:
        raise NotFound("no such receipt")
    return await _cached(f"receipt:{token}", load)


async def get(ctx: RequestContext, receipt_id: str) -> tuple[dict[str, Any], bool]:
    scope = ctx.require(read("payment_intents"))

    async def load() -> Receipt:
        row = await queries.receipt(scope, receipt_id)
        if row is None:
            raise NotFound(f"no such receipt: '{receipt_id}'", param="id")
        return row

    # The cached copy is keyed by id; check the scope before serving it.
    row = await queries.receipt(scope, receipt_id)
    if row is None:
        raise NotFound(f"no such receipt: '{receipt_id}'", param="id")
    return await _cached(f"receipt:id:{receipt_id}", load)
