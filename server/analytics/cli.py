"""`paydeck analytics ...`: check the rollups against the source tables, rebuild a range.

Registered in `DOMAIN_GROUPS` of `server/cli/__init__.py`; imports stay inside the commands so that
`paydeck --help` does not load the app.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta

import click

from server import clock
from server.errors import InvalidRequest
from server.instants import parse_instant

DEFAULT_DAYS = 30


def _since(value: str | None) -> datetime:
    try:
        moment = parse_instant(value, "--since")
    except InvalidRequest:
        raise click.BadParameter("a date (2026-11-01) or an ISO 8601 time", param_hint="--since") from None
    return moment or clock.now() - timedelta(days=DEFAULT_DAYS)


@click.group(help="Analytics: rollups of payments, customers, balances and API requests.")
def analytics() -> None:
    pass


@analytics.command("verify", help="Recompute the rollups from the source tables (payments, refunds, customers, "
                                  "credits, transfers, the ledger, API request logs) and print every difference "
                                  "to the minor unit; exit status 1 if there is any.")
@click.option("--since", default=None, help=f"Start of the range: a date (UTC) or ISO time; default {DEFAULT_DAYS} "
                                            "days ago.")
@click.option("--account", "account_id", default=None, help="Only this account (both modes).")
@click.option("--rebuild", is_flag=True, help="First rewrite the range from the source tables.")
def verify(since: str | None, account_id: str | None, rebuild: bool) -> None:
    from server import db
    from server.analytics import verify as checks
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    start = _since(since)

    async def go() -> list:
        await run_migrations(quiet=True)
        await db.open_pool(1, 4)
        try:
            if rebuild:
                for done in await checks.rebuild(start, account_id=account_id):
                    click.echo(f"rebuilt {done.scope.account_id} {done.scope.mode}: {done.rollup_rows} rollup rows "
                               f"from {done.facts} objects, {done.api_rows} API rollup rows")
            return await checks.verify(start, account_id=account_id)
        finally:
            await db.close_pool()

    with infrastructure(quiet=True):
        found = asyncio.run(go())
    for difference in found:
        click.echo(str(difference))
    if found:
        click.echo(f"{len(found)} differences since {start:%Y-%m-%d %H:%M} UTC", err=True)
        sys.exit(1)
    click.echo(f"no differences since {start:%Y-%m-%d %H:%M} UTC")
