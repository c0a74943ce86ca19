from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T14:44:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "analytics: rollup keys, 15-minute buckets, jsonb counters that add, the follower's position"

# docs/analytics.md explains the tables. Rollup rows are found and upserted by their natural key;
# a bucket is a 15-minute UTC boundary, so every IANA zone's hours and days are unions of buckets.
SQL = [
    'ALTER TABLE analytics_facts ALTER COLUMN object_id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE analytics_positions ALTER COLUMN name TYPE varchar(40) COLLATE "C"',
    "CREATE UNIQUE INDEX analytics_rollups_key ON analytics_rollups (account_id, livemode, bucket, currency)",
    "CREATE UNIQUE INDEX analytics_api_rollups_key ON analytics_api_rollups "
    "(account_id, livemode, bucket, endpoint, api_key_id)",
    "CREATE INDEX analytics_facts_scope_bucket ON analytics_facts (account_id, livemode, bucket)",
    *[f"ALTER TABLE {t} ADD CONSTRAINT {t}_bucket_aligned CHECK (extract(epoch FROM bucket)::bigint % 900 = 0)"
      for t in ("analytics_rollups", "analytics_api_rollups", "analytics_facts")],
    # Counters kept as jsonb objects (decline codes, error codes, latency histograms) add key by key;
    # a key whose sum is zero disappears, so adding a contribution and taking it back leaves no trace.
    """
CREATE FUNCTION analytics_jsonb_add(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(key, total), jsonb_build_object()) FROM (
        SELECT key, sum(value::numeric) AS total
          FROM (SELECT * FROM jsonb_each_text(coalesce(a, jsonb_build_object()))
                UNION ALL SELECT * FROM jsonb_each_text(coalesce(b, jsonb_build_object()))) AS both_sides
         GROUP BY key HAVING sum(value::numeric) <> 0) AS merged
$$""",
    "CREATE AGGREGATE analytics_jsonb_sum(jsonb) (SFUNC = analytics_jsonb_add, STYPE = jsonb)",
    "INSERT INTO analytics_positions (name, position, updated) VALUES ('rollups', 0, now()) ON CONFLICT DO NOTHING",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="db", description=DESCRIPTION)

    async def run():
        from piccolo.table import Table

        class _Raw(Table, tablename="_raw"):  # only a handle to run SQL in the migration's transaction
            pass

        for statement in SQL:
            await _Raw.raw(statement)

    manager.add_raw(run)
    return manager
