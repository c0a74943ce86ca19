"""Helpers of the Radar tests: fresh card numbers, buyers, rules and decisions through the real API."""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from server import db
from tests.payments.helpers import Merchant

FRAUD_CARD = "4100000000000019"
_serial = itertools.count(int(secrets.token_hex(4), 16))


def luhn(prefix: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return prefix + str((10 - total % 10) % 10)


def fresh_card() -> str:
    """A card number no other test uses (not a documented test card: its history scores)."""
    return luhn(f"4000{next(_serial) % 10**11:011d}")


def card(number: str) -> dict[str, Any]:
    return {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}


async def confirm(m: Merchant, amount: int = 1000, number: str | None = None, *, currency: str = "usd",
                  expect: int = 200, **buyer: Any) -> dict[str, Any]:
    """Create and confirm a payment with a card and the buyer's email / ip_address / user_agent."""
    pi = await m.intent(amount, currency=currency, **{k: buyer.pop(k) for k in ("customer",) if k in buyer})
    resp = await m.post(f"/v1/payment_intents/{pi['id']}/confirm", {"card": card(number or fresh_card()), **buyer})
    assert resp.status_code == expect, resp.text
    return resp.json()


async def add_rule(m: Merchant, rule: str, shadow: bool = False) -> dict[str, Any]:
    resp = await m.post("/v1/radar/rules", {"rule": rule, "shadow": shadow})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def evaluation(m: Merchant, pi: dict[str, Any]) -> dict[str, Any]:
    resp = await m.get(f"/v1/radar/evaluations/{pi['risk']['evaluation']}")
    assert resp.status_code == 200, resp.text
    return resp.json()


async def postings_of(reference: str) -> int:
    row = await db.fetchrow("SELECT count(*) AS n FROM journal_entries WHERE reference = $1", reference)
    assert row is not None
    return int(row["n"])
