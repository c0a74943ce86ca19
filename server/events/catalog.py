"""The event types of Paydeck: `<object type>.<what happened>`, past tense, lower snake case.

docs/events.md carries the same table; the dashboard offers these names in
its type filter. A domain that emits a new type adds it here.
"""

EVENT_TYPES: dict[str, str] = {
    "customer.created": "A customer was created.",
    "customer.updated": "A customer's details or status changed.",
    "customer.closed": "A customer was closed (zero balance).",
    "credit.created": "Money was added to a customer balance (ledger credit).",
    "transfer.created": "Money moved from one customer to another.",
    "payment_intent.created": "A payment intent was created (requires_payment_method).",
    "payment_intent.processing": "A confirmed payment is with the processor.",
    "payment_intent.amount_capturable_updated": "An authorised manual-capture payment awaits capture.",
    "payment_intent.succeeded": "A payment succeeded; the ledger holds gross, fee and net.",
    "payment_intent.payment_failed": "A payment failed (decline code in the snapshot).",
    "payment_intent.canceled": "A payment intent was canceled.",
    "charge.refunded": "A payment was refunded, partly or fully.",
    "refund.created": "A refund was created.",
    "refund.updated": "A refund's status changed (e.g. it settled after the processor answered late).",
    "refund.failed": "A refund failed at the processor; the money went back to the merchant balance.",
    "payment_intent.refund_reversed": "A failed refund was reversed on its payment (amount_refunded lowered).",
    "charge.dispute.created": "A cardholder disputed a payment: an inquiry, or a chargeback.",
    "charge.dispute.updated": "A dispute's evidence was saved or submitted, or an inquiry became a chargeback.",
    "charge.dispute.closed": "A dispute was decided: won, lost, or an inquiry closed.",
    "charge.dispute.funds_withdrawn": "The disputed amount and the dispute fee left the merchant balance.",
    "charge.dispute.funds_reinstated": "The disputed amount came back (won, or covered by seller protection).",
    "charge.dispute.evidence_due_72h": "A dispute's evidence is due within 72 hours and was not submitted.",
    "charge.dispute.evidence_due_24h": "A dispute's evidence is due within 24 hours and was not submitted.",
    "transfer_claim.opened": "A sender opened an inquiry about a transfer.",
    "transfer_claim.message_added": "A party (or the merchant) wrote on a transfer claim.",
    "transfer_claim.escalated": "An inquiry became a claim; the amount is held on the receiver's balance.",
    "transfer_claim.decided": "A claim or appeal was decided: refunded to the sender, or denied.",
    "transfer_claim.appealed": "The losing party appealed a decision; the amount is held again.",
    "transfer_claim.withdrawn": "The sender withdrew an inquiry or claim; any hold was released.",
    "review.opened": "A payment or transfer was held for review.",
    "review.closed": "A review was approved or refused.",
    "webhook_endpoint.disabled": "A webhook endpoint was disabled after failing for days.",
}
