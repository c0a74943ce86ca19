"""Live updates on one and on several web processes: commit-to-client latency and memory per connection.

    .venv/bin/python -m bench.scale.run [--processes 1,2] [--subscribers 1000] [--events 30]
    .venv/bin/python -m bench.scale.run --rate 50 --seconds 15 [--processes 1,2] [--subscribers 1000]
    .venv/bin/python -m bench.scale.run --rate 5 --seconds 10 --processes 1 --subscribers 10000   # 10,000 receiving

`--rate R --seconds S`: events committed at R per second for S seconds to
`--subscribers` clients per web process (all of one account, so each event
goes to every one of them), each kind of client (`--kinds`, default
redis,ws,sse) held by bench.scale.holder in a process of its own (raw sockets;
it notes arrivals on the machine-wide monotonic clock); the reference is
Redis publish→subscribe at the same rate to the same number of raw-socket
subscribers. The live heartbeat is set to 300 s there: no WebSocket ping
falls inside a run. Each case is bounded in time: the holder opens its
connections within `--open-within` seconds, every client must have received
a warm-up event within 60 s, and arrivals are awaited `--drain` seconds after
the last commit; what has not arrived by then counts as not delivered (the
`delivered` column), so an overloaded path shows as such instead of running on.
The GraphQL holder speaks plain graphql-transport-ws (connection_init, ack,
subscribe, pong), so any conforming server handler can be measured unchanged.

For each process count it serves the app with `paydeck run --processes N` (web
processes sharing one port, workers and the event dispatcher in the parent)
against embedded PostgreSQL and Redis started here, then:

- opens N GraphQL subscriptions, then N dashboard SSE streams, and measures
  the time from COMMIT of an event (through the real outbox, from this
  process) to each client having it, as bench.events.latency does, with the
  bare Redis publish→subscribe to N subscribers as the reference;
- holds M connections of each kind open (`--hold`) and reads the web
  processes' resident memory (RSS, summed) before and while they are open:
  the difference over M is the memory per connection.

Clients of the default mode run in this process, on the same cores as the
server: at 1,000 subscribers their own parsing is part of the latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.events.latency import infrastructure, redis_subscriber, run_case, sse_subscriber, ws_subscriber
from bench.ready import wait_ready

BIN = Path(sys.executable).parent / "paydeck"
PASSWORD = "correct horse battery staple"


@contextlib.contextmanager
def paydeck(db_url: str, redis_url: str, port: int, processes: int) -> Iterator[subprocess.Popen]:
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
           "PAYDECK_PROCESSOR_URL": "http://127.0.0.1:9",  # no payments here: no simulator needed
           "PAYDECK_DATA_DIR": tempfile.mkdtemp(prefix="paydeck-scale-"), "PAYDECK_API_RATE_LIMIT_PER_SECOND": "100000",
           "PAYDECK_LOGIN_ATTEMPTS_PER_IP_15MIN": "100000", "PAYDECK_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([str(BIN), "run", "--port", str(port), "--processes", str(processes)], env=env,
                            stdout=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(60)


def web_rss(proc: subprocess.Popen) -> int:
    """Resident memory of the web processes (the parent's spawned children; with one process, the parent)."""
    parent = psutil.Process(proc.pid)
    children = [c for c in parent.children() if "spawn_main" in " ".join(c.cmdline())]
    return sum(p.memory_info().rss for p in children or [parent])


async def hold(n: int, start: Any, proc: subprocess.Popen) -> float:
    """Bytes of web-process memory per open connection, with n connections held."""
    from bench.events.latency import Recorder

    await asyncio.sleep(1)
    before = web_rss(proc)
    rec, stop = Recorder(), asyncio.Event()
    readies = [asyncio.Event() for _ in range(n)]
    tasks = []
    for batch in range(0, n, 100):
        for ready in readies[batch:batch + 100]:
            tasks.append(asyncio.create_task(start(rec, ready, stop)))
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies[batch:batch + 100])), 120)
    await asyncio.sleep(2)
    during = web_rss(proc)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return (during - before) / n


