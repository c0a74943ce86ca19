"""Typed rows of disputes and the processor feed (one field per column of db/tables/disputes.py)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Dispute(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    payment_intent_id: str
    processor_dispute_id: str
    processor_charge_id: str | None  # the charge disputed (Stripe's `charge`)
    processor_seq: int  # the last change of the processor's feed applied
    amount: int
    currency: str
    fee: int  # the dispute fee withdrawn with the amount (0 while an inquiry)
    reason: str
    status: str
    evidence: dict[str, str]
    submission_count: int
    submitted_at: datetime | None
    due_by: datetime
    funds_withdrawn_at: datetime | None
    funds_reinstated_at: datetime | None
    seller_protection: str | None  # covered | not_covered, once lost
    seller_protection_reason: str
    processor_pending: str | None  # evidence | close: what the processor must still be told
    reminded_72h_at: datetime | None
    reminded_24h_at: datetime | None
    metadata: dict[str, str]
    closed_at: datetime | None
    created: datetime
    updated: datetime


class ProcessorFeed(msgspec.Struct, kw_only=True):
    name: str
    epoch: str
    position: int
    updated: datetime
