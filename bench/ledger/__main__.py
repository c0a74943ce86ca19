"""bench/ledger: ledger transfers per second and latency, as ratios to pgbench TPC-B on the same server.

    .venv/bin/python -m bench.ledger [--seconds 5] [--clients 2,8,32,64]

Starts its own embedded PostgreSQL (fsync and synchronous_commit on: every
transfer is durably committed before it is acknowledged) and Redis in a
temporary folder. For each client count it measures, on 10 hot accounts and
on 10,000 accounts:

  pgbench   pgbench's built-in TPC-B script (the reference)
  sql       one call of the ledger_post_entry SQL function per transaction (no Python service)
  sql-x10   ten transfers per transaction (batching many transfers per commit)
  group     bench.ledger.group.post in this process: concurrent transfers batched into one commit
  service   server.customers.wallet.transfer in this process (what REST and GraphQL call)
  service-credit  server.customers.wallet.credit in this process (one customer's wallet funded)
  healthz   GET /healthz to the `paydeck web` subprocess (the trivial-request reference for http)
  http      POST /v1/transfers to a `paydeck web` subprocess
  http-credit  POST /v1/customers/{id}/credits to the same subprocess (one customer's wallet funded)
  http-get  GET /v1/customers/{id} to the same subprocess: the cheapest authenticated, logged API request

Unless --no-cpu, each mode's window also measures the CPU of each process tree (the `paydeck web`
processes, PostgreSQL, this process, Redis; bench/cpu.py): CPU ms per operation, and for the http modes
the ratio to healthz that CPU allows, measured, with an app costing nothing, and with an app costing for it
what it costs for /healthz and for http-get. In the sql, sql-x10, group
and service modes this process is the load generator and the app at once (service-credit against http-credit:
what a credit costs PostgreSQL itself, and what the HTTP path adds, the API log and events dispatcher included).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import time

from bench.cpu import Meter, Tree, Usage, Window, app_tree, ceiling_line, report
from bench.ledger.setup import Fixture, prepare
from bench.scratch import scratch_folder
from server.ids import new_id

MODES = ("sql", "sql-x10", "group", "service", "service-credit", "healthz", "http", "http-credit", "http-get")


def pgbench_tps(url: str, clients: int, seconds: int) -> float:
    from server import embedded

    out = subprocess.run([str(embedded.pgbench_path()), "-c", str(clients), "-j", str(min(clients, 4)), "-T",
                          str(seconds), "-M", "prepared", "-n", url], capture_output=True, text=True, check=True)
    match = re.search(r"tps = ([\d.]+)", out.stdout)
    assert match, out.stdout + out.stderr
    return float(match.group(1))


def pgbench_init(base_url: str) -> str:
    from server import embedded

    embedded._ensure_database(base_url, "pgbench")
    subprocess.run([str(embedded.pgbench_path()), "-i", "-s", "10", "-q", f"{base_url}/pgbench"],
                   capture_output=True, check=True)
    return f"{base_url}/pgbench"


async def run_clients(clients: int, seconds: float, one,
                      meter: Meter | None = None) -> tuple[float, list[float], Usage | None, int]:
    """Run `one(rng)` in `clients` concurrent loops for `seconds`; returns (ops/s, latencies in ms), and with a
    `meter` the CPU each process tree used over the loops and the operations they completed."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    done = 0

    async def loop(seed: int) -> None:
        nonlocal done
        rng = random.Random(seed)
        while time.perf_counter() < stop:
            started = time.perf_counter()
            n = await one(rng)  # not `done += await …`: that reads `done` before awaiting and loses counts
            done += n
            latencies.append((time.perf_counter() - started) * 1000)

    if meter:
        meter.start()
    began = time.perf_counter()
    await asyncio.gather(*[loop(i) for i in range(clients)])
    rate = done / (time.perf_counter() - began)
    return rate, latencies, meter.stop() if meter else None, done


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(fx: Fixture, mode: str, customers: list[str], clients: int, seconds: float,
                  meter: Meter | None = None):
    from server.customers import wallet
    from server.ledger import queries

    pairs = lambda rng: rng.sample(customers, 2)  # noqa: E731

    if mode == "service":
        async def one(rng):
            src, dst = pairs(rng)
            await wallet.transfer(fx.ctx, src, dst, rng.randint(1, 100), "USD")
            return 1
    elif mode == "service-credit":
        async def one(rng):
            await wallet.credit(fx.ctx, rng.choice(customers), rng.randint(1, 100), "USD", new_id("txn"))
            return 1
    elif mode == "group":
        from bench.ledger import group
        from server.ledger.service import Leg

        async def one(rng):
            a, b = pairs(rng)
            amount = rng.randint(1, 100)
            await group.post(fx.scope, "transfer", [Leg(fx.wallets[a], "USD", -amount),
                                                    Leg(fx.wallets[b], "USD", amount)])
            return 1
    elif mode == "healthz":
        async def one(rng):
            resp = await fx.http.get("/healthz")
            assert resp.status_code == 200, resp.text
            return 1
    elif mode in ("sql", "sql-x10"):
        batch = 10 if mode == "sql-x10" else 1

        async def one(rng):
            from server import db

            moves = [(fx.wallets[a], fx.wallets[b], rng.randint(1, 100)) for a, b in (pairs(rng) for _ in range(batch))]
            async with db.transaction():
                if batch > 1:  # several entries per commit: lock everything first, in id order
                    await queries.lock_accounts(fx.scope, [w for a, b, _ in moves for w in (a, b)])
                for a, b, amount in moves:
                    await queries.post_entry(fx.scope, new_id("je"), "transfer", None, "", {}, _legs(a, b, amount))
            return batch
    elif mode == "http-get":
        async def one(rng):
            resp = await fx.http.get(f"/v1/customers/{rng.choice(customers)}")
            assert resp.status_code == 200, resp.text
            return 1
    elif mode == "http-credit":
        async def one(rng):
            resp = await fx.http.post(f"/v1/customers/{rng.choice(customers)}/credits", json={
                "amount": rng.randint(1, 100), "currency": "USD", "transaction_id": new_id("txn")})
            assert resp.status_code == 202, resp.text
            return 1
    else:
        async def one(rng):
            src, dst = pairs(rng)
            resp = await fx.http.post("/v1/transfers", json={"from_customer": src, "to_customer": dst,
                                                             "amount": rng.randint(1, 100), "currency": "USD"})
            assert resp.status_code == 200, resp.text
            return 1
    return await run_clients(clients, seconds, one, meter)


