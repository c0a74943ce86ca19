"""`paydeck seed-logs`: realistic API request log records, for demos and benchmarks."""

from __future__ import annotations

import asyncio
import time

import click

from server.settings import Settings


@click.command("seed-logs", help="Write N realistic API request log records (for demos and benchmarks).")
@click.option("--rows", "count", required=True, type=click.IntRange(1), help="How many records.")
@click.option("--account", "account_id", default=None, help="Account id (default: the demo account).")
@click.option("--days", default=7.0, type=click.FloatRange(0.001, 400), help="Spread over the last N days.")
@click.option("--live", is_flag=True, help="Live-mode records (default: test mode).")
def seed_logs(count: int, account_id: str | None, days: float, live: bool) -> None:
    from server.runtime import infrastructure

    with infrastructure(quiet=True, command="paydeck seed-logs") as settings:
        written, seconds = asyncio.run(_seed(settings, count, account_id, days, live))
    click.echo(f"wrote {written} log records in {seconds:.1f}s ({written / max(seconds, 1e-9):,.0f} rows/s)")


async def _seed(settings: Settings, count: int, account_id: str | None, days: float,
                live: bool) -> tuple[int, float]:
    from server import db
    from server.apilogs.seed import seed
    from server.demo import ensure_demo
    from server.runtime import migrate as run_migrations

    await run_migrations(quiet=True)
    # Only the demo account: the benchmark marketplace is `paydeck demo`'s, not a side effect of seeding logs.
    target = account_id or (await ensure_demo(settings, sellers=0))["account_id"]
    await db.open_pool(1, 4)
    try:
        started = time.perf_counter()
        written = await seed(target, count, days=days, livemode=live)
        return written, time.perf_counter() - started
    finally:
        await db.close_pool()
