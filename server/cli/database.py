"""`paydeck migrate`."""

from __future__ import annotations

import asyncio

import click


@click.command(help="Apply database migrations.")
def migrate() -> None:
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    with infrastructure(command="paydeck migrate"):
        asyncio.run(run_migrations())
