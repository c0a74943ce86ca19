"""`paydeck benchmarks ...`: release a closed month by hand (the job does it by itself).

Registered in `DOMAIN_GROUPS` of `server/cli/__init__.py`; imports stay inside the commands so that
`paydeck --help` does not load the app.
"""

from __future__ import annotations

import asyncio
import sys

import click


@click.group(help="Seller benchmarks: differentially private cohort statistics, released once a month.")
def benchmarks() -> None:
    pass


@benchmarks.command("release", help="Compute and store a closed month's releases (default: each of the last "
                                    "three closed months not released yet). A released month is refused.")
@click.option("--period", default=None, help="The month, YYYY-MM (UTC).")
@click.option("--live", is_flag=True, help="Live mode (default: test mode); without --period, both modes.")
def release(period: str | None, live: bool) -> None:
    from server import db
    from server.benchmarks import periods, service
    from server.benchmarks.metrics import ReleasePolicy
    from server.errors import PaydeckError
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    async def go(settings) -> list:
        await run_migrations(quiet=True)
        await db.open_pool(1, 4)
        try:
            if period is None:
                return await service.release_due(settings)
            return [await service.compute_period(live, periods.parse(period, "--period"),
                                                 ReleasePolicy.from_settings(settings))]
        finally:
            await db.close_pool()

    with infrastructure(quiet=True, command="paydeck benchmarks release") as settings:
        try:
            done = asyncio.run(go(settings))
        except PaydeckError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)
    for computed in done:
        click.echo(f"released {computed}")
    if not done:
        click.echo("nothing to release: every closed month is released already")
