"""Webhook delivery: deliveries per second and event-commit-to-receiver latency, against raw httpx POSTs.

    .venv/bin/python -m bench.webhooks [--events 2000] [--endpoints 1,8] [--latency-events 200]

Starts embedded PostgreSQL and Redis in a temporary folder, a receiver
process (bench/webhooks/receiver.py) and a `paydeck worker` process (the real
fan-out and delivery worker), then commits events through the real outbox
(`events.emit` in a transaction) from this process.

- Throughput: N events committed back to back (16 concurrent committers)
  for an account with E endpoints; deliveries/s = N*E / (first commit →
  last arrival). Reference: the same number of raw httpx POSTs of the same
  body to the same receiver, 4*E at a time (the worker's in-flight limit).
- Latency: events committed one at a time, 50 ms apart; per event, the time
  from COMMIT returning here to the receiver's arrival stamp (same machine
  clock). Reference: one raw httpx POST at a time, send → arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.scratch import scratch_folder


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def wait_port(port: int, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def drain(client: httpx.AsyncClient, url: str, want: int, within: float = 300) -> list:
    got: list = []
    deadline = time.monotonic() + within
    while len(got) < want:
        got += (await client.get(url + "/stats")).json()
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(got)} of {want} deliveries arrived")
        await asyncio.sleep(0.05)
    return got


async def throughput(client: httpx.AsyncClient, receiver_url: str, n_endpoints: int, n: int,
                     emit) -> tuple[float, float]:
    """Deliveries/s for n events to n_endpoints, and raw httpx POSTs/s of the same count and concurrency."""
    queue = iter(range(n))
    started = time.time()

    async def committer() -> None:
        for _ in queue:
            await emit()

    await asyncio.gather(*(committer() for _ in range(16)))
    arrivals = await drain(client, receiver_url, n * n_endpoints)
    rate = n * n_endpoints / (max(a[0] for a in arrivals) - started)
    body = b'{"id":"evt_x","object":"event","type":"payment_intent.succeeded","data":{"object":{}}}' * 4
    sem = asyncio.Semaphore(4 * n_endpoints)

    async def post(i: int) -> None:
        async with sem:
            await client.post(f"{receiver_url}/hooks/{i % n_endpoints}", content=body)

    ref_started = time.perf_counter()
    await asyncio.gather(*(post(i) for i in range(n * n_endpoints)))
    ref_rate = n * n_endpoints / (time.perf_counter() - ref_started)
    await drain(client, receiver_url, n * n_endpoints)
    return rate, ref_rate


def spawn(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL)


async def main(args: argparse.Namespace) -> None:
    from server import db, embedded, infra
    from server.accounts.service import create_account
    from server.context import Scope
    from server.events import service as events
    from server.runtime import migrate
    from server.webhooks import service as webhooks
    from tests.factories import user_ctx

    tmp = scratch_folder("paydeck-bench-webhooks-")
    pg = embedded.start_postgres(tmp, fsync=True, database="bench")
    rd = embedded.start_redis(tmp / "redis", persist=False)
    procs: list[subprocess.Popen] = []
    os.environ.update({"DATABASE_URL": pg.url, "REDIS_URL": rd.url, "PAYDECK_DATA_DIR": str(tmp),
                       "PAYDECK_ALLOW_PRIVATE_WEBHOOK_URLS": "true"})
    try:
        db.configure(pg.url)
        await migrate(quiet=True)
        await db.open_pool(2, 20)
        await infra.open_redis(rd.url)
        port = embedded.free_port()
        receiver_url = f"http://127.0.0.1:{port}"
        procs.append(spawn([sys.executable, "-m", "bench.webhooks.receiver", str(port)]))
        paydeck = Path(sys.executable).parent / "paydeck"
        procs.append(spawn([str(paydeck), "worker"]))
        await wait_port(port)
        client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200))
        print(f"# webhooks benchmark — {os.cpu_count()} CPUs, PostgreSQL with fsync on")

        async def emit(scope: Scope) -> float:
            async with db.transaction():
                await events.emit(None, scope, "payment_intent.succeeded", "payment_intent", "pi_bench",
                                  {"id": "pi_bench", "amount": 2000, "currency": "usd", "status": "succeeded"})
            return time.time()

        for n_endpoints in args.endpoints:
            account = await create_account("Bench Shop", f"bench-{n_endpoints}-{time.time_ns()}@example.com",
                                           "correct horse battery staple")
            ctx = user_ctx(account.account["id"], account.user["id"])
            scope = Scope(account.account["id"], False)
            for i in range(n_endpoints):
                await webhooks.create_endpoint(ctx, f"{receiver_url}/hooks/{i}", ["*"])
            await emit(scope)  # warm up the worker and its connections
            await drain(client, receiver_url, n_endpoints)
            rate, ref_rate = await throughput(client, receiver_url, n_endpoints, args.events,
                                              functools.partial(emit, scope))
            print(f"throughput, {n_endpoints} endpoint(s), {args.events} events: {rate:,.0f} deliveries/s "
                  f"(raw httpx POSTs: {ref_rate:,.0f}/s; ratio {rate / ref_rate:.2f})")

        # latency: one endpoint, one event at a time
        account = await create_account("Latency Shop", f"lat-{time.time_ns()}@example.com",
                                       "correct horse battery staple")
        ctx = user_ctx(account.account["id"], account.user["id"])
        scope = Scope(account.account["id"], False)
        await webhooks.create_endpoint(ctx, f"{receiver_url}/hooks/lat", ["*"])
        await emit(scope)
        await drain(client, receiver_url, 1)
        samples = []
        for _ in range(args.latency_events):
            committed = await emit(scope)
            [arrival] = await drain(client, receiver_url, 1)
            samples.append(arrival[0] - committed)
            await asyncio.sleep(0.05)
        ref = []
        for _ in range(args.latency_events):
            sent = time.time()
            await client.post(f"{receiver_url}/hooks/ref", content=b"{}")
            [arrival] = (await client.get(receiver_url + "/stats")).json()
            ref.append(arrival[0] - sent)
        print(f"latency, commit → receiver, {len(samples)} events: p50 {pct(samples, 0.5):.1f} ms, "
              f"p99 {pct(samples, 0.99):.1f} ms, mean {statistics.mean(samples) * 1000:.1f} ms "
              f"(raw httpx POST send → arrival: p50 {pct(ref, 0.5):.1f} ms, p99 {pct(ref, 0.99):.1f} ms)")
        await client.aclose()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        await infra.close_redis()
        await db.close_pool()
        rd.stop()
        pg.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--endpoints", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8])
    parser.add_argument("--latency-events", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
