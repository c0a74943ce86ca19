"""Raw-SQL migrations: what Piccolo's auto migrations cannot say (constraints, partial and composite
indexes, byte-wise id collations, triggers, functions, partitioned tables).

A raw migration is a module in this folder with Piccolo's ID, VERSION and DESCRIPTION, its statements,
and `forwards` made here (see db/migrations/db_2026_11_22t15_19_30_000000.py):

    SQL = ["CREATE INDEX events_pos ON events (pos) WHERE pos IS NOT NULL", ...]
    forwards = raw_migration(ID, DESCRIPTION, SQL)

The statements run in order, in the migration's transaction. Piccolo imports every module of this
folder; this one has no ID, so it is not taken for a migration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table


class _Raw(Table, tablename="_raw"):  # only a handle to run SQL in the migration's transaction
    pass


def raw_migration(migration_id: str, description: str,
                  statements: list[str]) -> Callable[[], Awaitable[MigrationManager]]:
    """The `forwards` of a migration that runs `statements`."""

    async def forwards() -> MigrationManager:
        manager = MigrationManager(migration_id=migration_id, app_name="db", description=description)

        async def run() -> None:
            for statement in statements:
                await _Raw.raw(statement)

        manager.add_raw(run)
        return manager

    return forwards
