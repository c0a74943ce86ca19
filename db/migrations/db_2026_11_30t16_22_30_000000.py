from db.migrations._raw import raw_migration

ID = "2026-11-30T16:22:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "disputes, files and transfer claims: keys, orders, checks and indexes"

STATUSES = ("warning_needs_response", "warning_under_review", "warning_closed", "needs_response", "under_review",
            "won", "lost")
CLAIM_STATUSES = ("inquiry", "claim", "appeal", "refunded", "denied", "withdrawn")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


SQL = [
    # Byte-wise ids: keyset pages in id order.
    *[f'ALTER TABLE {t} ALTER COLUMN id TYPE varchar(40) COLLATE "C"'
      for t in ("disputes", "files", "transfer_claims", "transfer_claim_messages")],
    # Disputes: one per processor dispute (a repeated report changes nothing) and one per payment (a charge
    # is disputed once); lists, a payment's dispute, the deadline job and the processor's pending calls.
    "CREATE UNIQUE INDEX disputes_processor_dispute ON disputes (processor_dispute_id)",
    "CREATE UNIQUE INDEX disputes_payment_intent ON disputes (payment_intent_id)",
    "CREATE INDEX disputes_scope_id ON disputes (account_id, livemode, id DESC)",
    "CREATE INDEX disputes_scope_status_id ON disputes (account_id, livemode, status, id DESC)",
    "CREATE INDEX disputes_awaiting_due ON disputes (due_by) "
    "WHERE status IN ('needs_response', 'warning_needs_response')",
    "CREATE INDEX disputes_processor_pending ON disputes (updated) WHERE processor_pending IS NOT NULL",
    f"ALTER TABLE disputes ADD CONSTRAINT disputes_status_valid CHECK (status IN {_in(STATUSES)})",
    "ALTER TABLE disputes ADD CONSTRAINT disputes_amounts_valid CHECK (amount > 0 AND fee >= 0 "
    "AND submission_count >= 0)",
    "ALTER TABLE disputes ADD CONSTRAINT disputes_protection_valid CHECK (seller_protection IS NULL OR "
    "seller_protection IN ('covered', 'not_covered'))",
    "ALTER TABLE disputes ADD CONSTRAINT disputes_pending_valid CHECK (processor_pending IS NULL OR "
    "processor_pending IN ('evidence', 'close'))",
    # Files: lists; the content is never empty and never over 5 MB.
    "CREATE INDEX files_scope_id ON files (account_id, livemode, id DESC)",
    "ALTER TABLE files ADD CONSTRAINT files_size_valid CHECK (size > 0 AND size <= 5242880 "
    "AND size = octet_length(content))",
    "ALTER TABLE files ADD CONSTRAINT files_type_valid CHECK (type IN ('pdf', 'png', 'jpg'))",
    # Claims: one per transfer; lists, a customer's claims, the escalation job.
    "CREATE UNIQUE INDEX transfer_claims_transfer ON transfer_claims (transfer_id)",
    "CREATE INDEX transfer_claims_scope_id ON transfer_claims (account_id, livemode, id DESC)",
    "CREATE INDEX transfer_claims_scope_sender ON transfer_claims (account_id, livemode, sender, id DESC)",
    "CREATE INDEX transfer_claims_scope_receiver ON transfer_claims (account_id, livemode, receiver, id DESC)",
    "CREATE INDEX transfer_claims_inquiries_due ON transfer_claims (escalate_after) WHERE status = 'inquiry'",
    f"ALTER TABLE transfer_claims ADD CONSTRAINT transfer_claims_status_valid CHECK (status IN {_in(CLAIM_STATUSES)})",
    "ALTER TABLE transfer_claims ADD CONSTRAINT transfer_claims_amounts_valid CHECK (amount > 0 AND to_amount > 0 "
    "AND amount_held >= 0 AND (held_party IS NOT NULL OR amount_held = 0))",
    "CREATE INDEX transfer_claim_messages_claim ON transfer_claim_messages (claim_id, id)",
    "ALTER TABLE accounts ADD CONSTRAINT accounts_dispute_fee_valid CHECK (dispute_fee_minor >= 0)",
]

forwards = raw_migration(ID, DESCRIPTION, SQL)
