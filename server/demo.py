"""The demo account of `make run`: created once, its login and keys kept in the data folder.

Keys are stored hashed, so the demo keeps the plain keys it issued in
`<data dir>/demo.json` (a local development convenience) to print them on
every start. A new demo account gets 90 days of test-mode history (payments,
refunds, customers, credits, transfers, API requests; server/analytics/backfill.py),
so the charts are never empty on first run, and a test-mode marketplace of other
sellers (server/benchmarks/marketplace.py) whose closed months are released at
once, so the Benchmarks page is too.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import threading
from pathlib import Path

from server import db
from server.accounts import queries
from server.accounts.service import create_account
from server.analytics import backfill
from server.benchmarks import marketplace
from server.benchmarks import queries as benchmark_queries
from server.benchmarks import service as benchmarks
from server.benchmarks.marketplace import DEFAULT_SELLERS
from server.context import Principal, RequestContext, Scope
from server.permissions import Role
from server.settings import Settings

DEMO_EMAIL = "demo@paydeck.dev"


async def ensure_demo(settings: Settings, announce: bool = False, sellers: int = DEFAULT_SELLERS) -> dict:
    """The demo account and its data (`paydeck demo`): the account first, then what fills its pages."""
    info = await ensure_demo_account(settings, announce=announce)
    await ensure_demo_data(settings, announce=announce, sellers=sellers)
    return info


async def ensure_demo_account(settings: Settings, announce: bool = False) -> dict:
    """The demo account, created once; its login and keys printed. Quick: `paydeck run --demo` serves after it."""
    path = Path(settings.data_dir) / "demo.json"
    await db.open_pool(1, 4)
    try:
        saved = json.loads(path.read_text()) if path.exists() else None
        if saved and await queries.account(saved["account_id"]):
            info = saved
        else:
            password = "demo-" + secrets.token_urlsafe(9)
            created = await create_account("Demo Store", DEMO_EMAIL, password, category="retail")
            info = {"account_id": created.account["id"], "email": DEMO_EMAIL, "password": password,
                    **{f"{k}_key": v for k, v in created.keys.items()}}
            _save(path, info)
    finally:
        await db.close_pool()
    if announce:
        print("\n  Demo account", info["account_id"], flush=True)
        print(f"    login:     {info['email']} / {info['password']}")
        print(f"    test keys: {info['secret_test_key']}  {info['publishable_test_key']}")
        print(f"    live keys: {info['secret_live_key']}  {info['publishable_live_key']}", flush=True)
    return info


def needs_demo_data(settings: Settings) -> bool:
    """Whether the demo's history and marketplace are still to be written (the first run's minute of work)."""
    path = Path(settings.data_dir) / "demo.json"
    return not path.exists() or not json.loads(path.read_text()).get("data_ready")


async def ensure_demo_data(settings: Settings, announce: bool = False, sellers: int = DEFAULT_SELLERS) -> None:
    """90 days of history, the marketplace and the closed months' benchmark releases, each once. Every step is
    one transaction, so an interrupted first run leaves nothing half-written and the next run does it again."""
    path = Path(settings.data_dir) / "demo.json"
    info = json.loads(path.read_text())
    assert settings.database_url
    await db.open_pool(1, 4)
    try:
        async with benchmark_queries.holding_releases(settings.database_url):
            history = await _history(info)
            market = None
            if sellers and not info.get("marketplace_sellers"):
                market = await marketplace.create_around(info["account_id"], sellers)
                info["marketplace_sellers"] = market.sellers
                _save(path, info)  # committed: a crash from here on must not build a second marketplace
        # Months are released once: without the marketplace they would be released with no peers, for good.
        released = await benchmarks.release_due(settings) if sellers else []
        if sellers:  # without the marketplace (seed-logs) a later `run --demo` still has to build it
            info["data_ready"] = True
            _save(path, info)
    finally:
        await db.close_pool()
    if announce:
        if history is not None:
            print(f"  demo history: {backfill.DEMO_DAYS} days of test-mode activity ({history})", flush=True)
        if market is not None:
            print(f"  demo marketplace: {market}", flush=True)
        for period in released:
            print(f"  benchmarks released: {period}", flush=True)


def hold_releases_for(dsn: str, writer: subprocess.Popen, within: float = 30.0) -> None:
    """Hold benchmark releases from now until the demo data `writer` (a process just started) holds them itself,
    or has ended: the app's release job starts with the app, before the writer is up, and would otherwise
    release the demo months before their sellers exist. Returns once the hold is taken."""
    held = threading.Event()

    async def hold() -> None:
        async with benchmark_queries.holding_releases(dsn) as conn:
            held.set()
            # polled: the writer is another process, and what it holds is seen only in pg_locks
            while writer.poll() is None and await benchmark_queries.release_holders(conn) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.1)

    threading.Thread(target=lambda: asyncio.run(hold()), name="demo-hold-releases", daemon=True).start()
    held.wait(within)


def _save(path: Path, info: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=2))
    path.chmod(0o600)


async def _history(info: dict) -> backfill.Written | None:
    """Back-fill the demo account's test mode once (None when it already has history)."""
    owner = await queries.user_by_email(info["email"])
    if owner is None:
        return None
    ctx = RequestContext(principal=Principal(kind="user", user_id=owner["id"], email=owner["email"], role=Role.OWNER),
                         scope_=Scope(info["account_id"], False))
    return await backfill.backfill_demo(ctx)
