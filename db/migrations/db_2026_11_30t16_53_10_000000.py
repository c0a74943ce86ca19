"""Radar's keys, indexes and storage: what Piccolo's auto migration cannot say."""

from db.migrations._raw import raw_migration

ID = "2026-11-30T16:53:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "radar: ids, unique keys, scope indexes, inline signals"

TABLES = ("radar_rules", "radar_value_lists", "radar_value_list_items", "risk_evaluations", "reviews", "radar_alerts")
SQL = [
    *[f'ALTER TABLE {table} ALTER COLUMN id TYPE varchar(40) COLLATE "C"' for table in TABLES],
    # Aliases are per account and mode; a value is in a list once (in the spelling rules match).
    "CREATE UNIQUE INDEX radar_value_lists_alias ON radar_value_lists (account_id, livemode, alias)",
    "CREATE UNIQUE INDEX radar_value_list_items_value ON radar_value_list_items (value_list_id, folded)",
    "CREATE INDEX radar_value_list_items_scope_folded ON radar_value_list_items (account_id, livemode, folded)",
    "CREATE INDEX radar_rules_scope ON radar_rules (account_id, livemode, id)",
    # One decision and one review per payment or transfer.
    "CREATE INDEX risk_evaluations_object ON risk_evaluations (account_id, livemode, object_id)",
    "CREATE INDEX risk_evaluations_scope_created ON risk_evaluations (account_id, livemode, created)",
    "CREATE UNIQUE INDEX reviews_object ON reviews (account_id, livemode, object_id)",
    "CREATE INDEX reviews_scope_open ON reviews (account_id, livemode, open, id)",
    "CREATE INDEX radar_alerts_scope_created ON radar_alerts (account_id, livemode, created)",
    # Backtests read every row's signals: keep them inline and uncompressed (docs/fraud.md, "Storage");
    # the explanation is read one at a time, so it may be compressed and moved out of line.
    "ALTER TABLE risk_evaluations ALTER COLUMN signals SET STORAGE PLAIN",
    "ALTER TABLE risk_evaluations ADD CONSTRAINT risk_evaluations_outcome_valid "
    "CHECK (outcome IN ('allow', 'review', 'block'))",
    "ALTER TABLE reviews ADD CONSTRAINT reviews_closed_when_closed CHECK (open = (closed IS NULL))",
]

forwards = raw_migration(ID, DESCRIPTION, SQL)