def print_latency_table(rows: list[tuple[int, str, dict]], seconds: float | None = None) -> None:
    """The Markdown table of commit-to-client latency, each path against Redis's own p99 in the same run;
    with `seconds`, the sustained rate it was measured at."""
    rate_head, rate_rule = (" events/s × s |", "---:|") if seconds is not None else ("", "")
    print(f"\n| web processes | path | subscribers |{rate_head} p50 ms | p99 ms | p99 / Redis p99 | delivered |")
    print(f"|---:|---|---:|{rate_rule}---:|---:|---:|---:|")
    for processes, name, r in rows:
        ref = next(x for p, nm, x in rows if p == processes and nm.startswith("Redis"))["p99"] or 1e-9
        rate = f" {r['rate']:.0f} × {seconds:.0f} |" if seconds is not None else ""
        print(f"| {processes} | {name} | {r['subscribers']:,} |{rate} {r['p50']:.1f} | {r['p99']:.1f} | "
              f"{r['p99'] / ref:.1f}× | {r['samples']:,}/{r['expected']:,} |")


async def main(process_counts: list[int], n: int, events: int, held: int) -> None:
    from redis.asyncio import Redis

    from server import db, embedded
    from server.accounts.service import create_account
    from server.context import Scope
    from server.events.service import emit
    from server.runtime import migrate
    from server.settings import get_settings

    rows: list[tuple[int, str, dict[str, float]]] = []
    memory: list[tuple[int, str, float]] = []
    with infrastructure() as (db_url, redis_url):
        os.environ.update({"DATABASE_URL": db_url, "REDIS_URL": redis_url})
        get_settings.cache_clear()
        db.configure(db_url)
        await migrate(quiet=True)
        await db.open_pool(2, 10)
        account = await create_account("Bench Shop", f"scale-{os.getpid()}-{time.time_ns()}@example.com", PASSWORD)
        scope = Scope(account.account["id"], False)
        publisher = Redis.from_url(redis_url, decode_responses=True)

        async def emit_one(i: int) -> str:
            async with db.transaction():
                return await emit(None, scope, "bench.ping", "bench", f"b_{i}", {"i": i})

        async def warm_events() -> Any:
            return await emit_one(-1)

        async def fire_redis(i: int) -> str:
            key = f"r{i}-{time.time_ns()}"
            await publisher.publish("bench:reference", key)
            return key

        async def warm_redis() -> Any:
            return await publisher.publish("bench:reference", "warm")

        for processes in process_counts:
            port = embedded.free_port()
            with paydeck(db_url, redis_url, port, processes) as proc:
                base = f"http://127.0.0.1:{port}"
                cookies = await _login(base, account.user["email"])
                ws_url = base.replace("http://", "ws://") + "/graphql"
                key = account.keys["secret_test"]
                sse_client = httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30,
                                               limits=httpx.Limits(max_connections=max(n, held) + 10))
                cases = [
                    ("Redis publish→subscribe (reference)",
                     lambda r, ready, stop: redis_subscriber(redis_url, r, ready, stop), fire_redis, warm_redis),
                    ("GraphQL subscription (ws)",
                     lambda r, ready, stop, u=ws_url, k=key: ws_subscriber(u, k, r, ready, stop), emit_one,
                     warm_events),
                    ("dashboard SSE stream",
                     lambda r, ready, stop, c=sse_client: sse_subscriber(c, r, ready, stop), emit_one, warm_events),
                ]
                for name, start, fire, warm in cases:
                    result = await run_case(n, events, start, fire, warm)
                    rows.append((processes, name, result))
                    print(f"{processes} proc  {name:38} n={n} p50={result['p50']:7.1f} ms  p99={result['p99']:7.1f} ms"
                          f"  delivered {result['samples']}/{result['expected']}", flush=True)
                await sse_client.aclose()
            for kind in ("GraphQL subscription (ws)", "dashboard SSE stream"):  # each in a fresh app: memory
                port = embedded.free_port()                                     # freed by one kind is not reused
                with paydeck(db_url, redis_url, port, processes) as proc:
                    base = f"http://127.0.0.1:{port}"
                    cookies = await _login(base, account.user["email"])
                    client = httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30,
                                               limits=httpx.Limits(max_connections=held + 10))
                    ws_url = base.replace("http://", "ws://") + "/graphql"
                    start = ((lambda r, ready, stop, u=ws_url, k=key: ws_subscriber(u, k, r, ready, stop))
                             if kind.startswith("GraphQL") else
                             (lambda r, ready, stop, c=client: sse_subscriber(c, r, ready, stop)))
                    per = await hold(held, start, proc)
                    memory.append((processes, kind, per))
                    print(f"{processes} proc  {kind:38} {held} held: {per / 1024:.1f} KiB per connection", flush=True)
                    await client.aclose()
        await publisher.aclose()
        await db.close_pool()
    print_latency_table(rows)
    print("\n| web processes | path | connections held | memory per connection |\n|---:|---|---:|---:|")
    for processes, name, per in memory:
        print(f"| {processes} | {name} | {held:,} | {per / 1024:.1f} KiB |")


