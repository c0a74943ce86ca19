"""Webhook signing, secrets, event types and the JSON body of a delivery.

Each endpoint has a `signature_scheme`:

- `standard` (the default): Standard Webhooks, from the `standardwebhooks` library: HMAC-SHA256 over
  `webhook-id.webhook-timestamp.body`, base64, as `v1,<sig>` in `webhook-signature`;
- `stripe`: Stripe's, so `stripe.Webhook.construct_event(body, header, secret)` verifies:
  `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" keyed by the whole secret>`, and the
  body is the event in Stripe's shape (`server.stripe_compat.shapes.event`).

During a secret rotation's overlap a header carries one signature per secret, so receivers holding
either secret verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime
from typing import Any

from standardwebhooks import Webhook

from server.stripe_compat import shapes

SCHEMES = ("standard", "stripe")
SECRET_PREFIX = "whsec_"
USER_AGENT = "Paydeck-Webhooks/1.0 (+https://www.standardwebhooks.com/)"

# Event types a merchant can subscribe to (and send as test events). Wildcards: `*` and `<object>.*`.
EVENT_TYPES = [
    "payment_intent.created", "payment_intent.processing", "payment_intent.succeeded",
    "payment_intent.payment_failed", "payment_intent.canceled", "charge.refunded", "refund.created",
    "customer.created", "customer.updated", "customer.closed", "transfer.created", "credit.created",
    "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed", "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated", "charge.dispute.evidence_due_72h", "charge.dispute.evidence_due_24h",
    "transfer_claim.opened", "transfer_claim.message_added", "transfer_claim.escalated", "transfer_claim.decided",
    "transfer_claim.appealed", "transfer_claim.withdrawn", "review.opened", "review.closed",
    "webhook_endpoint.disabled",
]


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature_header(secrets_: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets_)


def headers(secrets_: list[str], msg_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }


def stripe_signature(secrets_: list[str], timestamp: datetime, body: str) -> str:
    t = str(int(timestamp.timestamp()))
    signatures = [hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest() for secret in secrets_]
    return ",".join([f"t={t}", *(f"v1={sig}" for sig in signatures)])


def signed(scheme: str, secrets_: list[str], msg_id: str, timestamp: datetime,
           payload: str) -> tuple[str, dict[str, str]]:
    """The body to send and its headers, for an endpoint's signature scheme."""
    if scheme != "stripe":
        return payload, headers(secrets_, msg_id, timestamp, payload)
    body = json.dumps(shapes.event(json.loads(payload)), separators=(",", ":"))
    return body, {"content-type": "application/json; charset=utf-8", "user-agent": USER_AGENT,
                  "webhook-id": msg_id, "stripe-signature": stripe_signature(secrets_, timestamp, body)}


def matches(patterns: list[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def valid_pattern(pattern: str) -> bool:
    if pattern == "*" or pattern in EVENT_TYPES:
        return True
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return any(t.startswith(prefix) for t in EVENT_TYPES)
    # Types of domains not listed here yet are allowed if well formed.
    parts = pattern.split(".")
    return len(parts) >= 2 and all(p and p.replace("_", "").isalnum() and p.islower() for p in parts)


def event_body(event: dict[str, Any]) -> str:
    """The JSON body for a committed event row (id, type, created, livemode, data, request)."""
    data = event["data"]
    created: datetime = event["created"]
    body = {
        "id": event["id"], "object": "event", "type": event["type"],
        "timestamp": created.isoformat().replace("+00:00", "Z"), "created": int(created.timestamp()),
        "livemode": event["livemode"], "data": {"object": data},
        "request": {"id": event.get("request_id"), "idempotency_key": event.get("idempotency_key")},
    }
    return json.dumps(body, separators=(",", ":"))


def sample_object(event_type: str, livemode: bool) -> dict[str, Any]:
    """A realistic object for a test event of `event_type`."""
    kind = "dispute" if event_type.startswith("charge.dispute.") else event_type.split(".")[0]
    if kind in ("payment_intent", "charge", "refund"):
        status = {"succeeded": "succeeded", "payment_failed": "requires_payment_method", "canceled": "canceled",
                  "processing": "processing"}.get(event_type.split(".")[-1], "requires_payment_method")
        return {"id": "pi_test_sample000000000000", "object": "payment_intent", "amount": 2000, "currency": "usd",
                "status": status, "livemode": livemode, "amount_received": 2000 if status == "succeeded" else 0,
                "payment_method": {"card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}},
                "metadata": {"order_id": "6735"}}
    if kind in ("customer", "credit", "transfer"):
        return {"id": "cus_test_sample00000000000", "object": "customer", "email": "jenny.rosen@example.com",
                "name": "Jenny Rosen", "status": "active", "livemode": livemode, "metadata": {}}
    if kind == "dispute":
        return {"id": "dp_test_sample00000000000", "object": "dispute", "amount": 2000, "currency": "usd",
                "payment_intent": "pi_test_sample000000000000", "reason": "fraudulent", "status": "needs_response",
                "is_inquiry": False, "evidence_details": {"due_by": 1767225600, "has_evidence": False,
                                                          "past_due": False, "submission_count": 0},
                "fee": 1500, "funds_withdrawn": True, "funds_reinstated": False, "seller_protection": None,
                "livemode": livemode}
    if kind == "transfer_claim":
        return {"id": "tcl_test_sample0000000000", "object": "transfer_claim", "transfer": "tr_test_sample00000000",
                "sender": "cus_test_sample00000000000", "receiver": "cus_test_sample00000000001", "amount": 2000,
                "currency": "usd", "reason": "not_received", "status": "inquiry", "hold": None,
                "livemode": livemode}
    if kind == "webhook_endpoint":
        return {"id": "we_test_sample00000000000", "object": "webhook_endpoint", "url": "https://example.com/hooks",
                "status": "disabled", "livemode": livemode}
    return {"id": f"{kind}_test_sample", "object": kind, "livemode": livemode}
