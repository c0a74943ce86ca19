from piccolo.apps.migrations.auto.migration_manager import MigrationManager

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
