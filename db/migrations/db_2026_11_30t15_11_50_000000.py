from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T15:11:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "analytics: keys and aligned buckets of the hourly and daily levels"

LEVELS = {"hourly": 3600, "daily": 86400}
SQL = [
    *[f"CREATE UNIQUE INDEX analytics_rollups_{level}_key ON analytics_rollups_{level} "
      "(account_id, livemode, bucket, currency)" for level in LEVELS],
    *[f"CREATE UNIQUE INDEX analytics_api_rollups_{level}_key ON analytics_api_rollups_{level} "
      "(account_id, livemode, bucket, endpoint, api_key_id)" for level in LEVELS],
    *[f"ALTER TABLE {table}_{level} ADD CONSTRAINT {table}_{level}_bucket_aligned "
      f"CHECK (extract(epoch FROM bucket)::bigint % {seconds} = 0)"
      for table in ("analytics_rollups", "analytics_api_rollups") for level, seconds in LEVELS.items()],
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
