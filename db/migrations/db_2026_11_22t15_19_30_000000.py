from db.migrations._raw import raw_migration

ID = "2026-11-22T15:19:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "events: dispatcher indexes and its state row"

SQL = [
    # The dispatcher's work queue: committed events without a position yet, in emit order.
    "CREATE INDEX events_unpositioned ON events (seq) WHERE pos IS NULL",
    # Resuming a stream: an account's events after a position.
    "CREATE INDEX events_scope_pos ON events (account_id, livemode, pos) WHERE pos IS NOT NULL",
    # Re-publishing after an interrupted dispatch: a range of positions.
    "CREATE INDEX events_pos ON events (pos) WHERE pos IS NOT NULL",
    "ALTER TABLE event_dispatch ALTER COLUMN name TYPE varchar(40) COLLATE \"C\"",
    "INSERT INTO event_dispatch (name, assigned_pos, published_pos, updated) VALUES ('redis', 0, 0, now()) "
    "ON CONFLICT DO NOTHING",
]


forwards = raw_migration(ID, DESCRIPTION, SQL)
