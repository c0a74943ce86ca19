from db.migrations._raw import raw_migration

ID = "2026-11-30T16:14:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "benchmarks: keys, byte-wise ids, an append-only privacy budget ledger, categories from the fixed list"

CATEGORIES = ("retail", "grocery", "food_and_drink", "digital_goods", "software", "travel", "transportation",
              "entertainment", "education", "health", "professional_services", "home_services", "nonprofit",
              "general")

SQL = [
    *[f'ALTER TABLE {table} ALTER COLUMN id TYPE varchar(40) COLLATE "C"'
      for table in ("benchmark_periods", "benchmark_releases")],
    'ALTER TABLE benchmark_seller_values ALTER COLUMN release_id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE privacy_budget_ledger ALTER COLUMN release_id TYPE varchar(40) COLLATE "C"',
    # A period is computed once per mode: the second attempt finds this key taken.
    "CREATE UNIQUE INDEX benchmark_periods_key ON benchmark_periods (livemode, period)",
    "CREATE UNIQUE INDEX benchmark_releases_key ON benchmark_releases (livemode, period, category, region, kind)",
    "CREATE UNIQUE INDEX benchmark_seller_values_key ON benchmark_seller_values (account_id, livemode, period, metric)",
    "CREATE INDEX privacy_budget_ledger_scope ON privacy_budget_ledger (account_id, livemode, period, id)",
    """
CREATE FUNCTION privacy_budget_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the privacy budget ledger is append-only: what was spent stays spent'
        USING ERRCODE = 'integrity_constraint_violation';
END $$""",
    "CREATE TRIGGER privacy_budget_ledger_append_only BEFORE UPDATE OR DELETE ON privacy_budget_ledger "
    "FOR EACH ROW EXECUTE FUNCTION privacy_budget_append_only()",
    "CREATE TRIGGER privacy_budget_ledger_no_truncate BEFORE TRUNCATE ON privacy_budget_ledger "
    "FOR EACH STATEMENT EXECUTE FUNCTION privacy_budget_append_only()",
    # Categories were free text; they are a fixed list now, and anything else is "general" (Other).
    "UPDATE accounts SET category = 'general' WHERE category NOT IN ("
    + ", ".join(f"'{c}'" for c in CATEGORIES) + ")",
]


forwards = raw_migration(ID, DESCRIPTION, SQL)
