"""What the processor simulator's memory costs: charges per second with its state on disk vs in memory.

    .venv/bin/python -m bench.simulator [--charges 2000] [--clients 16] [--no-write]

Starts the simulator twice in the same run, as `paydeck run` does (`--state`
file: every charge committed to SQLite and fsynced before it is answered)
and without `--state` (memory only, the reference), sends the same charges
to each over HTTP, and writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.sections import write_section
from server import embedded

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def start(state: Path | None) -> embedded.EmbeddedProcess:
    port = embedded.free_port()
    args = [sys.executable, "-m", "server.payments.simulator", "--port", str(port), "--secret", "bench"]
    if state:
        args += ["--state", str(state)]
    log = Path(tempfile.mkdtemp(prefix="paydeck-bench-sim-")) / "simulator.log"
    return embedded.EmbeddedProcess("simulator", args, port, f"http://127.0.0.1:{port}", log,
                                    stop_signal=signal.SIGTERM, ready=lambda me: embedded.http_ready(me.url)).start()


async def charges_per_second(url: str, charges: int, clients: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(charges):
        queue.put_nowait(n)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            while not queue.empty():
                queue.get_nowait()
                resp = await http.post("/v1/charges", headers={"Idempotency-Key": secrets.token_hex(12)},
                                       json={"amount": 1999, "currency": "usd", "card": CARD, "reference": "bench"})
                assert resp.status_code == 200, resp.text

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return charges / (time.perf_counter() - started)


def measure(charges: int, clients: int) -> dict[str, float]:
    results = {}
    for name, state in (("memory", None), ("state", Path(tempfile.mkdtemp(prefix="paydeck-bench-sim-")) / "s.db")):
        sim = start(state)
        try:
            asyncio.run(charges_per_second(sim.url, 200, clients))  # warm up
            results[name] = asyncio.run(charges_per_second(sim.url, charges, clients))
        finally:
            sim.stop()
    return results




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    r = measure(args.charges, args.clients)
    text = f"""## Processor simulator: its memory on disk

What keeping the simulator's charges across restarts costs (docs/payments.md): charges per
second over HTTP with `--state` (each charge committed to SQLite, fsynced, before it is
answered) against the same simulator in memory only, measured in the same run.

```sh
.venv/bin/python -m bench.simulator --charges {args.charges} --clients {args.clients}
```

| simulator | charges/s |
|---|---|
| memory only (reference) | {r['memory']:,.0f} |
| state on disk (`paydeck run`) | {r['state']:,.0f} |
| ratio | {r['state'] / r['memory']:.2f} |

A confirmed payment makes one charge; the payments benchmark above confirms at most a few
hundred payments per second, so the simulator is not what limits it."""
    print(text)
    if not args.no_write:
        write_section("simulator", text)


if __name__ == "__main__":
    main()
