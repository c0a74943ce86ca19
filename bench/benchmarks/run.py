"""Seller benchmarks: accuracy of the released quartiles, and the time a month's releases take.

    .venv/bin/python -m bench.benchmarks.run                          # accuracy and time (10,000 sellers)
    .venv/bin/python -m bench.benchmarks.run --sellers 2000 --trials 50

- **Accuracy**: the p95 rank error, in percentile points, of released quantiles against the exact
  ones (`mechanism.p95_rank_error`: how far a released value's rank is from the quantile it stands
  for), by cohort size (100, 500, 1,000, 5,000), ε per quantile, and metric, over repeated releases
  of realistic cohorts. The reference in the same run is the same measure for an exact quantile
  rounded to the metric's grid: the part of the error the grid alone causes.
- **Time**: a month's releases for N sellers across every cohort (`service.compute_period`: reading
  the month from the rollups and source tables, the DP counts and quantiles, storing releases, the
  sellers' values and the budget ledger), on a database holding the demo marketplace generator's
  N sellers. Reference in the same run: the same month's inputs read alone (`service.month_inputs`),
  and the in-memory planning alone (`releases.plan_period`).

Starts embedded PostgreSQL and Redis in a temporary folder (or uses DATABASE_URL / REDIS_URL) and
writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import tempfile
import time
from pathlib import Path

from bench import sections

SIZES = (100, 500, 1_000, 5_000)
EPSILONS = (0.16, 0.25, 0.48, 1.0)


def cohort(metric: str, n: int, rng: random.Random) -> list[float]:
    """A realistic cohort of a metric: skewed, with a few outliers beyond the bounds."""
    draw = {
        "conversion_rate": lambda: min(1.0, max(0.0, rng.betavariate(8, 2))),
        "average_order_value_usd": lambda: rng.lognormvariate(math.log(45), 0.8),
        "refund_rate": lambda: rng.betavariate(1.2, 30) if rng.random() > 0.01 else rng.uniform(0.3, 0.9),
        "volume_growth_mom": lambda: rng.gauss(0.03, 0.25) if rng.random() > 0.02 else rng.uniform(3, 20),
    }[metric]
    return [draw() for _ in range(n)]


def bench_accuracy(trials: int) -> list[dict]:
    from server.benchmarks.mechanism import QUARTILES, _nearest, clipped, p95_rank_error, rank_error
    from server.benchmarks.metrics import METRICS

    rng = random.Random(13)
    rows = []
    for name in ("conversion_rate", "average_order_value_usd", "refund_rate", "volume_growth_mom"):
        metric = METRICS[name]
        for n in SIZES:
            values = cohort(name, n, rng)
            data = sorted(clipped(values, metric))
            grid_only = max(rank_error(data, a, _nearest(data[min(n - 1, int(a * n))], metric.grid)) for a in QUARTILES)
            for epsilon in EPSILONS:
                started = time.perf_counter()
                error = p95_rank_error(values, metric, epsilon, trials=trials)
                rows.append({"metric": name, "n": n, "epsilon": epsilon, "p95": error, "grid": grid_only,
                             "ms": (time.perf_counter() - started) * 1000 / (trials * len(QUARTILES))})
                print(f"  {name:24} n={n:5} ε={epsilon:<5} p95 rank error {error:5.1f} points "
                      f"(grid alone {grid_only:.1f})", flush=True)
    return rows


async def bench_time(sellers: int) -> dict:
    from server import clock, db
    from server.accounts.business import region_of
    from server.benchmarks import marketplace, periods, releases, service
    from server.benchmarks.metrics import DEFAULT_POLICY
    from server.benchmarks.values import values

    now = clock.now()
    made = await marketplace.create(sellers, category="retail", region="north_america", now=now, months=1,
                                    volume=0.5, per_transaction=1_000)
    print(f"  marketplace: {made}", flush=True)
    month = periods.previous(periods.of(now))
    await db.execute("ANALYZE")
    started = time.perf_counter()
    inputs = await service.month_inputs(False, month)
    read_s = time.perf_counter() - started
    people = [releases.Seller(m.account_id, m.category, region_of(m.country), values(m)) for m in inputs]
    started = time.perf_counter()
    releases.plan_period(people, DEFAULT_POLICY)
    plan_s = time.perf_counter() - started
    started = time.perf_counter()
    done = await service.compute_period(False, month, DEFAULT_POLICY, now=now)
    total_s = time.perf_counter() - started
    print(f"  {done}: {total_s:.2f} s (reading {read_s:.2f} s, planning {plan_s:.2f} s)", flush=True)
    return {"sellers": done.sellers, "payments": made.payments, "total": total_s, "read": read_s, "plan": plan_s,
            "released": done.released, "suppressed": done.suppressed}


def write_section(accuracy: list[dict], timing: dict | None, command: str) -> None:
    lines = [f"Run of {time.strftime('%Y-%m-%d %H:%M')} UTC (`{command}`), load average "
                        f"{os.getloadavg()[0]:.1f} on 2 cores.", "",
             "**Accuracy**: p95 rank error of released quartiles against the exact quartiles, percentile points "
             "(in brackets: what rounding the exact quartile to the metric's grid costs alone).", "",
             "| metric | n | " + " | ".join(f"ε = {e} each" for e in EPSILONS) + " |",
             "|---|---:|" + "---:|" * len(EPSILONS)]
    for name in dict.fromkeys(r["metric"] for r in accuracy):
        for n in SIZES:
            cells = [r for r in accuracy if r["metric"] == name and r["n"] == n]
            lines.append(f"| {name} | {n:,} | " + " | ".join(
                f"{r['p95']:.1f} ({r['grid']:.1f})" for r in cells) + " |")
    if timing:
        lines += ["", f"**Time**: one month's releases for {timing['sellers']:,} sellers across every cohort "
                      f"({timing['payments']:,} payments), measured end to end.", "",
                  "| measure | seconds | share of the whole |", "|---|---:|---:|",
                  f"| `compute_period` (read, draw, store in one transaction) | {timing['total']:.2f} | 1.00 |",
                  f"| reference: reading the month's inputs alone | {timing['read']:.2f} | "
                  f"{timing['read'] / timing['total']:.2f} |",
                  f"| reference: planning and drawing in memory alone | {timing['plan']:.2f} | "
                  f"{timing['plan'] / timing['total']:.2f} |",
                  "", f"{timing['released']} metric releases with quantiles, {timing['suppressed']} suppressed."]
    sections.write_section("benchmarks", "\n".join(lines))


@contextlib.contextmanager
def _infrastructure():
    from server.runtime import infrastructure
    from server.settings import Settings

    if os.environ.get("DATABASE_URL"):
        with infrastructure(quiet=True, command="bench.benchmarks") as settings:
            yield settings
        return
    with tempfile.TemporaryDirectory() as folder:
        os.environ["PAYDECK_DATA_DIR"] = folder
        with infrastructure(Settings(data_dir=Path(folder)), quiet=True, command="bench.benchmarks") as settings:
            yield settings


async def _timed(sellers: int) -> dict:
    from server import db
    from server.runtime import migrate

    await migrate(quiet=True)
    await db.open_pool(1, 4)
    try:
        return await bench_time(sellers)
    finally:
        await db.close_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sellers", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--no-time", action="store_true", help="accuracy only (no database)")
    args = parser.parse_args()
    print("accuracy", flush=True)
    accuracy = bench_accuracy(args.trials)
    timing = None
    if not args.no_time:
        print("time", flush=True)
        with _infrastructure():
            timing = asyncio.run(_timed(args.sellers))
    command = "python -m bench.benchmarks.run" + (f" --sellers {args.sellers}" if args.sellers != 10_000 else "") + (
        f" --trials {args.trials}" if args.trials != 100 else "") + (" --no-time" if args.no_time else "")
    write_section(accuracy, timing, command)


if __name__ == "__main__":
    main()
