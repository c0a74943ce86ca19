"""Typed rows of transfer claims and their messages (one field per column of db/tables/claims.py)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class TransferClaim(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    transfer_id: str
    sender: str  # the transfer's from_customer: who claims
    receiver: str  # the transfer's to_customer
    amount: int  # claimed, in the sender's currency
    currency: str
    to_amount: int  # the same share of what the receiver got, in the receiver's currency
    to_currency: str
    reason: str
    status: str  # inquiry | claim | appeal | refunded | denied | withdrawn
    escalate_after: datetime
    escalated_at: datetime | None
    held_party: str | None  # receiver | sender: whose balance holds the claimed money now
    amount_held: int  # in the held party's currency
    decision: str | None  # refund | deny: the latest decision
    decision_note: str
    decided_by: str | None
    decided_at: datetime | None
    appealed_by: str | None  # sender | receiver
    appealed_at: datetime | None
    closed_at: datetime | None
    created: datetime
    updated: datetime


class ClaimMessage(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    claim_id: str
    author: str  # sender | receiver | merchant
    body: str
    created: datetime
