from db.migrations._raw import raw_migration

ID = "2026-11-22T15:30:47:000001"
VERSION = "1.38.0"
DESCRIPTION = "webhooks: scoped indexes, byte-wise ids, the claim index"

SQL = [
    'ALTER TABLE webhook_endpoints ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE webhook_deliveries ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE webhook_attempts ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE webhook_fanouts ALTER COLUMN event_id TYPE varchar(40) COLLATE "C"',
    "CREATE INDEX webhook_endpoints_scope_id ON webhook_endpoints (account_id, livemode, id DESC)",
    "CREATE INDEX webhook_deliveries_scope_endpoint_id ON webhook_deliveries "
    "(account_id, livemode, endpoint_id, id DESC)",
    "CREATE INDEX webhook_deliveries_scope_event ON webhook_deliveries (account_id, livemode, event_id)",
    # Claiming: only pending rows are in this index, so it stays small however many deliveries are kept.
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending'",
    "CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt_number)",
    "CREATE INDEX webhook_attempts_scope_endpoint ON webhook_attempts (account_id, livemode, endpoint_id, created)",
    "ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_status_valid CHECK "
    "(status IN ('enabled','disabled'))",
    "ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_status_valid CHECK "
    "(status IN ('pending','succeeded','failed','skipped'))",
]


forwards = raw_migration(ID, DESCRIPTION, SQL)
