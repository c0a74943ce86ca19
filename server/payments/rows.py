"""Typed rows of payments: what `queries` returns and services pass around.

One field per column of the table (`tests/test_rows.py` holds them to `db/tables`).
Their JSON shapes for REST, events and webhooks are in `server/payments/serial.py`.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from server.context import Scope

# Every status a payment intent can have (the database's payment_intents_status_valid check says the same).
STATUSES = ("requires_payment_method", "processing", "requires_capture", "succeeded", "failed", "canceled")


class Card(msgspec.Struct, frozen=True, kw_only=True):
    """What the processor reported about the card used (never its number)."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    country: str | None
    fingerprint: str


class PaymentIntent(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    status: str
    amount: int
    currency: str
    capture_method: str
    amount_capturable: int
    amount_received: int
    amount_refunded: int
    fee: int
    customer_id: str | None
    description: str
    metadata: dict[str, str]
    client_secret: str
    card_brand: str | None
    card_last4: str | None
    card_exp_month: int | None
    card_exp_year: int | None
    card_country: str | None
    card_fingerprint: str | None
    processor_key: str | None
    processor_charge_id: str | None
    failure_code: str | None
    failure_message: str | None
    disputed: bool
    cancellation_reason: str | None
    processing_since: datetime | None  # since when the processor is being asked
    pending_action: str | None  # a capture or release asked of the processor, not yet applied
    pending_amount: int | None
    pending_reason: str | None
    capture_before: datetime | None
    created: datetime
    updated: datetime

    @property
    def scope(self) -> Scope:
        return Scope(self.account_id, self.livemode)

    @property
    def card(self) -> Card | None:
        if (not self.card_last4 or self.card_brand is None or self.card_exp_month is None
                or self.card_exp_year is None or self.card_fingerprint is None):
            return None  # not confirmed yet (the processor reports all of them or none)
        return Card(brand=self.card_brand, last4=self.card_last4, exp_month=self.card_exp_month,
                    exp_year=self.card_exp_year, country=self.card_country, fingerprint=self.card_fingerprint)

    @property
    def refundable(self) -> int:
        """What remains to refund."""
        return self.amount_received - self.amount_refunded


class Refund(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    payment_intent_id: str
    amount: int
    currency: str
    reason: str | None
    status: str  # pending, succeeded or failed
    processor_refund_id: str | None
    created: datetime

    @property
    def scope(self) -> Scope:
        return Scope(self.account_id, self.livemode)


class Receipt(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    payment_intent_id: str
    refund_id: str | None
    number: str
    token: str
    created: datetime

    @property
    def scope(self) -> Scope:
        return Scope(self.account_id, self.livemode)


class Pricing(msgspec.Struct, frozen=True, kw_only=True):
    """What the account charges per payment (and its name, for receipts)."""

    name: str
    fee_percent_bps: int
    fee_fixed_minor: int
