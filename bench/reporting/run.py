"""Reporting benchmark: a CSV export of a million payments over HTTP against PostgreSQL's own COPY of the rows.

    .venv/bin/python -m bench.reporting.run                    # 1,000,000 payments
    .venv/bin/python -m bench.reporting.run --payments 100000 --no-write

Starts embedded PostgreSQL and Redis in a temporary folder (or uses DATABASE_URL / REDIS_URL), seeds one
account with the bulk demo writer (`server/analytics/backfill.seed`) and writes its section of BENCHMARKS.md:
- export: rows/s of `GET /v1/exports/payment_intents` read to its end over HTTP by a client (the app
  serving it in this process), against rows/s of `COPY (the same query) TO STDOUT` into a sink that
  discards it, run on one connection; timed in alternation, the median of each;
- memory: the process's peak resident memory before and after the exports (constant memory: a few
  chunks in flight, whatever the size).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.analytics.run import _owner_ctx
from bench.sections import write_section


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bench_export(payments: int, repeats: int) -> dict:
    import httpx
    import uvicorn

    from server import db, embedded
    from server.analytics import backfill
    from server.app import create_app
    from server.context import Scope
    from server.reporting import queries
    from server.settings import get_settings

    created, _ = await _owner_ctx("Bench Export")
    scope = Scope(created.account["id"], False)
    started = time.perf_counter()
    written = await backfill.seed(scope, payments=payments, days=90)
    print(f"  seeded {written.payments:,} payments in {time.perf_counter() - started:.1f}s", flush=True)
    await db.execute("VACUUM ANALYZE payment_intents")
    headers = {"Authorization": f"Bearer {created.keys['secret_test']}"}
    port = embedded.free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(get_settings(), run_workers=False), host="127.0.0.1",
                                           port=port, lifespan="on", log_level="warning"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    query = queries.payments(scope, None, None, "UTC", None)  # what the export runs: every payment, oldest first
    rates: dict[str, list[float]] = {"export": [], "copy": []}
    rows = {"export": 0, "copy": 0}
    memory_before = peak_mib()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=600) as client:
            for _ in range(repeats):
                t0 = time.perf_counter()
                lines = 0
                async with client.stream("GET", "/v1/exports/payment_intents") as resp:
                    assert resp.status_code == 200
                    async for chunk in resp.aiter_bytes():
                        lines += chunk.count(b"\n")
                rows["export"] = lines - 1  # the header
                rates["export"].append(rows["export"] / (time.perf_counter() - t0))

                async def discard(_: bytes) -> None:
                    return None

                t0 = time.perf_counter()
                async with db.transaction() as txn:
                    status = await txn.connection.copy_from_query(query.sql, *query.args, output=discard, format="csv",
                                                        header=True)
                rows["copy"] = int(str(status).rsplit(" ", 1)[-1])
                rates["copy"].append(rows["copy"] / (time.perf_counter() - t0))
    finally:
        server.should_exit = True
        await task
    assert rows["export"] == rows["copy"] == written.payments, (rows, written.payments)
    return {"rows": rows["export"], "export": statistics.median(rates["export"]),
            "copy": statistics.median(rates["copy"]), "memory_before": memory_before, "memory_after": peak_mib()}




async def main_async(args) -> str:
    from server import db, infra
    from server.runtime import migrate
    from server.settings import get_settings

    await migrate(quiet=True)
    await db.open_pool(2, 10)
    await infra.open_redis(get_settings().redis_url)
    try:
        out = await bench_export(args.payments, args.repeats)
    finally:
        await infra.close_redis()
        await db.close_pool()
    print("export", out, flush=True)
    ratio = out["export"] / out["copy"]
    return "\n".join([
        "## Reporting", "",
        f"`.venv/bin/python -m bench.reporting.run --payments {args.payments} --repeats {args.repeats}` (embedded "
        f"PostgreSQL and Redis, {os.cpu_count()} cores; {datetime.now(UTC):%Y-%m-%d}).", "",
        "| measure | Paydeck | reference (same run) | ratio |",
        "|---|---|---|---|",
        f"| CSV export of {out['rows']:,} payments: `GET /v1/exports/payment_intents` read over HTTP, median of "
        f"{args.repeats} | {out['export']:,.0f} rows/s | `COPY (same query) TO STDOUT` on one connection: "
        f"{out['copy']:,.0f} rows/s | {ratio:.2f} |",
        f"| peak memory of the process (app and client) across the exports | {out['memory_after']:,.0f} MiB | "
        f"before them: {out['memory_before']:,.0f} MiB | {out['memory_after'] / out['memory_before']:.2f} |",
        "",
        f"Aim: export rows/s ÷ COPY rows/s ≥ 0.5 — {'met' if ratio >= 0.5 else 'NOT met'}.",
        "",
        "Reading these figures: the export is the COPY itself (`server/reporting/stream.py`), its chunks handed "
        "through a queue of 8 to the HTTP response, so the difference is HTTP and the client reading it in the same "
        "process on 2 cores. Report runs' itemized files are made by the same COPY.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="exports (and COPYs) timed, in alternation")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    import logging

    from server import embedded
    from server.settings import get_settings

    logging.getLogger("httpx").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="paydeck-bench-"))
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
    from server import db

    db.configure(os.environ["DATABASE_URL"])
    try:
        text = asyncio.run(main_async(args))
    finally:
        for proc in reversed(started):
            proc.stop()
    print(text)
    if not args.no_write:
        write_section("reporting", text)


if __name__ == "__main__":
    main()
