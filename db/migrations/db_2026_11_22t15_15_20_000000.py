from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T15:15:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "events: scoped indexes, byte-wise ids"

SQL = [
    'ALTER TABLE events ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    "CREATE INDEX events_scope_id ON events (account_id, livemode, id DESC)",
    "CREATE INDEX events_scope_type_id ON events (account_id, livemode, type, id DESC)",
    "CREATE INDEX events_scope_object ON events (account_id, livemode, object_id, id DESC)",
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
