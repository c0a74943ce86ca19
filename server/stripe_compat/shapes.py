"""Stripe's object shapes, made from Paydeck's one JSON shape of each object (`serial.py`, event snapshots).

They take the JSON (not the rows) so that event snapshots, which are that JSON, come out the same way in
`/stripe/v1/events` and in webhook deliveries signed the Stripe way. Fields Paydeck has no notion of are
left out, not invented; the table in docs/stripe-compat.md lists what each object carries.
Imports only `server.errors` (its codes), so the webhooks domain can use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.errors import ErrorCode

API_VERSION = "2024-06-20"  # the version whose shapes these follow; any Stripe-Version header is accepted
STATUS = {"failed": "requires_payment_method"}  # a declined attempt, as Stripe reports it


def customer(c: dict[str, Any]) -> dict[str, Any]:
    return {"id": c["id"], "object": "customer", "email": c.get("email"), "name": c.get("name") or None,
            "description": None, "metadata": c.get("metadata") or {}, "livemode": c.get("livemode", False),
            "created": c.get("created"), "balance": 0, "currency": None, "delinquent": False,
            "paydeck_status": c.get("status")}


def deleted(object_: str, id_: str) -> dict[str, Any]:
    return {"id": id_, "object": object_, "deleted": True}


def payment_intent(pi: dict[str, Any], latest_charge: str | None = None) -> dict[str, Any]:
    error = pi.get("last_payment_error")
    card = pi.get("card")
    return {
        "id": pi["id"], "object": "payment_intent", "amount": pi["amount"], "currency": pi["currency"],
        "status": STATUS.get(pi["status"], pi["status"]), "capture_method": pi.get("capture_method"),
        "confirmation_method": "automatic", "amount_capturable": pi.get("amount_capturable", 0),
        "amount_received": pi.get("amount_received", 0), "customer": pi.get("customer"),
        "description": pi.get("description") or None, "metadata": pi.get("metadata") or {},
        "client_secret": pi.get("client_secret"), "latest_charge": latest_charge,
        "payment_method": _payment_method_id(pi) if card else None, "payment_method_types": ["card"],
        "last_payment_error": _payment_error(error) if error else None,
        "cancellation_reason": pi.get("cancellation_reason"), "canceled_at": None,
        "livemode": pi.get("livemode", False), "created": pi.get("created"),
        "paydeck_status": pi["status"], "amount_refunded": pi.get("amount_refunded", 0),
    }


def _payment_method_id(pi: dict[str, Any]) -> str:
    return "pm_" + pi["id"].removeprefix("pi_")  # the card used, as an id; Paydeck keeps no PaymentMethod objects


def _payment_error(error: dict[str, Any]) -> dict[str, Any]:
    return {"type": "card_error", "code": ErrorCode.CARD_DECLINED, "decline_code": error.get("decline_code"),
            "message": error.get("message")}


def charge(pi: dict[str, Any], charge_id: str) -> dict[str, Any]:
    """The payment intent's charge (`latest_charge` expanded), made from the intent: Paydeck keeps one charge
    per intent, inside it."""
    card = pi.get("card") or {}
    captured = pi.get("amount_received", 0)
    status = {"succeeded": "succeeded", "requires_capture": "succeeded", "failed": "failed"}.get(pi["status"],
                                                                                                 "pending")
    return {
        "id": charge_id, "object": "charge", "amount": pi["amount"], "amount_captured": captured,
        "amount_refunded": pi.get("amount_refunded", 0), "captured": captured > 0, "currency": pi["currency"],
        "customer": pi.get("customer"), "paid": status == "succeeded", "status": status,
        "refunded": captured > 0 and pi.get("amount_refunded", 0) >= captured, "disputed": pi.get("disputed", False),
        "payment_intent": pi["id"], "failure_code": (pi.get("last_payment_error") or {}).get("code"),
        "payment_method_details": {"type": "card", "card": {k: card.get(k) for k in (
            "brand", "last4", "exp_month", "exp_year", "country", "fingerprint")}} if card else None,
        "metadata": pi.get("metadata") or {}, "livemode": pi.get("livemode", False), "created": pi.get("created"),
    }


def refund(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "object": "refund", "amount": r["amount"], "currency": r["currency"],
            "payment_intent": r.get("payment_intent"), "charge": None, "reason": r.get("reason"),
            "status": r.get("status"), "metadata": {}, "created": r.get("created")}


def balance(available: list[dict[str, Any]], livemode: bool) -> dict[str, Any]:
    return {"object": "balance", "livemode": livemode, "pending": [],
            "available": [{"amount": a["amount"], "currency": a["currency"].lower(),
                           "source_types": {"card": a["amount"]}} for a in available]}


BALANCE_TYPES = {"payment": "charge", "refund": "refund",
                 # Stripe books a dispute's moves as adjustments; reporting_category keeps Paydeck's entry kind
                 **dict.fromkeys(("dispute_withdrawal", "dispute_fee", "dispute_reinstatement", "seller_protection"),
                                 "adjustment")}


def balance_transaction(t: dict[str, Any]) -> dict[str, Any]:
    """A posting on the merchant balance: its amount is what the balance moved (a payment's net of its fee)."""
    return {"id": t["id"], "object": "balance_transaction", "amount": t["amount"], "net": t["amount"], "fee": 0,
            "currency": t["currency"].lower(), "type": BALANCE_TYPES.get(t["type"], t["type"]),
            "source": t.get("reference"), "description": t.get("description") or None, "status": "available",
            "created": t["created"], "available_on": t["created"], "reporting_category": t["type"]}


def webhook_endpoint(e: dict[str, Any]) -> dict[str, Any]:
    body = {"id": e["id"], "object": "webhook_endpoint", "url": e["url"], "description": e.get("description") or None,
            "enabled_events": e["enabled_events"], "status": e["status"], "api_version": None,
            "metadata": {}, "livemode": e["livemode"], "created": e["created"],
            "signature_scheme": e.get("signature_scheme", "standard")}
    if "secret" in e:
        body["secret"] = e["secret"]
    return body


DISPUTE_DETAILS = ("due_by", "has_evidence", "past_due", "submission_count")


def dispute(d: dict[str, Any]) -> dict[str, Any]:
    """A dispute (its one JSON shape, `server.disputes.serial.dispute_json`, also an event's snapshot). Paydeck's
    statuses and reasons are Stripe's own names, so they pass unchanged. A chargeback's money is
    withdrawn at once and the payment can no longer be refunded (the dispute returns the money), so
    `is_charge_refundable` is false exactly when the funds were withdrawn."""
    details = d.get("evidence_details") or {}
    withdrawn = bool(d.get("funds_withdrawn"))
    return {
        "id": d["id"], "object": "dispute", "amount": d["amount"], "currency": d["currency"], "charge": d.get("charge"),
        "payment_intent": d.get("payment_intent"), "reason": d.get("reason"), "status": d.get("status"),
        "evidence": d.get("evidence") or {}, "evidence_details": {k: details.get(k) for k in DISPUTE_DETAILS},
        "is_charge_refundable": not withdrawn, "livemode": d.get("livemode", False),
        "metadata": d.get("metadata") or {}, "created": d.get("created"),
        "paydeck_fee": d.get("fee"), "paydeck_funds_withdrawn": withdrawn,
        "paydeck_funds_reinstated": bool(d.get("funds_reinstated")),
        "paydeck_seller_protection": d.get("seller_protection"),
    }


OBJECTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "customer": customer, "payment_intent": payment_intent, "refund": refund, "dispute": dispute}


def any_object(obj: dict[str, Any]) -> dict[str, Any]:
    """An object of an event: Stripe's shape when there is one, Paydeck's own otherwise."""
    shape = OBJECTS.get(obj.get("object", ""))
    return shape(obj) if shape else obj


def event(e: dict[str, Any]) -> dict[str, Any]:
    """An event (its public JSON: `server.events.wire.event_json`, or a webhook body) in Stripe's shape."""
    request = e.get("request") or {}
    obj = dict(e["data"]["object"])
    previous = obj.pop("previous_attributes", None)
    data: dict[str, Any] = {"object": any_object(obj)}
    if previous is not None:
        data["previous_attributes"] = previous
    return {"id": e["id"], "object": "event", "api_version": API_VERSION, "type": e["type"], "data": data,
            "created": e["created"], "livemode": e["livemode"], "pending_webhooks": 0,
            "request": {"id": request.get("id"), "idempotency_key": request.get("idempotency_key")}}
