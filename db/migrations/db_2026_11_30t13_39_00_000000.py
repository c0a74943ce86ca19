from db.migrations._raw import raw_migration

ID = "2026-11-30T13:39:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payments: pending processor actions are capture or cancel; merchant balances may go negative"

SQL = [
    "ALTER TABLE payment_intents ADD CONSTRAINT payment_intents_pending_valid CHECK "
    "(pending_action IS NULL OR (pending_action IN ('capture','cancel') AND processing_since IS NOT NULL))",
    "CREATE INDEX payment_intents_pending ON payment_intents (processing_since) WHERE pending_action IS NOT NULL",
    # A refund within what was captured always succeeds: the fee it does not return may take the
    # merchant balance below zero (shown as negative on the Balance page; docs/payments.md).
    "UPDATE ledger_accounts SET allow_negative = true WHERE purpose = 'merchant_balance'",
]


forwards = raw_migration(ID, DESCRIPTION, SQL)
