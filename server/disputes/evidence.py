"""Dispute vocabulary shared by every layer: statuses, reasons, evidence fields, seller protection.

A leaf: it imports nothing of the domain, so the service, the serializer, the
GraphQL types, the pages and the processor feed all read the same lists.

Statuses and reasons are Stripe's. An *inquiry* (`warning_*`) is the issuer
asking before a chargeback: no money moves; answered, it closes
(`warning_closed`) or escalates to a chargeback (`needs_response`). A
*chargeback* takes the disputed amount and the dispute fee from the merchant
balance at once; it ends `won` (the amount comes back) or `lost`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from server.errors import InvalidRequest

# Inquiries, then chargebacks; the last of each is closed.
INQUIRY_STATUSES = ("warning_needs_response", "warning_under_review", "warning_closed")
CHARGEBACK_STATUSES = ("needs_response", "under_review", "won", "lost")
STATUSES = INQUIRY_STATUSES + CHARGEBACK_STATUSES
OPEN_STATUSES = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")
CLOSED_STATUSES = ("warning_closed", "won", "lost")
AWAITING_EVIDENCE = ("warning_needs_response", "needs_response")  # evidence may still be edited and submitted
UNDER_REVIEW = ("warning_under_review", "under_review")

REASONS = (
    "bank_cannot_process", "check_returned", "credit_not_processed", "customer_initiated", "debit_not_authorized",
    "duplicate", "fraudulent", "general", "incorrect_account_details", "insufficient_funds",
    "product_not_received", "product_unacceptable", "subscription_canceled", "unrecognized",
)

# Stripe's evidence fields. Text: at most MAX_TEXT characters each, MAX_TOTAL_TEXT together.
TEXT_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy_disclosure", "cancellation_rebuttal",
    "customer_email_address", "customer_name", "customer_purchase_ip", "duplicate_charge_explanation",
    "duplicate_charge_id", "product_description", "refund_policy_disclosure", "refund_refusal_explanation",
    "service_date", "shipping_address", "shipping_carrier", "shipping_date", "shipping_tracking_number",
    "uncategorized_text",
)
# File fields hold the id of an uploaded file (purpose dispute_evidence): PDF, PNG or JPEG.
FILE_FIELDS = (
    "cancellation_policy", "customer_communication", "customer_signature", "duplicate_charge_documentation",
    "receipt", "refund_policy", "service_documentation", "shipping_documentation", "uncategorized_file",
)
FIELDS = TEXT_FIELDS + FILE_FIELDS
MAX_TEXT = 20_000
MAX_TOTAL_TEXT = 150_000

# Stripe's test-mode convention: evidence containing one of these words decides the dispute.
WINNING, LOSING = "winning_evidence", "losing_evidence"

# Seller protection: these reasons are covered when the evidence proves delivery.
PROTECTED_REASONS = ("product_not_received", "unrecognized")
PROOF_OF_DELIVERY = "shipping_documentation"


def clean(changes: object, current: Mapping[str, str | None]) -> dict[str, str | None]:
    """`current` updated with `changes` (Stripe: a field given replaces it; null or "" clears it).

    Checks names, types and lengths; file fields are only checked to look like file ids here (the
    service checks that each file exists, belongs to the scope and has the right purpose).
    """
    if changes is None:
        return dict(current)
    if not isinstance(changes, Mapping):
        raise InvalidRequest("evidence must be an object of evidence fields", param="evidence")
    merged: dict[str, str | None] = dict(current)
    for name, value in changes.items():
        param = f"evidence[{name}]"
        if name not in FIELDS:
            raise InvalidRequest(f"unknown evidence field '{str(name)[:60]}'; the fields are: {', '.join(FIELDS)}",
                                 param="evidence")
        if value is None or value == "":
            merged.pop(name, None)
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"{param} must be a string", param=param)
        if name in FILE_FIELDS:
            if not value.startswith("file_") or len(value) > 64:
                raise InvalidRequest(f"{param} must be the id of an uploaded file (file_…)", param=param)
        elif len(value) > MAX_TEXT:
            raise InvalidRequest(f"{param} must be at most {MAX_TEXT} characters", param=param)
        merged[name] = value
    total = sum(len(v or "") for k, v in merged.items() if k in TEXT_FIELDS)
    if total > MAX_TOTAL_TEXT:
        raise InvalidRequest(f"the evidence's text fields may hold at most {MAX_TOTAL_TEXT} characters together "
                             f"(these hold {total})", param="evidence")
    return {k: merged[k] for k in FIELDS if merged.get(k)}


def has_evidence(evidence: Mapping[str, str | None]) -> bool:
    return any(evidence.get(name) for name in FIELDS)


def test_outcome(evidence: Mapping[str, str | None]) -> str | None:
    """Stripe's test convention: 'won' for `winning_evidence`, 'lost' for `losing_evidence` (winning first)."""
    text = " ".join(v or "" for k, v in evidence.items() if k in TEXT_FIELDS)
    if WINNING in text:
        return "won"
    if LOSING in text:
        return "lost"
    return None


@dataclass(frozen=True)
class Protection:
    """Whether a dispute's loss is covered, and why (or why not), in words the merchant can act on."""

    eligible: bool
    reason: str


def protection(reason: str, evidence: Mapping[str, str | None], submitted: bool) -> Protection:
    """Seller protection: a `product_not_received` or `unrecognized` dispute whose submitted evidence holds a
    shipping tracking number and a proof of delivery (a file in `shipping_documentation`)."""
    if reason not in PROTECTED_REASONS:
        return Protection(False, f"disputes for '{reason}' are not covered; only "
                                 f"{' and '.join(PROTECTED_REASONS)} are")
    missing = [label for field, label in (("shipping_tracking_number", "a shipping tracking number"),
                                          (PROOF_OF_DELIVERY, "a proof of delivery (shipping_documentation file)"))
               if not evidence.get(field)]
    if missing:
        return Protection(False, "the evidence lacks " + " and ".join(missing))
    if not submitted:
        return Protection(False, "the evidence with tracking number and proof of delivery is not submitted yet")
    return Protection(True, "tracking number and proof of delivery were submitted")
