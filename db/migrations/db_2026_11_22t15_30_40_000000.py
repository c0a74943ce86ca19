from db.migrations._raw import raw_migration

ID = "2026-11-22T15:30:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "payments: scoped indexes, byte-wise ids, status and amount constraints"

SQL = [
    'ALTER TABLE payment_intents ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE refunds ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE receipts ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    "CREATE INDEX payment_intents_scope_id ON payment_intents (account_id, livemode, id DESC)",
    "CREATE INDEX payment_intents_scope_status_id ON payment_intents (account_id, livemode, status, id DESC)",
    "CREATE INDEX payment_intents_scope_customer_id ON payment_intents (account_id, livemode, customer_id, id DESC)",
    "CREATE INDEX payment_intents_processing ON payment_intents (processing_since) WHERE status = 'processing'",
    "CREATE INDEX payment_intents_capture_before ON payment_intents (capture_before) "
    "WHERE status = 'requires_capture'",
    "CREATE INDEX refunds_scope_payment ON refunds (account_id, livemode, payment_intent_id, id)",
    "CREATE INDEX refunds_pending ON refunds (created) WHERE status = 'pending'",
    "CREATE INDEX receipts_scope_payment ON receipts (account_id, livemode, payment_intent_id)",
    "ALTER TABLE payment_intents ADD CONSTRAINT payment_intents_status_valid CHECK (status IN "
    "('requires_payment_method','processing','requires_capture','succeeded','failed','canceled'))",
    "ALTER TABLE payment_intents ADD CONSTRAINT payment_intents_amounts_valid CHECK (amount > 0 AND "
    "amount_received >= 0 AND amount_refunded >= 0 AND amount_refunded <= amount_received AND "
    "amount_received <= amount)",
    "ALTER TABLE refunds ADD CONSTRAINT refunds_amount_positive CHECK (amount > 0)",
]


forwards = raw_migration(ID, DESCRIPTION, SQL)
