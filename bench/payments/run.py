"""Payments benchmark: confirmed payments per second over HTTP, and latency at a fixed rate.

    .venv/bin/python -m bench.payments.run [--seconds 5] [--clients 2,4,8,16,32,64] [--rates 50,200] [--keyed]
                                           [--open-seconds 30] [--edits-per-second 10] [--no-cpu]

Starts its own embedded PostgreSQL, Redis and processor simulator, and the app
as a separate `paydeck web` (--processes web processes, default one per core, no background jobs), all on
this machine. A "confirmed payment" is the two calls a merchant makes: create
the intent, then confirm it with a card that succeeds (which includes the
processor round trip and the ledger postings). For reference, the same run
measures a trivial endpoint (GET /healthz) through the same HTTP stack and
client, and the database alone (raw asyncpg: the same INSERT + UPDATE pair).
With --keyed it also measures the same payments with an Idempotency-Key on
both calls, and prints their rate as a ratio of the unkeyed one.

During each open loop, account edits arrive at their own fixed rate
(--edits-per-second, alternating): a customer update (`POST /v1/customers/{id}`)
and an account settings change (GraphQL `updateAccountSettings`); their
p50/p99 is printed beside the payments', with how many edits it was taken over.

Unless --no-cpu, each closed loop and open loop also measures the CPU of each
process tree (the app's web processes, PostgreSQL, this load generator, the
simulator, Redis; bench/cpu.py) and prints CPU ms per confirmed payment and per
/healthz request, and the ratio payments ÷ (healthz ÷ 2) that CPU allows with
both cores saturated, measured and with an app costing nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator

import httpx

from bench.cpu import Meter, Tree, Usage, Window, app_tree, ceiling_line, report
from bench.ready import wait_ready
from bench.scratch import scratch_folder

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else float("nan")


def rank_of_p99(n: int) -> str:
    """Which sample `pct(…, 0.99)` is, so a p99 over few samples shows as the maximum it nearly is."""
    if not n:
        return "no samples"
    from_top = n - min(n - 1, int(n * 0.99))
    return f"p99 over {n} edits: the largest" if from_top == 1 else f"p99 over {n} edits: largest but {from_top - 1}"


async def pay(client: httpx.AsyncClient) -> None:
    pi = await client.post("/v1/payment_intents", json={"amount": 1999, "currency": "usd"})
    done = await client.post(f"/v1/payment_intents/{pi.json()['id']}/confirm", json={"card": CARD})
    assert done.json()["status"] == "succeeded", done.text


async def pay_keyed(client: httpx.AsyncClient) -> None:
    """The same payment, each call with its own Idempotency-Key (claim, bound effects, stored response)."""
    pi = await client.post("/v1/payment_intents", json={"amount": 1999, "currency": "usd"},
                           headers={"Idempotency-Key": secrets.token_hex(12)})
    done = await client.post(f"/v1/payment_intents/{pi.json()['id']}/confirm", json={"card": CARD},
                             headers={"Idempotency-Key": secrets.token_hex(12)})
    assert done.json()["status"] == "succeeded", done.text


def reason(error: Exception) -> str:
    """What a failed payment or edit ran into, short enough to count alike failures together."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text[:160]}"


async def healthz(client: httpx.AsyncClient) -> None:
    (await client.get("/healthz")).raise_for_status()


# Connections per httpx client. httpcore's pool looks over all of its connections, twice over for idle ones,
# each time a request starts or ends: at 32 connections in one client the load generator spent 1.3 ms of CPU per
# /healthz (0.8 at 8), at 256 it spent 17-21 ms per payment and was the bottleneck of the 200/s open loop.
PER_CLIENT = 8
FAILURES: Counter[str] = Counter()  # why payments and edits of the current open loop failed


@contextlib.asynccontextmanager
async def clients_for(base: str, key: str, connections: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """httpx clients with `connections` keep-alive connections in all, at most PER_CLIENT each."""
    sizes = [min(PER_CLIENT, connections - i) for i in range(0, connections, PER_CLIENT)]
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60,
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size))) for size in sizes]


