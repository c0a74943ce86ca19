"""The benchmark's world: durable embedded PostgreSQL, Redis, an account with 10 hot and 10,000
funded customers, and a `paydeck web` subprocess for the HTTP runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.ledger import entries
from bench.ready import app_ready
from server.context import RequestContext, Scope

FUNDS = 10**12


@dataclass
class Fixture:
    base_url: str  # postgresql://… without the database
    ctx: RequestContext
    scope: Scope
    hot: list[str]
    wide: list[str]
    wallets: dict[str, str]
    http: httpx.AsyncClient
    pids: dict[str, int | None]  # the processes of the run: "app", "postgres", "redis" (bench/cpu.py measures them)


async def _customers(ctx: RequestContext, scope: Scope, n: int) -> tuple[list[str], dict[str, str]]:
    from server import db
    from server.customers import service
    from server.ledger import service as ledger

    ids = [(await service.create(ctx, None, f"bench {i}")).id for i in range(n)]
    wallets = {}
    async with db.transaction():
        funding = await ledger.merchant_account(scope, "funding", "USD")
        for cid in ids:
            wallets[cid] = (await ledger.wallet(scope, cid, "USD")).id
        legs = [ledger.Leg(funding.id, "USD", -FUNDS * n)] + [ledger.Leg(w, "USD", FUNDS) for w in wallets.values()]
        await ledger.post(scope, "credit", legs, reference="bench-funding")
    return ids, wallets


@contextlib.asynccontextmanager
async def prepare(tmp: Path, max_clients: int) -> AsyncIterator[Fixture]:
    from server import db, embedded, infra
    from server.runtime import migrate
    from tests.factories import new_account, user_ctx

    pg = embedded.start_postgres(tmp, fsync=True, database="paydeck_bench")
    rd = embedded.start_redis(tmp / "redis", persist=False)
    web = None
    try:
        os.environ.update(DATABASE_URL=pg.url, REDIS_URL=rd.url, PAYDECK_API_RATE_LIMIT_PER_SECOND="1000000",
                          PAYDECK_DB_POOL_MAX=str(max_clients + 4), PAYDECK_DATA_DIR=str(tmp))
        from server.settings import get_settings

        get_settings.cache_clear()
        db.configure(pg.url)
        await migrate(quiet=True)
        await entries.install()  # the group commit's batch function (the benchmark's own, not the schema's)
        await db.open_pool(2, max_clients + 4)
        await infra.open_redis(rd.url)
        account = await new_account()
        ctx = user_ctx(account.account["id"], account.user["id"])
        scope = Scope(account.account["id"], False)
        hot, hot_wallets = await _customers(ctx, scope, 10)
        wide, wide_wallets = await _customers(ctx, scope, 10_000)
        await db.execute("ANALYZE")  # as autovacuum would on a live system: plans see real table sizes
        port = embedded.free_port()
        paydeck = Path(sys.executable).parent / "paydeck"
        web = subprocess.Popen([str(paydeck), "web", "--port", str(port)], env=os.environ.copy(),  # noqa: ASYNC220
                               stdout=(tmp / "web.log").open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        limits = httpx.Limits(max_connections=max_clients, max_keepalive_connections=max_clients)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits,
                                     headers={"Authorization": f"Bearer {account.keys['secret_test']}"}) as http:
            await _wait(http)
            yield Fixture(pg.url.rsplit("/", 1)[0], ctx, scope, hot, wide, {**hot_wallets, **wide_wallets}, http,
                          {"app": web.pid, "postgres": pg.pid, "redis": rd.pid})
    finally:
        if web is not None:
            web.send_signal(signal.SIGTERM)
            web.wait(timeout=30)
        await infra.close_redis()
        await db.close_pool()
        rd.stop()
        pg.stop()


async def _wait(http: httpx.AsyncClient) -> Any:
    for _ in range(300):
        try:
            if app_ready(await http.get("/readyz")):
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("paydeck web did not start")
