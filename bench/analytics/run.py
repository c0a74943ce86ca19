"""Analytics benchmarks: freshness, cost independent of data size, the bulk writer, log ingest overhead.

    .venv/bin/python -m bench.analytics.run                       # sizes 100,000 and 1,000,000 payments
    .venv/bin/python -m bench.analytics.run --sizes 10000,100000 --samples 50 --no-write

Starts embedded PostgreSQL and Redis in a temporary folder (or uses DATABASE_URL / REDIS_URL) and
writes its section of BENCHMARKS.md. Each figure has a reference measured in the same run:
- freshness: commit of a payment (its confirm response) → counted in `service.summary`, against
  commit → positioned by the event dispatcher (what the follower waits for);
- scale: p95 of summary + daily timeseries over 90 days at the larger size ÷ at the smaller size,
  both seeded by the bulk writer (`server/analytics/backfill.seed`) over the same 90 days, then
  timed in alternation;
- bulk writer: payments/s including their ledger entries and the rebuild of their rollups;
- log ingest: the log writer's COPY with the API rollups in its transaction ÷ the same without them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from datetime import UTC, datetime, timedelta

from bench.scratch import scratch_folder
from bench.sections import write_section


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def _owner_ctx(name: str):
    from server.accounts.service import create_account
    from server.context import Principal, RequestContext, Scope
    from server.permissions import Role

    created = await create_account(name, f"bench-{time.time_ns()}@example.com", "bench-password-1")
    ctx = RequestContext(principal=Principal(kind="user", user_id=created.user["id"], role=Role.OWNER),
                         scope_=Scope(created.account["id"], False))
    return created, ctx


async def bench_freshness(samples: int) -> dict:
    import httpx
    import uvicorn

    from server import db, embedded
    from server.analytics import service
    from server.app import create_app
    from server.settings import get_settings

    created, ctx = await _owner_ctx("Bench Freshness")
    headers = {"Authorization": f"Bearer {created.keys['secret_test']}"}
    port = embedded.free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(get_settings(), run_workers=True), host="127.0.0.1",
                                           port=port, lifespan="on", log_level="warning"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    visible, positioned = [], []
    start = datetime.now(UTC) - timedelta(minutes=1)
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        for n in range(1, samples + 1):
            pi = (await client.post("/v1/payment_intents", json={"amount": 1000 + n, "currency": "usd"})).json()
            resp = await client.post(f"/v1/payment_intents/{pi['id']}/confirm", json={"card": card})
            committed = time.perf_counter()
            assert resp.json()["status"] == "succeeded", resp.text
            seen_position = None
            while True:
                if seen_position is None and (await db.fetchrow(
                        "SELECT pos FROM events WHERE object_id = $1 AND type = 'payment_intent.succeeded'",
                        pi["id"]))["pos"] is not None:
                    seen_position = time.perf_counter() - committed
                summary = await service.summary(ctx, start, datetime.now(UTC) + timedelta(minutes=1))
                if summary.metric("successful_payments").current.value >= n:
                    visible.append((time.perf_counter() - committed) * 1000)
                    positioned.append((seen_position or time.perf_counter() - committed) * 1000)
                    break
                await asyncio.sleep(0.005)
    server.should_exit = True
    await task
    await db.open_pool(2, 10)
    return {"samples": samples, "visible_p50": pct(visible, 50), "visible_p99": pct(visible, 99),
            "visible_max": max(visible), "positioned_p50": pct(positioned, 50),
            "positioned_p99": pct(positioned, 99)}


async def bench_scale(sizes: list[int], repeats: int) -> dict:
    """Seed every size first, let PostgreSQL settle (VACUUM ANALYZE, as autovacuum would in time), then time
    the sizes in alternation, so background work hits all of them alike."""
    from server import db
    from server.analytics import backfill, service
    from server.context import Scope

    out, contexts = {}, {}
    now = datetime.now(UTC)
    for size in sizes:
        created, ctx = await _owner_ctx(f"Bench {size}")
        started = time.perf_counter()
        written = await backfill.seed(Scope(created.account["id"], False), payments=size, days=90, now=now)
        seconds = time.perf_counter() - started
        print(f"  seeded {written.payments:,} payments in {seconds:.1f}s", flush=True)
        out[size] = {"payments": written.payments, "seed_seconds": seconds}
        contexts[size] = ctx
    for table in ("payment_intents", "refunds", "customers", "credits", "transfers", "journal_entries", "postings",
                  "ledger_accounts", "analytics_facts", "analytics_rollups", "analytics_rollups_hourly",
                  "analytics_rollups_daily"):
        await db.execute(f"VACUUM ANALYZE {table}")
    timings: dict[int, list[float]] = {size: [] for size in sizes}
    for i in range(repeats + 5):
        for size in sizes:
            t0 = time.perf_counter()
            await service.summary(contexts[size], now - timedelta(days=90), now, timezone="America/New_York")
            await service.timeseries(contexts[size], now - timedelta(days=90), now, interval="day",
                                     timezone="America/New_York")
            if i >= 5:  # warm-up
                timings[size].append((time.perf_counter() - t0) * 1000)
    for size in sizes:
        out[size].update(p50=pct(timings[size], 50), p95=pct(timings[size], 95))
        print(f"  size {size:,}: {out[size]}", flush=True)
    return out


async def bench_ingest(rows: int) -> dict:
    from server.analytics import api_rollups
    from server.apilogs import records
    from server.apilogs.writer import LogWriter
    from server.settings import get_settings
    from tests.apilogs.helpers import capture

    settings = get_settings().model_copy(update={"apilog_batch_size": 5_000})
    timings: dict[str, list[float]] = {"with": [], "without": []}
    original = api_rollups.record

    async def nothing(rows, columns) -> None:
        return None

    for label in ("without", "with") * 3:  # alternate, so background work hits both alike
        account = f"acct_bench_{label}{time.time_ns()}"
        captures = [capture(account, method="POST", path=f"/v1/payment_intents/pi_{i:026d}/confirm", status=200,
                            body={"amount": 2000, "currency": "usd"}, response={"id": f"pi_{i}"})
                    for i in range(rows)]
        assert records.build(captures[0], settings.apilog_body_max_bytes) is not None
        writer = LogWriter(settings)
        for c in captures:
            writer.add(c)
        api_rollups.record = original if label == "with" else nothing  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            await writer.flush()
            timings[label].append(rows / (time.perf_counter() - started))
        finally:
            api_rollups.record = original  # type: ignore[assignment]
    return {"rows": rows, "with": sorted(timings["with"])[1], "without": sorted(timings["without"])[1]}




async def main_async(args) -> str:
    from server import db, infra
    from server.runtime import migrate
    from server.settings import get_settings

    await migrate(quiet=True)
    await db.open_pool(2, 10)
    await infra.open_redis(get_settings().redis_url)
    try:
        ingest = await bench_ingest(args.ingest_rows)
        print("ingest", ingest, flush=True)
        fresh = await bench_freshness(args.samples)
        print("freshness", fresh, flush=True)
        scale = await bench_scale(args.sizes, args.repeats)
    finally:
        await infra.close_redis()
        await db.close_pool()
    small, large = min(scale), max(scale)
    ratio = scale[large]["p95"] / scale[small]["p95"]
    rate = scale[large]["payments"] / scale[large]["seed_seconds"]
    sizes = ",".join(str(s) for s in args.sizes)
    return "\n".join([
        "## Analytics", "",
        f"`.venv/bin/python -m bench.analytics.run --sizes {sizes} --samples {args.samples}` (embedded PostgreSQL "
        f"and Redis, {os.cpu_count()} cores; {datetime.now(UTC):%Y-%m-%d}).", "",
        "| measure | Paydeck | reference (same run) | ratio |", "|---|---|---|---|",
        f"| freshness: confirm response → counted in `service.summary`, {fresh['samples']} payments one at a time "
        f"| p50 {fresh['visible_p50']:.0f} ms, p99 {fresh['visible_p99']:.0f} ms, max {fresh['visible_max']:.0f} ms "
        f"| → positioned by the event dispatcher: p50 {fresh['positioned_p50']:.0f} ms, p99 "
        f"{fresh['positioned_p99']:.0f} ms | p99 {fresh['visible_p99'] / max(fresh['positioned_p99'], 1e-9):.2f}× |",
        f"| summary + daily timeseries over 90 days, p95 ({args.repeats} runs each) | {scale[large]['p95']:.1f} ms "
        f"at {scale[large]['payments']:,} payments | {scale[small]['p95']:.1f} ms at {scale[small]['payments']:,} "
        f"payments | {ratio:.2f} |",
        f"| bulk writer: payments with their customers, refunds, credits, transfers, ledger entries and rollups "
        f"| {rate:,.0f} payments/s ({scale[large]['payments']:,} in {scale[large]['seed_seconds']:.0f} s) | — | — |",
        f"| log ingest, {ingest['rows']:,} requests: COPY with the API rollups in its transaction | "
        f"{ingest['with']:,.0f} rows/s | without the rollups: {ingest['without']:,.0f} rows/s | "
        f"{ingest['with'] / ingest['without']:.2f} |", "",
        f"Aims: visible ≤ 5 s after commit — {'met' if fresh['visible_max'] < 5000 else 'not met'} (max "
        f"{fresh['visible_max'] / 1000:.2f} s); p95 at {large:,} ÷ p95 at {small:,} ≤ 1.5 — "
        f"{'met' if ratio <= 1.5 else 'not met'}.", "",
        "Reading these figures: the follower is woken by the NOTIFY of each commit and applies the event as soon as "
        "the dispatcher has positioned it, so freshness is the dispatcher's latency plus one small transaction. The "
        "summary and the chart read rollup rows, not payments (UTC days inside the range, hours for New York's local "
        "days): both sizes fill about the same rows, so the cost stays flat as payments grow. Both sizes are timed "
        "in alternation after VACUUM ANALYZE; timed straight after writing a million payments (autovacuum busy on "
        "the same 2 cores) an earlier run saw p95 245 ms against p50 61 ms.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="100000,1000000", help="payments per account, comma-separated")
    parser.add_argument("--samples", type=int, default=100, help="payments timed for freshness")
    parser.add_argument("--repeats", type=int, default=50, help="summary + timeseries runs per size")
    parser.add_argument("--ingest-rows", type=int, default=20_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    import logging

    from server import embedded
    from server.settings import get_settings

    logging.getLogger("httpx").setLevel(logging.WARNING)
    tmp = scratch_folder("paydeck-bench-")
    started = []
    if not os.environ.get("DATABASE_URL"):
        pg = embedded.start_postgres(tmp, database="paydeck_bench")
        started.append(pg)
        os.environ["DATABASE_URL"] = pg.url
    if not os.environ.get("REDIS_URL"):
        rd = embedded.start_redis(tmp / "redis", persist=False)
        started.append(rd)
        os.environ["REDIS_URL"] = rd.url
    os.environ["PAYDECK_API_RATE_LIMIT_PER_SECOND"] = "1000000"
    get_settings.cache_clear()
    if not get_settings().processor_url:
        from server.payments.processor import start_simulator

        started.append(start_simulator(tmp / "processor"))
    from server import db

    db.configure(os.environ["DATABASE_URL"])
    try:
        text = asyncio.run(main_async(args))
    finally:
        for proc in reversed(started):
            proc.stop()
    print(text)
    if not args.no_write:
        write_section("analytics", text)


if __name__ == "__main__":
    main()
