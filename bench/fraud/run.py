"""Radar benchmark: the cost of risk on payments, the decision's latency under load, and backtests.

    .venv/bin/python -m bench.fraud.run [--seconds 10] [--clients 16] [--rounds 3] [--rows 1000000]

Starts its own embedded PostgreSQL, Redis and processor simulator, and two `paydeck web`
processes on the same database: one with risk on (the default), one with
`PAYDECK_RISK_ENABLED=false` as the reference. All on this machine, in one run:

1. **Cost of risk.** Confirmed payments per second (create + confirm, closed loop) through each
   app, in alternation (on, off, on, off, ...) so both see the same machine; the ratio on ÷ off.
   The traffic looks like a shop's: each payment with its own card number, email and public IP
   address out of a pool of buyers, so velocity keys are many and short, as in life.
2. **Decision time under load.** While the risk-on app takes that load, this process makes the
   decisions itself (`fraud.service.evaluate_payment`, the function confirm calls: one SQL and
   one Redis round trip, scoring and rules) at a fixed rate against the same database and Redis;
   their p50 and p99.
3. **Backtest.** `--rows` evaluations spread over 30 days for one account, written with COPY in
   the stored format, then `radar.backtest` (one SQL statement from `Rule.to_sql`) for a few
   rules, against a plain `SELECT count(*)` over the same rows: time and rows/s of each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta

import httpx

from bench.ready import wait_ready
from bench.scratch import scratch_folder

BUYERS = 1_000_000  # many buyers: a card seen twice within a minute is rare, as in life (a burst is blocked)
RULES = [
    "review if :card_count_for_ip_address_hourly: > 3",
    "block if :card_country: != :ip_country: and :amount_in_usd: > 500",
    "review if :risk_score: >= 65 or :amount_vs_customer_median: > 5",
]


def luhn_complete(prefix: str) -> str:
    digits = [int(d) for d in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return prefix + str((10 - total % 10) % 10)


def buyer(rng: random.Random, n: int) -> dict[str, str]:
    """A returning buyer: their card, email and public IP address (documentation ranges are not global)."""
    # 4571…: outside the simulator's test cards (4000… numbers decline, time out or get disputed)
    return {"number": luhn_complete(f"4571{n:011d}"), "email": f"buyer{n}@example.com",
            "ip": f"81.{n // 65536 % 200 + 2}.{n // 256 % 256}.{n % 250 + 1}"}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else float("nan")


async def pay(client: httpx.AsyncClient, rng: random.Random) -> None:
    who = buyer(rng, rng.randrange(BUYERS))
    pi = await client.post("/v1/payment_intents", json={"amount": rng.choice([999, 1999, 4900]), "currency": "usd"})
    card = {"number": who["number"], "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    done = await client.post(f"/v1/payment_intents/{pi.json()['id']}/confirm",
                             json={"card": card, "email": who["email"], "ip_address": who["ip"]})
    assert done.json()["status"] == "succeeded", done.text


async def closed_loop(base: str, key: str, clients: int, seconds: float) -> float:
    done = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, limits=limits,
                                 timeout=60) as client:
        rng = random.Random(clients)
        await pay(client, rng)
        end = time.monotonic() + seconds

        async def loop() -> None:
            nonlocal done
            while time.monotonic() < end:
                await pay(client, rng)
                done += 1

        start = time.monotonic()
        await asyncio.gather(*[loop() for _ in range(clients)])
        return done / (time.monotonic() - start)


async def decisions_under_load(base: str, key: str, db_url: str, redis_url: str, account_id: str, clients: int,
                               seconds: float, rate: float) -> list[float]:
    """Time `evaluate_payment` at `rate` per second while `clients` loops pay through the app."""
    from server import db, infra
    from server.context import Scope
    from server.fraud import service
    from server.ids import new_id

    db.configure(db_url)
    await db.open_pool(2, 8)
    await infra.open_redis(redis_url)
    scope = Scope(account_id, False)
    rng = random.Random(7)
    timings: list[float] = []
    try:
        load = asyncio.create_task(closed_loop(base, key, clients, seconds + 2))
        await asyncio.sleep(1)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            who = buyer(rng, rng.randrange(BUYERS))
            t0 = time.perf_counter()
            await service.evaluate_payment(scope, new_id("pi"), amount=1999, currency="usd", customer=None,
                                           card_number=who["number"], ip_address=who["ip"], email=who["email"])
            timings.append(time.perf_counter() - t0)
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - t0)))
        await load
    finally:
        await infra.close_redis()
        await db.close_pool()
    return timings


async def backtests(db_url: str, account_id: str, rows: int) -> list[tuple[str, float, int, int]]:
    """Write `rows` evaluations over 30 days, then time each backtest and the plain count."""
    from bench.fraud import stored
    from server import db
    from server.context import Principal, RequestContext, Scope
    from server.fraud import radar
    from server.permissions import Role

    db.configure(db_url)
    await db.open_pool(1, 4)
    try:
        scope = Scope(account_id, False)
        t0 = time.perf_counter()
        await stored.write_evaluations(scope, rows, days=30)
        print(f"  wrote {rows} stored evaluations over 30 days in {time.perf_counter() - t0:.0f} s", flush=True)
        await stored.analyze()
        ctx = RequestContext(principal=Principal(kind="user", user_id="bench", email="bench@example.com",
                                                 role=Role.OWNER), scope_=scope)
        results = []
        for label, run in [("plain count(*)", lambda: stored.count(scope, timedelta(days=30))),
                           *[(rule, lambda rule=rule: radar.backtest(ctx, rule, 30)) for rule in RULES]]:
            await run()  # warm the cache: every figure is of rows in memory
            t0 = time.perf_counter()
            result = await run()
            elapsed = time.perf_counter() - t0
            evaluated = result if isinstance(result, int) else result.evaluated
            matched = result if isinstance(result, int) else result.matched
            results.append((label, elapsed, evaluated, matched))
        return results
    finally:
        await db.close_pool()


def start_app(port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "server.cli", "web", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)



async def setup_account(db_url: str) -> tuple[str, str]:
    from server import db
    from server.accounts.service import create_account

    db.configure(db_url)
    await db.open_pool(1, 2)
    try:
        created = await create_account("Bench Shop", f"bench-{os.getpid()}-{time.time_ns()}@example.com",
                                       "bench password 123")
    finally:
        await db.close_pool()
    return created.keys["secret_test"], created.account["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="alternations of risk on and off")
    parser.add_argument("--decision-rate", type=float, default=50.0, help="decisions/s timed under load")
    parser.add_argument("--rows", type=int, default=1_000_000, help="stored evaluations for the backtest")
    args = parser.parse_args()

    from server import embedded
    from server.payments.processor import start_simulator

    tmp = scratch_folder("paydeck-bench-fraud-")
    pg = embedded.start_postgres(tmp, fsync=True, database="bench")
    rd = embedded.start_redis(tmp / "redis", persist=False)
    sim = start_simulator(tmp / "processor")
    env = {**os.environ, "DATABASE_URL": pg.url, "REDIS_URL": rd.url, "PAYDECK_PROCESSOR_URL": sim.url,
           "PAYDECK_API_RATE_LIMIT_PER_SECOND": "1000000", "PAYDECK_DB_POOL_MAX": "40",
           "PAYDECK_DATA_DIR": str(tmp), "PAYDECK_LOG_LEVEL": "WARNING"}
    ports = {"on": embedded.free_port(), "off": embedded.free_port()}
    apps = {"on": start_app(ports["on"], env),
            "off": start_app(ports["off"], {**env, "PAYDECK_RISK_ENABLED": "false"})}
    bases = {mode: f"http://127.0.0.1:{port}" for mode, port in ports.items()}
    try:
        for mode in apps:
            wait_ready(bases[mode], apps[mode])
        key, account_id = asyncio.run(setup_account(pg.url))
        print(f"radar benchmark: {os.cpu_count()} CPUs, {args.clients} clients, {args.seconds:g} s per step")
        rates: dict[str, list[float]] = {"on": [], "off": []}
        for _ in range(args.rounds):
            for mode in ("on", "off"):
                rates[mode].append(asyncio.run(closed_loop(bases[mode], key, args.clients, args.seconds)))
        on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
        print(f"  payments/s risk on {on:.0f} (runs {', '.join(f'{r:.0f}' for r in rates['on'])}), "
              f"risk off {off:.0f} (runs {', '.join(f'{r:.0f}' for r in rates['off'])}); on/off {on / off:.2f}",
              flush=True)
        timings = asyncio.run(decisions_under_load(bases["on"], key, pg.url, rd.url, account_id, args.clients,
                                                   args.seconds, args.decision_rate))
        print(f"  decision under load ({args.clients} clients paying): {len(timings)} decisions, "
              f"p50 {pct(timings, 0.5):.2f} ms, p99 {pct(timings, 0.99):.2f} ms", flush=True)
        for label, elapsed, evaluated, matched in asyncio.run(backtests(pg.url, account_id, args.rows)):
            print(f"  {label:<70} {elapsed:7.2f} s  {evaluated / elapsed:>12,.0f} rows/s  matched {matched}",
                  flush=True)
    finally:
        for app in apps.values():
            app.terminate()
            app.wait(30)
        sim.stop()
        rd.stop()
        pg.stop()


if __name__ == "__main__":
    main()
