"""Read throughput of the Payments list with 0 and with 2 read replicas, and replica lag under write load.

    .venv/bin/python -m bench.scale.reads [--seconds 10] [--clients 16] [--payments 2000] [--write-rate 100]
                                          [--writes payments|customers]

Starts embedded PostgreSQL (fsync on) and Redis here, fills one account with
`--payments` payment intents, makes two streaming replicas with the wheel's
`pg_basebackup -R` (server.embedded.start_replica), and serves the app with
`paydeck run --processes 2`, first without replicas, then with both
(PAYDECK_READ_REPLICA_URLS). For each: `--clients` closed-loop clients GET
`/v1/payment_intents?limit=20` for `--seconds`, and the same clients GET
`/healthz` as the reference of the same run. Then, with replicas, a writer
makes confirmed payments (as the payments benchmark does; `--writes customers`
for customers) at `--write-rate`/s over HTTP while this process samples
each replica's lag every 50 ms the way the app does (primary WAL position and
the time before asking, replica replay position): the p50/p99/max of that lag.
Everything shares this machine's cores: on one machine replicas add copies of
the same work, not CPU; the figure to read is the lag and the routing cost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.events.latency import pct
from bench.payments.run import CARD
from bench.ready import wait_ready
from server.replicas import queries as positions

BIN = Path(sys.executable).parent / "paydeck"


@contextlib.contextmanager
def paydeck(db_url: str, redis_url: str, port: int, replicas: list[str], processor_url: str) -> Iterator[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "PAYDECK_PROCESSOR_URL": processor_url,
           "PAYDECK_DATA_DIR": tempfile.mkdtemp(prefix="paydeck-reads-"), "PAYDECK_API_RATE_LIMIT_PER_SECOND": "100000",
           "PAYDECK_LOG_LEVEL": "WARNING", "PAYDECK_READ_REPLICA_URLS": ",".join(replicas),
           "PAYDECK_APILOG_ENABLED": "false"}
    proc = subprocess.Popen([str(BIN), "run", "--port", str(port), "--processes", "2"], env=env,
                            stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(60)


async def closed_loop(base: str, path: str, headers: dict[str, str], clients: int, seconds: float) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            resp = await http.get(path, headers=headers)
            assert resp.status_code == 200, resp.text
            done += 1

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=clients)) as http:
        began = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        return done / (time.perf_counter() - began)


async def write(http: httpx.AsyncClient, writes: str, n: int, key: str) -> None:
    """One write of the load: a customer, or a confirmed payment as the payments benchmark makes it (create, then
    confirm with a card that succeeds: the processor call, the ledger postings, the receipt and the events)."""
    headers = {"Authorization": f"Bearer {key}"}
    if writes == "customers":
        await http.post("/v1/customers", json={"email": f"w{n}@x.com"}, headers=headers)
        return
    intent = await http.post("/v1/payment_intents", json={"amount": 1000 + n, "currency": "usd"}, headers=headers)
    await http.post(f"/v1/payment_intents/{intent.json()['id']}/confirm", json={"card": CARD}, headers=headers)


async def lag_under_writes(base: str, key: str, primary: str, replicas: list[str], rate: float,
                           seconds: float, writes: str) -> list[float]:
    lags: list[float] = []
    history: list[tuple[float, int]] = []
    stop = asyncio.Event()

    async def writer() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            began = time.perf_counter()
            sent: list[asyncio.Future] = []
            while not stop.is_set():
                due = began + len(sent) / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                sent.append(asyncio.ensure_future(write(http, writes, len(sent), key)))
            await asyncio.gather(*sent, return_exceptions=True)  # the open loop's last requests finish first

    async def sampler() -> None:
        p = await asyncpg.connect(primary)
        rs = [await asyncpg.connect(url) for url in replicas]
        caught = [0.0] * len(rs)
        while not stop.is_set():
            asked = time.time()
            history.append((asked, await positions.primary_position(p)))  # the app's own measure of lag
            for i, r in enumerate(rs):
                replayed = await positions.replayed_position(r) or 0
                for at, position in reversed(history):
                    if position <= replayed:
                        caught[i] = max(caught[i], at)
                        break
                lags.append(time.time() - caught[i])
            await asyncio.sleep(0.05)
        for conn in (p, *rs):
            await conn.close()

    tasks = [asyncio.create_task(writer()), asyncio.create_task(sampler())]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return lags[len(replicas) * 10:]  # after the first half second


async def main(seconds: float, clients: int, payments: int, rate: float, writes: str) -> None:
    from server import db, embedded
    from server.accounts.service import create_account
    from server.payments.processor import start_simulator
    from server.runtime import migrate
    from server.settings import get_settings

    tmp = Path(tempfile.mkdtemp(prefix="paydeck-bench-reads-"))
    pg = embedded.start_postgres(tmp, database="paydeck_bench")
    rd = embedded.start_redis(tmp / "redis", persist=False)
    sim = start_simulator(tmp / "processor")
    started = [sim, rd, pg]
    try:
        os.environ.update({"DATABASE_URL": pg.url, "REDIS_URL": rd.url})
        get_settings.cache_clear()
        db.configure(pg.url)
        await migrate(quiet=True)
        await db.open_pool(2, 10)
        account = await create_account("Reads Shop", f"reads-{time.time_ns()}@example.com", "correct horse battery")
        key = account.keys["secret_test"]
        port = embedded.free_port()
        with paydeck(pg.url, rd.url, port, [], sim.url) as base:  # fill through the API, as merchants would
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                def create(i: int) -> Any:
                    return http.post("/v1/payment_intents", json={"amount": 1000 + i, "currency": "usd"},
                                     headers={"Authorization": f"Bearer {key}"})

                for start in range(0, payments, 50):
                    await asyncio.gather(*(create(i) for i in range(start, min(payments, start + 50))))
        await db.close_pool()
        replicas = [embedded.start_replica(tmp, i, pg.port, "paydeck_bench") for i in range(2)]
        started = [*replicas, *started]
        headers = {"Authorization": f"Bearer {key}"}
        rows = []
        for label, urls in (("no replica", []), ("2 replicas", [r.url for r in replicas])):
            with paydeck(pg.url, rd.url, embedded.free_port(), urls, sim.url) as base:
                reference = await closed_loop(base, "/healthz", {}, clients, seconds)
                listed = await closed_loop(base, "/v1/payment_intents?limit=20", headers, clients, seconds)
                rows.append((label, listed, reference))
                print(f"{label:11} list {listed:7.0f}/s  /healthz {reference:7.0f}/s  ratio {listed / reference:.2f}",
                      flush=True)
                if urls:
                    lags = await lag_under_writes(base, key, pg.url, urls, rate, seconds, writes)
        print(f"\n{clients} clients, {seconds:g} s each, {payments:,} payments in the account\n")
        print("| replicas | Payments list requests/s | `/healthz` requests/s (same run) | ratio |")
        print("|---|---:|---:|---:|")
        for label, listed, reference in rows:
            print(f"| {label} | {listed:,.0f} | {reference:,.0f} | {listed / reference:.2f} |")
        made = "confirmed payments (create + confirm)" if writes == "payments" else "customers"
        print(f"\nreplica lag while making {rate:g} {made}/s over HTTP ({len(lags)} samples): "
              f"p50 {pct(lags, 0.5):.1f} ms, p99 {pct(lags, 0.99):.1f} ms, max {max(lags) * 1000:.1f} ms")
    finally:
        for process in started:
            process.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--write-rate", type=float, default=100)
    parser.add_argument("--writes", choices=("payments", "customers"), default="payments",
                        help="the write load while replica lag is sampled: confirmed payments or customers")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.clients, args.payments, args.write_rate, args.writes))
