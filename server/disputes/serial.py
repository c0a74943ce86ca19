"""The one JSON shape of a dispute: REST bodies, event snapshots and (through events) webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from server import clock
from server.disputes import evidence
from server.disputes.rows import Dispute


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def past_due(dispute: Dispute, now: datetime | None = None) -> bool:
    """The deadline passed while evidence was still awaited."""
    return dispute.status in evidence.AWAITING_EVIDENCE and (now or clock.PAYMENTS.now()) >= dispute.due_by


def protection_reason(dispute: Dispute) -> str:
    """Why the dispute's loss was (or would now be) covered by seller protection, or not."""
    if dispute.seller_protection_reason:  # decided when it was lost
        return dispute.seller_protection_reason
    return evidence.protection(dispute.reason, dispute.evidence, dispute.submission_count > 0).reason


def dispute_json(dispute: Dispute, now: datetime | None = None) -> dict[str, Any]:
    """Stripe's dispute object, with what Paydeck adds: the fee, the funds' moves and seller protection."""
    return {
        "id": dispute.id, "object": "dispute", "amount": dispute.amount, "currency": dispute.currency.lower(),
        "payment_intent": dispute.payment_intent_id, "charge": dispute.processor_charge_id,
        "reason": dispute.reason, "status": dispute.status,
        "is_inquiry": dispute.status in evidence.INQUIRY_STATUSES,
        "evidence": {name: dispute.evidence.get(name) for name in evidence.FIELDS},
        "evidence_details": {
            "due_by": _ts(dispute.due_by), "has_evidence": evidence.has_evidence(dispute.evidence),
            "past_due": past_due(dispute, now), "submission_count": dispute.submission_count,
            "submitted_at": _ts(dispute.submitted_at),
        },
        "fee": dispute.fee, "funds_withdrawn": dispute.funds_withdrawn_at is not None,
        "funds_reinstated": dispute.funds_reinstated_at is not None,
        "seller_protection": dispute.seller_protection, "seller_protection_reason": protection_reason(dispute),
        "metadata": dispute.metadata, "livemode": dispute.livemode, "closed": _ts(dispute.closed_at),
        "created": _ts(dispute.created),
    }


def dispute_counts(snapshot: Mapping[str, Any]) -> bool:
    """A chargeback counts as a dispute in analytics; an inquiry only once it escalates."""
    return not snapshot["is_inquiry"]


def amount_lost(snapshot: Mapping[str, Any]) -> int:
    """What the dispute keeps from the merchant now: the amount withdrawn and not given back (fee apart)."""
    return snapshot["amount"] if snapshot["funds_withdrawn"] and not snapshot["funds_reinstated"] else 0
