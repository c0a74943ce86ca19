"""`paydeck search ...`: the API-log search index."""

from __future__ import annotations

import asyncio

import click


@click.group(help="The API-log search index.")
def search() -> None:
    pass


@search.command("rebuild", help="Rebuild the search index from PostgreSQL (Meilisearch; a no-op on PostgreSQL).")
def search_rebuild() -> None:
    from server import db
    from server.apilogs.service import engine
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    async def go() -> tuple[str, int]:
        await run_migrations(quiet=True)
        await db.open_pool(1, 4)
        try:
            current = engine()
            return current.name, await current.rebuild()
        finally:
            await db.close_pool()

    with infrastructure(quiet=True, command="paydeck search rebuild"):
        name, count = asyncio.run(go())
    click.echo(f"{name}: {count} records indexed" if name != "postgres"
               else "postgres: the log table is its own index; nothing to rebuild")
