"""How a client's connections are spread over the web processes sharing the port.

    .venv/bin/python -m bench.scale.spread [--rounds 10] [--connections 8] [--processes 2]

Starts `paydeck run --processes N` on a data folder of its own and waits until every web process accepts
(`/readyz`). Each round opens a pool of `--connections` keep-alive connections at once (that many
concurrent `GET /healthz` on a fresh httpx pool, as a merchant backend's client does when it starts), counts
the connections each web process holds (psutil), and closes the pool; then the same with connections opened
one after another, each answered before the next is opened. Prints, for each way, how often each split
was seen and the mean share of the busiest process (1/N is an even spread, 1.0 all on one).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from bench.ready import wait_ready
from server.embedded import free_port

BIN = Path(sys.executable).parent / "paydeck"


@contextlib.contextmanager
def paydeck(port: int, processes: int) -> Iterator[tuple[str, list[psutil.Process]]]:
    env = {**os.environ, "PAYDECK_DATA_DIR": tempfile.mkdtemp(prefix="paydeck-spread-"),
           "PAYDECK_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([str(BIN), "run", "--port", str(port), "--processes", str(processes)], env=env,
                            stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        web = [p for p in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(p.cmdline())]
        yield base, web
    finally:
        proc.terminate()
        proc.wait(60)


def held(web: list[psutil.Process], port: int) -> tuple[int, ...]:
    """Connections to `port` each web process holds, largest first."""
    return tuple(sorted((len([c for c in p.net_connections("tcp")
                              if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port]) for p in web),
                        reverse=True))


async def pool_at_once(base: str, n: int, web: list[psutil.Process], port: int) -> tuple[int, ...]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, limits=limits) as pool:
        answers = await asyncio.gather(*[pool.get("/healthz") for _ in range(n)])
        assert all(r.status_code == 200 for r in answers)
        return held(web, port)


async def one_after_another(base: str, n: int, web: list[psutil.Process], port: int) -> tuple[int, ...]:
    clients = []
    try:
        for _ in range(n):
            client = httpx.AsyncClient(base_url=base)
            clients.append(client)
            assert (await client.get("/healthz")).status_code == 200
        return held(web, port)
    finally:
        for client in clients:
            await client.aclose()


async def rounds(base: str, web: list[psutil.Process], port: int, args: argparse.Namespace) -> None:
    for name, way in (("pool opened at once", pool_at_once), ("one after another", one_after_another)):
        seen: collections.Counter[tuple[int, ...]] = collections.Counter()
        busiest = 0.0
        for _ in range(args.rounds):
            split = await way(base, args.connections, web, port)
            seen[split] += 1
            busiest += split[0] / max(1, sum(split))
            await asyncio.sleep(0.3)  # the closed connections leave the processes' counts
        splits = ", ".join(f"{'/'.join(map(str, s))} ×{k}" for s, k in seen.most_common())
        print(f"| {name} | {args.connections} | {args.rounds} | {splits} | {busiest / args.rounds:.2f} |",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    port = free_port()
    with paydeck(port, args.processes) as (base, web):
        print(f"`paydeck run --processes {args.processes}`, {len(web)} web processes\n")
        print("| connections | per round | rounds | split (connections per process) × rounds | busiest's share |")
        print("|---|---|---|---|---|")
        asyncio.run(rounds(base, web, port, args))


if __name__ == "__main__":
    main()