def _legs(a: str, b: str, amount: int) -> list[tuple[str, str, int]]:
    return [(a, "USD", -amount), (b, "USD", amount)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", default="2,8,32,64")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--no-cpu", action="store_true",
                        help="leave out the CPU per operation of each process tree (bench/cpu.py)")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]
    modes = args.modes.split(",")
    tmp = scratch_folder("paydeck-bench-")
    async with prepare(tmp, max(client_counts)) as fx:
        pg_url = pgbench_init(fx.base_url)
        app_label = "app: `paydeck web`"
        meter = None if args.no_cpu else Meter([
            app_tree(app_label, fx.pids["app"]), Tree("PostgreSQL", fx.pids["postgres"]),
            Tree("load generator (this process)", os.getpid(), descendants=False, cores=1),
            Tree("Redis", fx.pids["redis"])])
        cpu_reports: list[str] = []
        rows = []
        print(f"{'clients':>7} {'accounts':>8} {'mode':>11} {'tps':>9} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'×healthz':>8}")
        trivial: dict[tuple[int, str], float] = {}  # healthz requests/s: the reference of http
        for clients in client_counts:
            ref = pgbench_tps(pg_url, clients, int(max(args.seconds, 1)))
            print(f"{clients:>7} {'-':>8} {'pgbench':>11} {ref:>9.0f} {1:>6.2f}", flush=True)
            rows.append((clients, "-", "pgbench", ref, 1.0, None, None, None))
            for label, customers in (("10", fx.hot), ("10000", fx.wide)):
                windows: dict[str, Window] = {}
                measured: dict[str, float | None] = {}
                for mode in modes:
                    await measure(fx, mode, customers, clients, 1.0)  # warm up: connections, plans
                    tps, lat, used, done = await measure(fx, mode, customers, clients, args.seconds, meter)
                    p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
                    if mode == "healthz":
                        trivial[(clients, label)] = tps
                    reference = trivial.get((clients, label)) if mode.startswith("http") else None
                    vs_trivial = tps / reference if reference else None
                    rows.append((clients, label, mode, tps, tps / ref, p50, p99, vs_trivial))
                    shown = f"{vs_trivial:>8.2f}" if vs_trivial is not None else f"{'':>8}"
                    print(f"{clients:>7} {label:>8} {mode:>11} {tps:>9.0f} {tps / ref:>6.2f} {p50:>7.1f} {p99:>7.1f} "
                          f"{shown}", flush=True)
                    measured[mode] = vs_trivial
                    if used:
                        windows[mode] = Window(mode, done, used)
                if windows:
                    stand_ins = tuple(windows[m] for m in ("healthz", "http-get") if m in windows)
                    lines = [ceiling_line(f"{mode} ÷ healthz", windows["healthz"], windows[mode], app_label,
                                          measured=measured[mode],
                                          stand_ins=tuple(w for w in stand_ins if w.name != mode))
                             for mode in windows if mode.startswith("http") and "healthz" in windows]
                    cpu_reports.append(f"{clients} clients, {label} customers. "
                                       + report(list(windows.values()), lines))
        for shown_report in cpu_reports:
            print("\n" + shown_report)
        print("\nMarkdown:\n\n| clients | accounts | mode | transfers/s | × pgbench | p50 ms | p99 ms | × healthz |")
        print("|---|---|---|---|---|---|---|---|")
        for c, label, mode, tps, ratio, p50, p99, vs_trivial in rows:
            lat = f"{p50:.1f} | {p99:.1f}" if p50 is not None else "– | –"
            shown = f"{vs_trivial:.2f}" if vs_trivial is not None else "–"
            print(f"| {c} | {label} | {mode} | {tps:.0f} | {ratio:.2f} | {lat} | {shown} |")


if __name__ == "__main__":
    os.environ.setdefault("PAYDECK_LOG_LEVEL", "WARNING")
    sys.exit(asyncio.run(main()))
