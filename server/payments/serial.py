"""The one JSON shape of each payment object: REST bodies, event snapshots and (through events) webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.payments.rows import Card, PaymentIntent, Refund


def ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def card_json(card: Card | None) -> dict[str, Any] | None:
    if card is None:
        return None
    return {"brand": card.brand, "last4": card.last4, "exp_month": card.exp_month, "exp_year": card.exp_year,
            "country": card.country, "fingerprint": card.fingerprint}


def intent_json(pi: PaymentIntent, *, with_secret: bool = True) -> dict[str, Any]:
    error = None
    if pi.failure_code:
        error = {"code": pi.failure_code, "decline_code": pi.failure_code, "message": pi.failure_message}
    body: dict[str, Any] = {
        "id": pi.id, "object": "payment_intent", "status": pi.status, "amount": pi.amount,
        "currency": pi.currency.lower(), "capture_method": pi.capture_method,
        "amount_capturable": pi.amount_capturable, "amount_received": pi.amount_received,
        "amount_refunded": pi.amount_refunded, "fee": pi.fee, "customer": pi.customer_id,
        "description": pi.description, "metadata": pi.metadata, "card": card_json(pi.card),
        "last_payment_error": error, "disputed": pi.disputed, "cancellation_reason": pi.cancellation_reason,
        "capture_before": ts(pi.capture_before), "livemode": pi.livemode, "created": ts(pi.created),
    }
    if with_secret:
        body["client_secret"] = pi.client_secret
    return body


def refund_json(refund: Refund) -> dict[str, Any]:
    return {"id": refund.id, "object": "refund", "payment_intent": refund.payment_intent_id,
            "amount": refund.amount, "currency": refund.currency.lower(), "reason": refund.reason,
            "status": refund.status, "livemode": refund.livemode, "created": ts(refund.created)}
