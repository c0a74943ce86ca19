"""Commit-to-subscriber latency of live events, against raw Redis publish→subscribe.

    .venv/bin/python -m bench.events.latency [--subscribers 1,100,1000] [--events 40]

Starts embedded PostgreSQL and Redis in a temporary folder (or uses
DATABASE_URL / REDIS_URL), serves the app in a separate process, opens N
GraphQL subscriptions (graphql-transport-ws, API key) and then N dashboard
SSE streams (session cookie), commits events one by one through the real
outbox (`events.emit` in a transaction) from this process, and measures, per
subscriber and event, the time from COMMIT returning to the subscriber
having the message. The reference is the same measurement for a bare Redis
PUBLISH to N bare Redis subscribers. Clients run in this process, so with
1,000 subscribers their own parsing is part of the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import websockets

from bench.ready import wait_ready
from bench.scratch import scratch_folder


# Pause between events: this measures latency, not throughput. With N subscribers of one account every
# event is N messages; the pause grows with N so the clients (all in this process) keep up.
def gap_seconds(n: int) -> float:
    return max(0.05, n / 2000)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Recorder:
    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.got: list[tuple[str, float]] = []

    def seen(self, key: str) -> None:
        self.got.append((key, time.perf_counter()))

    def latencies(self) -> list[float]:
        return [at - self.sent[key] for key, at in self.got if key in self.sent]


async def ws_subscriber(url: str, key: str, rec: Recorder, ready: asyncio.Event, stop: asyncio.Event) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": "subscription { events { id } }"}}))
        ready.set()
        async for raw in ws:  # cancelled when the case ends
            message = json.loads(raw)
            if message["type"] == "next":
                rec.seen(message["payload"]["data"]["events"]["id"])
            elif message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))


async def sse_subscriber(client: httpx.AsyncClient, rec: Recorder, ready: asyncio.Event, stop: asyncio.Event) -> None:
    async with client.stream("GET", "/events/stream", timeout=None) as resp:
        assert resp.status_code == 200, resp.status_code
        ready.set()
        async for line in resp.aiter_lines():
            if line.startswith("id: "):
                rec.seen(line[4:])
            if stop.is_set():
                return


async def redis_subscriber(url: str, rec: Recorder, ready: asyncio.Event, stop: asyncio.Event) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(url, decode_responses=True)
    pubsub = redis.pubsub()
    await pubsub.subscribe("bench:reference")
    ready.set()
    try:
        while not stop.is_set():
            item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if item:
                rec.seen(item["data"])
    finally:
        await pubsub.aclose()
        await redis.aclose()


async def run_case(n: int, events: int, start: Callable[[Recorder, asyncio.Event, asyncio.Event], Awaitable[None]],
                   fire: Callable[[int], Awaitable[str]], warm: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    rec, stop = Recorder(), asyncio.Event()
    readies = [asyncio.Event() for _ in range(n)]
    tasks = []
    for batch in range(0, n, 50):  # connect 50 at a time, as browsers arriving would, not all in one burst
        for ready in readies[batch:batch + 50]:
            tasks.append(asyncio.create_task(start(rec, ready, stop)))
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies[batch:batch + 50])), 60)
    # subscriptions are registered server-side a moment after `subscribe`: warm up until all receive
    for _ in range(50):
        before = len(rec.got)
        await warm()
        await asyncio.sleep(0.3)
        if len(rec.got) - before >= n:
            break
    rec.got.clear()
    for i in range(events):
        key = await fire(i)
        rec.sent[key] = rec.sent.get(key, time.perf_counter())
        await asyncio.sleep(gap_seconds(n))
    for _ in range(100):  # up to 10 s for stragglers
        if len(rec.latencies()) >= n * events:
            break
        await asyncio.sleep(0.1)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    lat = rec.latencies()
    return {"subscribers": n, "samples": len(lat), "expected": n * events, "p50": pct(lat, 0.5),
            "p99": pct(lat, 0.99), "max": max(lat) * 1000 if lat else 0, "mean": statistics.fmean(lat) * 1000}


@contextlib.contextmanager
def infrastructure():
    from server import embedded

    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        yield os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
        return
    tmp = scratch_folder("paydeck-bench-")
    pg = embedded.start_postgres(tmp, fsync=False, database="paydeck_bench")
    rd = embedded.start_redis(tmp / "redis", persist=False)
    try:
        yield pg.url, rd.url
    finally:
        rd.stop()
        pg.stop()


@contextlib.contextmanager
def app_process(db_url: str, redis_url: str, port: int):
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "PAYDECK_API_RATE_LIMIT_PER_SECOND": "100000",
           "PAYDECK_LOGIN_ATTEMPTS_PER_IP_15MIN": "100000", "PAYDECK_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "server.app:create_app", "--port", str(port),
                             "--ws", "websockets-sansio", "--log-level", "warning", "--backlog", "4096"], env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(15)


async def main(counts: list[int], events: int) -> None:
    from redis.asyncio import Redis

    from server import db, embedded
    from server.accounts.service import create_account
    from server.context import Scope
    from server.events.service import emit
    from server.runtime import migrate
    from server.settings import get_settings

    with infrastructure() as (db_url, redis_url):
        os.environ.update({"DATABASE_URL": db_url, "REDIS_URL": redis_url})
        get_settings.cache_clear()
        db.configure(db_url)
        await migrate(quiet=True)
        await db.open_pool(2, 10)
        account = await create_account("Bench Shop", f"bench-{os.getpid()}-{time.time_ns()}@example.com",
                                       "correct horse battery staple")
        scope = Scope(account.account["id"], False)
        port = embedded.free_port()
        with app_process(db_url, redis_url, port) as base:
            async def emit_one(i: int) -> str:
                async with db.transaction():
                    event_id = await emit(None, scope, "bench.ping", "bench", f"b_{i}", {"i": i})
                return event_id  # timed by the caller right after COMMIT returned

            async def warm_events() -> Any:
                return await emit_one(-1)

            publisher = Redis.from_url(redis_url, decode_responses=True)

            async def fire_redis(i: int) -> str:
                key = f"r{i}-{time.time_ns()}"
                await publisher.publish("bench:reference", key)
                return key

            async def warm_redis() -> Any:
                return await publisher.publish("bench:reference", "warm")

            login = httpx.AsyncClient(base_url=base, timeout=30)
            page = await login.get("/login")
            csrf = page.text.split('name="_csrf" value="', 1)[1].split('"', 1)[0]
            await login.post("/login", data={"_csrf": csrf, "email": account.user["email"],
                                             "password": "correct horse battery staple", "next": "/"})
            cookies = dict(login.cookies)
            await login.aclose()
            ws_url = base.replace("http://", "ws://") + "/graphql"
            key = account.keys["secret_test"]
            rows = []
            for n in counts:
                sse_client = httpx.AsyncClient(base_url=base, cookies=cookies,
                                               limits=httpx.Limits(max_connections=n + 10), timeout=30)
                cases = [
                    ("redis publish→subscribe (reference)",
                     lambda r, ready, stop: redis_subscriber(redis_url, r, ready, stop), fire_redis, warm_redis),
                    ("GraphQL subscription (ws)",
                     lambda r, ready, stop: ws_subscriber(ws_url, key, r, ready, stop), emit_one, warm_events),
                    ("dashboard SSE stream",
                     lambda r, ready, stop, c=sse_client: sse_subscriber(c, r, ready, stop), emit_one, warm_events),
                ]
                for name, start, fire, warm in cases:
                    result = await run_case(n, events, start, fire, warm)
                    rows.append((name, result))
                    print(f"{name:38} n={n:<5} p50={result['p50']:7.1f} ms  p99={result['p99']:7.1f} ms  "
                          f"max={result['max']:7.1f} ms  samples={result['samples']}/{result['expected']}",
                          flush=True)
                await sse_client.aclose()
            await publisher.aclose()
        await db.close_pool()
    print("\n| path | subscribers | p50 ms | p99 ms | p99 / Redis p99 | delivered |")
    print("|---|---:|---:|---:|---:|---:|")
    reference = {r["subscribers"]: r for name, r in rows if name.startswith("redis")}
    for name, r in rows:
        ref = reference[r["subscribers"]]["p99"] or 1e-9
        print(f"| {name} | {r['subscribers']} | {r['p50']:.1f} | {r['p99']:.1f} | {r['p99'] / ref:.1f}× | "
              f"{r['samples']}/{r['expected']} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", default="1,100,1000", help="comma-separated subscriber counts")
    parser.add_argument("--events", type=int, default=40, help="events committed per case")
    args = parser.parse_args()
    asyncio.run(main([int(x) for x in args.subscribers.split(",")], args.events))
