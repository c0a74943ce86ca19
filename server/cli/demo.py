"""`paydeck demo` and `paydeck simulate`: the demo account and demo traffic."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from server.settings import get_settings


@click.command(help="Create the demo account (if missing) and a test-mode marketplace of other sellers (once), "
                    "release the closed months' benchmarks, and print the login and keys.")
@click.option("--sellers", default=None, type=click.IntRange(0, 100_000),
              help="Sellers of the demo marketplace (default 900; 0: none, and no month is released). "
                   "Only when it is first created.")
@click.option("--data-only", is_flag=True, hidden=True,
              help="Only the demo's data, for an account that exists (what `paydeck run --demo` runs beside itself).")
def demo(sellers: int | None, data_only: bool) -> None:
    from server.benchmarks.marketplace import DEFAULT_SELLERS
    from server.demo import ensure_demo, ensure_demo_data
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    count = DEFAULT_SELLERS if sellers is None else sellers
    with infrastructure(command="paydeck demo") as settings:
        if data_only:
            asyncio.run(ensure_demo_data(settings, announce=True, sellers=count))
            return
        asyncio.run(run_migrations())
        asyncio.run(ensure_demo(settings, announce=True, sellers=count))


@click.command(help="Send demo traffic to a running Paydeck: test-mode customers, payments with mixed outcomes, "
                    "captures and refunds.")
@click.option("--rate", default=2.0, type=float, show_default=True, help="Actions per second.")
@click.option("--duration", default=None, type=float, help="Stop after this many seconds (default: run until Ctrl-C).")
@click.option("--url", default=None, help="Base URL of the app (default PAYDECK_PUBLIC_URL, else the running app).")
@click.option("--key", default=None, help="A test-mode secret key (default: the demo account's, from the data folder).")
def simulate(rate: float, duration: float | None, url: str | None, key: str | None) -> None:
    from server.payments.simulate import run as run_traffic
    from server.urls import running_app_url

    key = key or _demo_key()
    if not key.startswith("sk_test_"):
        click.echo("error: simulate only uses test-mode secret keys (sk_test_…)", err=True)
        sys.exit(2)
    if rate <= 0:
        click.echo("error: --rate must be positive", err=True)
        sys.exit(2)
    target = running_app_url(url)
    click.echo(f"  sending about {rate:g} actions/s to {target} (Ctrl-C stops)")
    try:
        counts = asyncio.run(run_traffic(target, key, rate, duration))
    except KeyboardInterrupt:
        return
    click.echo(json.dumps(counts, indent=2, sort_keys=True))


def _demo_key() -> str:
    saved = Path(get_settings().data_dir) / "demo.json"
    if not saved.exists():
        click.echo("error: no --key given and no demo account yet; run `paydeck run --demo` first", err=True)
        sys.exit(2)
    return str(json.loads(saved.read_text())["secret_test_key"])
