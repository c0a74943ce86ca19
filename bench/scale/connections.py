"""Memory per live connection with 10,000 of them on one web process, and where it goes.

    .venv/bin/python -m bench.scale.connections --hold 10000            # RSS per connection, SSE then GraphQL ws
    .venv/bin/python -m bench.scale.connections --hold 2000 --profile   # + tracemalloc: which lines hold it

`paydeck web --processes 1` against embedded PostgreSQL and Redis started
here; the connections come from bench/scale/holder.py in a process of its own
(raw asyncio sockets), so the client's memory and CPU are not the server's.
Each kind gets a fresh web process: 200 connections are opened and closed
first (lazy imports, caches, the allocator's first arenas), then the resident
memory before and with N connections held (3 s after the last opened) gives
the bytes per connection.

`--profile` serves the app inside this process instead, with tracemalloc on,
and prints the allocations the held connections added, by line and by file
(tracemalloc's own overhead makes that run's RSS no headline figure).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psutil

from bench.events.latency import infrastructure
from bench.ready import wait_ready
from bench.scale.run import PASSWORD, _login

BIN = Path(sys.executable).parent / "paydeck"
WARM_UP = 200
SETTLE_SECONDS = 3.0


def server_env(db_url: str, redis_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
            "PAYDECK_PROCESSOR_URL": "http://127.0.0.1:9", "PAYDECK_DATA_DIR": tempfile.mkdtemp(prefix="paydeck-conn-"),
            "PAYDECK_MAX_LIVE_CONNECTIONS": "50000", "PAYDECK_LOGIN_ATTEMPTS_PER_IP_15MIN": "100000",
            "PAYDECK_API_RATE_LIMIT_PER_SECOND": "100000",
            "PAYDECK_LOG_LEVEL": "WARNING"}


@contextlib.contextmanager
def web_process(db_url: str, redis_url: str, port: int) -> Iterator[psutil.Process]:
    proc = subprocess.Popen([str(BIN), "web", "--port", str(port), "--processes", "1"],
                            env=server_env(db_url, redis_url), stdout=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        yield psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(60)


@contextlib.asynccontextmanager
async def holding(kind: str, n: int, port: int, cookie: str, key: str) -> AsyncIterator[None]:
    """n connections of `kind` held by bench.scale.holder until the block ends."""
    config = {"kind": kind, "n": n, "port": port, "cookie": cookie, "key": key}
    holder = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.scale.holder", json.dumps(config),
                                                  stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert holder.stdin is not None and holder.stdout is not None
    try:
        line = (await asyncio.wait_for(holder.stdout.readline(), 900)).decode().strip()
        if not line.startswith("opened"):
            raise RuntimeError(f"the holder: {line}")
        yield
    finally:
        holder.stdin.write(b"close\n")
        with contextlib.suppress(Exception):
            await holder.stdin.drain()
            holder.stdin.close()
        try:
            await asyncio.wait_for(holder.wait(), 60)
        except TimeoutError:
            holder.kill()


def live_open(port: int) -> str:
    """The process's own count, as /metrics shows it (loopback: no token needed)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    lines = [line for line in text.splitlines() if line.startswith("paydeck_live_connections")]
    return ", ".join(lines) or "?"


async def measure(kind: str, n: int, db_url: str, redis_url: str, email: str, key: str) -> float:
    from server import embedded

    port = embedded.free_port()
    with web_process(db_url, redis_url, port) as proc:
        cookie = "; ".join(f"{k}={v}" for k, v in (await _login(f"http://127.0.0.1:{port}", email)).items())
        async with holding(kind, WARM_UP, port, cookie, key):
            await asyncio.sleep(1)
        await asyncio.sleep(SETTLE_SECONDS)
        before = proc.memory_info().rss
        started = time.monotonic()
        async with holding(kind, n, port, cookie, key):
            opened_in = time.monotonic() - started
            await asyncio.sleep(SETTLE_SECONDS)
            during = proc.memory_info().rss
            gauge = await asyncio.to_thread(live_open, port)
        per = (during - before) / n
        print(f"{kind}: {n} held (opened in {opened_in:.1f} s; {gauge}); RSS {before / 2**20:.1f} → "
              f"{during / 2**20:.1f} MiB: {per / 1024:.1f} KiB per connection", flush=True)
        return per


