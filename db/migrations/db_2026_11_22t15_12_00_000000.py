from db.migrations._raw import raw_migration

ID = "2026-11-22T15:12:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "scoped indexes, sortable ids, extensions"

# Merchant indexes start with (account_id, livemode); ids compare byte-wise so
# keyset pagination does not depend on the database's locale.
SQL = [
    'CREATE EXTENSION IF NOT EXISTS pg_trgm',
    'ALTER TABLE api_keys ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE audit_log ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE memberships ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE invitations ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    "CREATE INDEX api_keys_scope_id ON api_keys (account_id, livemode, id DESC)",
    "CREATE INDEX audit_log_scope_id ON audit_log (account_id, id DESC)",
    "CREATE UNIQUE INDEX memberships_account_user ON memberships (account_id, user_id)",
    "ALTER TABLE memberships ADD CONSTRAINT memberships_role_valid CHECK "
    "(role IN ('owner','admin','developer','analyst','support','view_only'))",
    "ALTER TABLE api_keys ADD CONSTRAINT api_keys_kind_valid CHECK (kind IN ('secret','publishable','restricted'))",
]


forwards = raw_migration(ID, DESCRIPTION, SQL)
