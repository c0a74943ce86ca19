"""JSON shapes of payment intents, refunds and receipts (REST bodies and event snapshots)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def card_json(row: dict[str, Any]) -> dict[str, Any] | None:
    if not row.get("card_last4"):
        return None
    return {"brand": row["card_brand"], "last4": row["card_last4"], "exp_month": row["card_exp_month"],
            "exp_year": row["card_exp_year"], "country": row["card_country"], "fingerprint": row["card_fingerprint"]}


def intent_json(row: dict[str, Any], *, with_secret: bool = True) -> dict[str, Any]:
    metadata = row["metadata"]
    error = None
    if row["failure_code"]:
        error = {"code": row["failure_code"], "decline_code": row["failure_code"], "message": row["failure_message"]}
    body = {
        "id": row["id"], "object": "payment_intent", "status": row["status"], "amount": row["amount"],
        "currency": row["currency"].lower(), "capture_method": row["capture_method"],
        "amount_capturable": row["amount_capturable"], "amount_received": row["amount_received"],
        "amount_refunded": row["amount_refunded"], "fee": row["fee"], "customer": row["customer_id"],
        "description": row["description"], "metadata": metadata, "card": card_json(row),
        "last_payment_error": error, "disputed": row["disputed"], "cancellation_reason": row["cancellation_reason"],
        "capture_before": ts(row["capture_before"]), "livemode": row["livemode"], "created": ts(row["created"]),
    }
    if with_secret:
        body["client_secret"] = row["client_secret"]
    return body


def refund_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "object": "refund", "payment_intent": row["payment_intent_id"], "amount": row["amount"],
            "currency": row["currency"].lower(), "reason": row["reason"], "status": row["status"],
            "livemode": row["livemode"], "created": ts(row["created"])}
