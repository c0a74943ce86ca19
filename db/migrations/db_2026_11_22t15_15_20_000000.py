from db.migrations._raw import raw_migration

ID = "2026-11-22T15:15:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "events: scoped indexes, byte-wise ids"

SQL = [
    'ALTER TABLE events ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    "CREATE INDEX events_scope_id ON events (account_id, livemode, id DESC)",
    "CREATE INDEX events_scope_type_id ON events (account_id, livemode, type, id DESC)",
    "CREATE INDEX events_scope_object ON events (account_id, livemode, object_id, id DESC)",
]


forwards = raw_migration(ID, DESCRIPTION, SQL)
