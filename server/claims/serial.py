"""The one JSON shape of a transfer claim and of a message: REST bodies and event snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.claims.rows import ClaimMessage, TransferClaim
from server.claims.rules import RECEIVER


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def claim_json(claim: TransferClaim) -> dict[str, Any]:
    hold = None
    if claim.held_party is not None:
        hold = {"party": claim.held_party, "customer": claim.receiver if claim.held_party == RECEIVER else claim.sender,
                "amount": claim.amount_held,
                "currency": claim.to_currency if claim.held_party == RECEIVER else claim.currency}
    return {
        "id": claim.id, "object": "transfer_claim", "transfer": claim.transfer_id, "sender": claim.sender,
        "receiver": claim.receiver, "amount": claim.amount, "currency": claim.currency, "to_amount": claim.to_amount,
        "to_currency": claim.to_currency, "reason": claim.reason, "status": claim.status,
        "escalate_after": _ts(claim.escalate_after), "escalated": _ts(claim.escalated_at), "hold": hold,
        "decision": claim.decision, "decision_note": claim.decision_note, "decided_by": claim.decided_by,
        "decided": _ts(claim.decided_at), "appealed_by": claim.appealed_by, "appealed": _ts(claim.appealed_at),
        "livemode": claim.livemode, "closed": _ts(claim.closed_at), "created": _ts(claim.created),
    }


def message_json(message: ClaimMessage) -> dict[str, Any]:
    return {"id": message.id, "object": "transfer_claim_message", "claim": message.claim_id,
            "author": message.author, "body": message.body, "livemode": message.livemode,
            "created": _ts(message.created)}