async def closed_loop(base: str, key: str, clients: int, seconds: float, op,
                      meter: Meter | None = None) -> tuple[float, Usage | None, int]:
    """`clients` loops doing `op` back to back; returns completed ops per second, and with a `meter` the CPU
    each process tree used over the loops (after the warm-up) and the ops they completed."""
    done = 0
    async with clients_for(base, key, clients) as pools:
        for client in pools:
            await op(client)  # warm the connection pools
        end = time.monotonic() + seconds

        async def loop(i: int) -> None:
            nonlocal done
            client = pools[i // PER_CLIENT]
            while time.monotonic() < end:
                await op(client)
                done += 1

        if meter:
            meter.start()
        start = time.monotonic()
        await asyncio.gather(*[loop(i) for i in range(clients)])
        rate = done / (time.monotonic() - start)
        return rate, meter.stop() if meter else None, done


CONNECTIONS = 256  # the open loop's connections, and so its payments in flight (a multiple of PER_CLIENT)

SETTINGS = "mutation($name: String) { updateAccountSettings(input: {name: $name}) { __typename } }"


async def edit_customer(client: httpx.AsyncClient, customer_id: str, i: int) -> None:
    done = await client.post(f"/v1/customers/{customer_id}", json={"name": f"Edited {i}"})
    assert done.status_code == 200, done.text


async def edit_settings(dashboard: httpx.AsyncClient, i: int) -> None:
    done = await dashboard.post("/graphql", json={"query": SETTINGS, "variables": {"name": f"Bench Shop {i}"}})
    assert done.json()["data"]["updateAccountSettings"]["__typename"] == "AccountPayload", done.text


def _csrf(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def signed_in(base: str, email: str) -> httpx.AsyncClient:
    """A dashboard session (settings are changed there; API keys may not), with its CSRF token."""
    dashboard = httpx.AsyncClient(base_url=base, timeout=60)
    form = {"_csrf": _csrf((await dashboard.get("/login")).text), "email": email, "password": PASSWORD, "next": "/"}
    assert (await dashboard.post("/login", data=form)).status_code == 303, "could not sign in"
    dashboard.headers["x-csrf-token"] = _csrf((await dashboard.get("/settings")).text)
    return dashboard


async def edits_loop(client: httpx.AsyncClient, dashboard: httpx.AsyncClient, rate: float,
                     seconds: float) -> tuple[list[float], int]:
    """Account edits at `rate`/s (a customer update, then a settings change, in turn); latencies and failures."""
    customer = (await client.post("/v1/customers", json={"name": "Edited", "email": "edits@example.com"})).json()
    latencies: list[float] = []
    failures = 0

    async def one(i: int) -> None:
        nonlocal failures
        t0 = time.monotonic()
        try:
            await (edit_customer(client, customer["id"], i) if i % 2 else edit_settings(dashboard, i))
        except (httpx.HTTPError, AssertionError, ValueError, KeyError, TypeError) as error:
            failures += 1
            FAILURES[f"edit: {reason(error)}"] += 1
            return
        latencies.append(time.monotonic() - t0)

    tasks = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return latencies, failures


async def open_loop(base: str, key: str, rate: float, seconds: float, edits_rate: float = 0,
                    email: str = "", meter: Meter | None = None
                    ) -> tuple[list[float], int, int, tuple[list[float], int], Usage | None]:
    """Start a payment every 1/rate s regardless of completions; latency of each create+confirm, and failures;
    and, alongside, the latencies and failures of account edits at `edits_rate`/s; with a `meter`, the CPU each
    process tree used from the first arrival until the last payment and edit finished.

    At most CONNECTIONS payments are in flight, each on a connection of its own; the others wait for a turn,
    their latency counted from their arrival. They used to share one httpx client of 256 connections, whose pool
    work grows with its connections squared (PER_CLIENT): the load generator spent 17-21 ms of CPU per payment,
    became the bottleneck on its one core and measured itself. The edits have a client of their own (another
    user's, not queued behind the merchant's payments)."""
    latencies: list[float] = []
    failures = 0
    async with clients_for(base, key, CONNECTIONS) as pools, \
            httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as editor:
        turns: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in pools:
            await pay(client)
            for _ in range(PER_CLIENT):
                turns.put_nowait(client)

        async def one() -> None:
            nonlocal failures
            t0 = time.monotonic()
            client = await turns.get()
            try:
                await pay(client)
            except (httpx.HTTPError, AssertionError, ValueError, KeyError) as error:
                failures += 1
                FAILURES[f"payment: {reason(error)}"] += 1
                return
            finally:
                turns.put_nowait(client)
            latencies.append(time.monotonic() - t0)

        dashboard = await signed_in(base, email) if edits_rate else None
        edits = asyncio.create_task(edits_loop(editor, dashboard, edits_rate, seconds)) if dashboard else None
        tasks = []
        if meter:
            meter.start()
        start = time.monotonic()
        n = int(rate * seconds)
        for i in range(n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        edited = await edits if edits else ([], 0)
        usage = meter.stop() if meter else None
        if dashboard:
            await dashboard.aclose()
        return latencies, n, failures, edited, usage


async def raw_db(url: str, clients: int, seconds: float) -> float:
    """The database alone: one INSERT and one UPDATE of a payment_intents row per iteration."""
    import asyncpg

    from server.ids import new_id

    pool = await asyncpg.create_pool(url, min_size=clients, max_size=clients)
    done = 0
    end = time.monotonic() + seconds

    async def loop() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.monotonic() < end:
                pid = new_id("pi")
                await conn.execute(
                    "INSERT INTO payment_intents (id, account_id, livemode, status, amount, currency, capture_method, "
                    "amount_capturable, amount_received, amount_refunded, fee, description, metadata, client_secret, "
                    "disputed, created, updated) VALUES ($1, 'acct_bench_raw', false, 'requires_payment_method', "
                    "1999, 'USD', 'automatic', 0, 0, 0, 0, '', '{}', 's', false, now(), now())", pid)
                await conn.execute("UPDATE payment_intents SET status = 'succeeded', amount_received = 1999 "
                                   "WHERE id = $1", pid)
                done += 1

    start = time.monotonic()
    await asyncio.gather(*[loop() for _ in range(clients)])
    rate = done / (time.monotonic() - start)
    await pool.close()
    return rate


PASSWORD = "bench password 123"


async def setup_account(db_url: str) -> tuple[str, str]:
    """A new account's secret test key and its owner's email."""
    from server import db
    from server.accounts.service import create_account

    db.configure(db_url)
    await db.open_pool(1, 2)
    try:
        email = f"bench-{os.getpid()}-{time.time_ns()}@example.com"
        created = await create_account("Bench Shop", email, PASSWORD)
    finally:
        await db.close_pool()
    return created.keys["secret_test"], email


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="2,4,8,16,32,64")
    parser.add_argument("--rates", default="50,200", help="open-loop rates (payments/s) to measure latency at")
    parser.add_argument("--keyed", action="store_true", help="also measure payments sent with Idempotency-Keys")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="web processes of the app (`paydeck web --processes`; default one per core)")
    parser.add_argument("--open-seconds", type=float, default=None,
                        help="length of each open loop (default: --seconds, at least 10)")
    parser.add_argument("--edits-per-second", type=float, default=10.0,
                        help="account edits (customer update, settings change) during each open loop")
    parser.add_argument("--no-cpu", action="store_true",
                        help="leave out the CPU per payment of each process tree (bench/cpu.py)")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",") if c]  # none: only the open loops

    from server import embedded
    from server.payments.processor import start_simulator

    tmp = scratch_folder("paydeck-bench-")
    pg = embedded.start_postgres(tmp, fsync=True, database="bench")
    rd = embedded.start_redis(tmp / "redis", persist=False)
    sim = start_simulator(tmp / "processor")
    port = embedded.free_port()
    env = {**os.environ, "DATABASE_URL": pg.url, "REDIS_URL": rd.url, "PAYDECK_PROCESSOR_URL": sim.url,
           "PAYDECK_API_RATE_LIMIT_PER_SECOND": "1000000", "PAYDECK_DB_POOL_MAX": "40",
           "PAYDECK_DATA_DIR": str(tmp), "PAYDECK_LOG_LEVEL": "WARNING"}
    app = subprocess.Popen([sys.executable, "-m", "server.cli", "web", "--port", str(port),
                            "--processes", str(args.processes)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, app)
        key, email = asyncio.run(setup_account(pg.url))
        meter = None if args.no_cpu else Meter([
            app_tree(f"app: `paydeck web --processes {args.processes}`", app.pid), Tree("PostgreSQL", pg.pid),
            Tree("load generator (this process)", os.getpid(), descendants=False, cores=1),
            Tree("processor simulator", sim.pid, cores=1), Tree("Redis", rd.pid)])
        app_label = meter.trees[0].label if meter else ""
        windows: list[Window] = []
        ratios: list[str] = []
        print(f"payments benchmark: {os.cpu_count()} CPUs, {args.seconds:g} s per step, "
              f"{args.processes} app process(es)")
        keyed_head = f" {'keyed/s':>8} {'keyed/unkeyed':>14}" if args.keyed else ""
        print(f"{'clients':>8} {'payments/s':>11} {'healthz/s':>10} {'raw db pairs/s':>15} {'ratio':>6}{keyed_head}")
        for n in clients:
            payments, paid, paid_n = asyncio.run(closed_loop(base, key, n, args.seconds, pay, meter))
            trivial, probed, probed_n = asyncio.run(closed_loop(base, key, n, args.seconds, healthz, meter))
            raw = asyncio.run(raw_db(pg.url, min(n, 32), args.seconds))
            keyed = ""
            if args.keyed:
                rate, _, _ = asyncio.run(closed_loop(base, key, n, args.seconds, pay_keyed))
                keyed = f" {rate:>8.0f} {rate / payments:>14.2f}"
            measured = payments / (trivial / 2)
            print(f"{n:>8} {payments:>11.0f} {trivial:>10.0f} {raw:>15.0f} {measured:>6.2f}{keyed}", flush=True)
            if paid and probed:
                paid_w, probed_w = Window(f"payment, {n} clients", paid_n, paid), Window(f"healthz, {n} clients",
                                                                                           probed_n, probed)
                windows += [paid_w, probed_w]
                ratios.append(ceiling_line(f"payments ÷ (healthz ÷ 2) at {n} clients", probed_w, paid_w, app_label,
                                           2, measured))
        open_seconds = args.open_seconds or max(args.seconds, 10)
        for rate in [float(r) for r in args.rates.split(",") if r]:
            latencies, started, failed, (edits, edit_failures), used = asyncio.run(
                open_loop(base, key, rate, open_seconds, args.edits_per_second, email, meter))
            wall = statistics.fmean(latencies) * 1000 if latencies else float("nan")
            print(f"open loop at {rate:g}/s for {open_seconds:g} s: {len(latencies)}/{started} confirmed, "
                  f"{failed} failed; "
                  f"create+confirm p50 {pct(latencies, 0.5):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms, "
                  f"mean {wall:.1f} ms", flush=True)
            if used:
                print(f"  whole run {used.wall:.1f} s for {open_seconds:g} s of arrivals "
                      f"({len(latencies) / used.wall:.0f} confirmed/s)", flush=True)
                windows.append(Window(f"payment, open {rate:g}/s (+ edits)", len(latencies), used))
            if args.edits_per_second:
                print(f"  account edits at {args.edits_per_second:g}/s alongside: {len(edits)} done, "
                      f"{edit_failures} failed; p50 {pct(edits, 0.5):.1f} ms, p99 {pct(edits, 0.99):.1f} ms "
                      f"({rank_of_p99(len(edits))})", flush=True)
            for what, count in FAILURES.most_common():
                print(f"  failed {count}×: {what}", flush=True)
            FAILURES.clear()
        if windows:
            print("\n" + report(windows, ratios), flush=True)
    finally:
        app.terminate()
        app.wait(30)
        sim.stop()
        rd.stop()
        pg.stop()


if __name__ == "__main__":
    main()