async def profile(kind: str, n: int, email: str, key: str) -> None:
    """The app in this process under tracemalloc: what the held connections allocated, by line and by file."""
    import uvicorn

    from server import embedded
    from server.app import create_app
    from server.settings import get_settings
    from server.webpool import bind, uvicorn_config

    settings = get_settings()
    settings.max_live_connections = 50_000
    port = embedded.free_port()
    settings.host, settings.port = "127.0.0.1", port
    server = uvicorn.Server(uvicorn_config(uvicorn, create_app(settings, run_workers=False), settings))
    serving = asyncio.create_task(server.serve(sockets=[bind("127.0.0.1", port)]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
        await asyncio.sleep(0.05)
    try:
        cookie = "; ".join(f"{k}={v}" for k, v in (await _login(f"http://127.0.0.1:{port}", email)).items())
        async with holding(kind, WARM_UP, port, cookie, key):
            await asyncio.sleep(1)
        tracemalloc.start(1)
        await asyncio.sleep(1)
        before = tracemalloc.take_snapshot()
        async with holding(kind, n, port, cookie, key):
            await asyncio.sleep(SETTLE_SECONDS)
            during = tracemalloc.take_snapshot()
        tracemalloc.stop()
        for grouping, top in (("lineno", 30), ("filename", 20)):
            stats = during.compare_to(before, grouping)
            total = sum(s.size_diff for s in stats)
            print(f"\n{kind}: {n} held, Python allocations per connection by {grouping}: "
                  f"{total / n / 1024:.2f} KiB in all")
            for stat in stats[:top]:
                frame = stat.traceback[0]
                where = _short(frame.filename) + (f":{frame.lineno}" if grouping == "lineno" else "")
                print(f"  {stat.size_diff / n:9.0f} B  {stat.count_diff / n:6.1f} blocks  {where}")
    finally:
        server.should_exit = True
        await serving


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/", "/server/"):
        if marker in path:
            return ("server/" if marker == "/server/" else "") + path.split(marker, 1)[1]
    return path


async def main(n: int, kinds: list[str], profiling: bool) -> None:
    from server import db
    from server.accounts.service import create_account
    from server.runtime import migrate
    from server.settings import get_settings

    with infrastructure() as (db_url, redis_url):
        os.environ.update(server_env(db_url, redis_url))
        get_settings.cache_clear()
        db.configure(db_url)
        await migrate(quiet=True)
        await db.open_pool(2, 10)
        account = await create_account("Bench Shop", f"conn-{os.getpid()}-{time.time_ns()}@example.com", PASSWORD)
        email, key = account.user["email"], account.keys["secret_test"]
        results: list[tuple[str, float]] = []
        for kind in kinds:
            if profiling:
                await profile(kind, n, email, key)
            else:
                results.append((kind, await measure(kind, n, db_url, redis_url, email, key)))
        await db.close_pool()
    if results:
        print("\n| path | connections held | memory per connection |\n|---|---:|---:|")
        names = {"sse": "dashboard SSE stream", "ws": "GraphQL subscription (ws)"}
        for kind, per in results:
            print(f"| {names[kind]} | {n:,} | {per / 1024:.1f} KiB |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hold", type=int, default=10_000, help="connections held on the one web process")
    parser.add_argument("--kinds", default="sse,ws", help="sse, ws or both")
    parser.add_argument("--profile", action="store_true", help="tracemalloc breakdown (app in this process)")
    args = parser.parse_args()
    asyncio.run(main(args.hold, args.kinds.split(","), args.profile))