class Holder:
    """A bench.scale.holder process recording arrivals, driven over its stdin/stdout."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, config: dict[str, Any], open_within: float = 600) -> Holder:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.scale.holder", json.dumps({**config, "record": True}),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**24)
        holder = cls(proc)
        try:
            line = await holder.line(open_within)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"the holder did not open {config['n']} connections in {open_within:.0f} s") from None
        if not line.startswith("opened"):
            raise RuntimeError(f"the holder: {line}")
        return holder

    async def line(self, within: float = 60) -> str:
        assert self.proc.stdout is not None
        return (await asyncio.wait_for(self.proc.stdout.readline(), within)).decode().strip()

    async def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.line()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"close\n")
            await self.proc.stdin.drain()
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()


async def paced(rate: float, seconds: float, fire: Callable[[int], Awaitable[str]]) -> tuple[dict[str, float], float]:
    """Fire at `rate` per second for `seconds` on a fixed schedule; {key: monotonic time it returned}, achieved rate."""
    commits: dict[str, float] = {}
    count = int(rate * seconds)
    started = time.monotonic()
    for i in range(count):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        key = await fire(i)
        commits[key] = time.monotonic()
    return commits, count / (time.monotonic() - started)


WARM_WITHIN = 60.0  # seconds for every client to receive a warm-up event (subscriptions register a moment late)


async def at_rate_case(holder: Holder, n: int, rate: float, seconds: float,
                       fire: Callable[[int], Awaitable[str]], drain: float = 15.0) -> dict[str, float]:
    warm_until, i = time.monotonic() + WARM_WITHIN, 0
    while int((await holder.ask("count")).split()[1]) < n:
        if time.monotonic() > warm_until:
            raise RuntimeError(f"only {(await holder.ask('count')).split()[1]} of {n} clients receive events")
        await fire(-1 - i)
        i += 1
        await asyncio.sleep(0.3 if n <= 1000 else 1.0)
    await asyncio.sleep(1)
    await holder.ask("reset")
    commits, achieved = await paced(rate, seconds, fire)
    expected = len(commits) * n
    until = time.monotonic() + drain  # the last arrivals; what is missing after this counts as not delivered
    while int((await holder.ask("total")).split()[1]) < expected and time.monotonic() < until:  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # the holder is another process: polling its count is the only way
    result = json.loads(await holder.ask("commits " + json.dumps(commits)))
    return {**result, "rate": achieved, "subscribers": n}


CASES = {"redis": "Redis publish→subscribe (reference)", "ws": "GraphQL subscription (ws)",
         "sse": "dashboard SSE stream"}


async def at_rate(process_counts: list[int], per_process: int, rate: float, seconds: float,
                  kinds: list[str], drain: float, open_within: float) -> None:
    from redis.asyncio import Redis

    from server import db, embedded
    from server.accounts.service import create_account
    from server.context import Scope
    from server.events.service import emit
    from server.runtime import migrate
    from server.settings import get_settings

    rows: list[tuple[int, str, dict[str, float]]] = []
    with infrastructure() as (db_url, redis_url):
        os.environ.update({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "PAYDECK_LIVE_HEARTBEAT_SECONDS": "300",
                           "PAYDECK_MAX_LIVE_CONNECTIONS": "50000"})
        get_settings.cache_clear()
        db.configure(db_url)
        await migrate(quiet=True)
        await db.open_pool(2, 10)
        account = await create_account("Bench Shop", f"rate-{os.getpid()}-{time.time_ns()}@example.com", PASSWORD)
        scope = Scope(account.account["id"], False)
        publisher = Redis.from_url(redis_url, decode_responses=True)
        redis_port = int(redis_url.rsplit(":", 1)[1].split("/", 1)[0])

        async def emit_one(i: int) -> str:
            async with db.transaction():
                return await emit(None, scope, "bench.ping", "bench", f"b_{i}", {"i": i})

        async def publish(i: int) -> str:
            await publisher.publish("bench:reference", f"ref:{i}" if i >= 0 else f"ref:{1_000_000 - i}")
            return f"ref:{i}"

        for processes in process_counts:
            n = per_process * processes
            port = embedded.free_port()
            with paydeck(db_url, redis_url, port, processes):
                cookie = "; ".join(f"{k}={v}" for k, v in
                                   (await _login(f"http://127.0.0.1:{port}", account.user["email"])).items())
                base = {"n": n, "port": port, "cookie": cookie, "key": account.keys["secret_test"],
                        "redis_port": redis_port}
                for kind in kinds:
                    name, fire = CASES[kind], publish if kind == "redis" else emit_one
                    opening = time.monotonic()
                    holder = await Holder.start({**base, "kind": kind}, open_within)
                    opened = time.monotonic() - opening
                    try:
                        result = await at_rate_case(holder, n, rate, seconds, fire, drain)
                    finally:
                        await holder.close()
                    rows.append((processes, name, result))
                    print(f"{processes} proc  {name:38} n={n} (opened in {opened:.1f} s) {result['rate']:.0f} events/s"
                          f"  p50={result['p50']:7.1f} ms  p99={result['p99']:7.1f} ms  max={result['max']:7.1f} ms"
                          f"  delivered {result['samples']}/{result['expected']}", flush=True)
        await publisher.aclose()
        await db.close_pool()
    print_latency_table(rows, seconds)


async def _login(base: str, email: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        page = await client.get("/login")
        csrf = page.text.split('name="_csrf" value="', 1)[1].split('"', 1)[0]
        resp = await client.post("/login", data={"_csrf": csrf, "email": email, "password": PASSWORD, "next": "/"})
        assert resp.status_code == 303, resp.text
        return dict(client.cookies)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", default="1,2", help="comma-separated web process counts")
    parser.add_argument("--subscribers", type=int, default=1000, help="live clients of one account")
    parser.add_argument("--events", type=int, default=30, help="events committed per case")
    parser.add_argument("--hold", type=int, default=2000, help="connections held open to measure memory")
    parser.add_argument("--rate", type=float, default=0, help="events per second (with --seconds: the rate mode)")
    parser.add_argument("--seconds", type=float, default=15, help="how long the rate mode commits events")
    parser.add_argument("--kinds", default="redis,ws,sse", help="rate mode: which clients (redis is the reference)")
    parser.add_argument("--drain", type=float, default=15, help="rate mode: seconds to wait for the last arrivals")
    parser.add_argument("--open-within", type=float, default=300, help="rate mode: seconds to open the clients")
    args = parser.parse_args()
    counts = [int(x) for x in args.processes.split(",")]
    if args.rate > 0:
        kinds = args.kinds.split(",")
        if unknown := set(kinds) - set(CASES):
            parser.error(f"--kinds: unknown {', '.join(sorted(unknown))}; choose from {', '.join(CASES)}")
        asyncio.run(at_rate(counts, args.subscribers, args.rate, args.seconds, kinds, args.drain, args.open_within))
    else:
        asyncio.run(main(counts, args.subscribers, args.events, args.hold))
