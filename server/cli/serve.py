"""Long-running commands: `run` (web and workers), `web`, `worker`, and the worker's health check."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click

from server.settings import Settings, get_settings

HEARTBEAT = Path(tempfile.gettempdir()) / "paydeck-worker-heartbeat"


def _serve(command: str, host: str, port: int, workers: bool, demo: bool, processes: int) -> None:
    demo_rate = get_settings().demo_rate
    from server.runtime import infrastructure, migrate, published
    from server.urls import served_url
    from server.webpool import default_processes

    settings = get_settings()
    with infrastructure(settings, command=f"paydeck {command}", serving=True, processor=True) as settings:
        settings.host, settings.port = host, port  # links follow the address actually served (server.urls)
        published(app_url=served_url(settings))
        asyncio.run(migrate())
        demo_writer = _start_demo(settings, port, demo_rate) if demo else None
        if demo_writer is not None:
            # Stopped first: while it writes the demo's history it holds locks the web processes' last API-log
            # flush waits on, so stopping it after them made Ctrl-C on a first run take the flush's whole grace.
            from server import health

            health.on_stop.append(demo_writer.terminate)
        count = processes or settings.processes or default_processes()
        try:
            if count == 1:
                _serve_here(settings, workers)
            else:
                _serve_many(settings, workers, count)
        finally:
            _stop(demo_writer)


def _serve_here(settings: Settings, workers: bool) -> None:
    """One process: the app, its workers and the embedded servers' supervisor in this event loop."""
    import uvicorn

    from server import health
    from server.app import create_app
    from server.webpool import DrainingServer, bind, uvicorn_config

    app = create_app(settings, run_workers=workers)
    server = DrainingServer(uvicorn_config(uvicorn, app, settings), drain_seconds=settings.drain_seconds)
    sock = bind(settings.host, settings.port)  # the same socket options as several processes get
    print(f"\n  Paydeck is running at http://{settings.host}:{settings.port}   (Ctrl-C stops everything)\n",
          flush=True)
    server.run(sockets=[sock])
    health.draining.set()


def _serve_many(settings: Settings, workers: bool, count: int) -> None:
    """Several web processes on one port (server.webpool); workers and the supervisor stay here."""
    from server import metrics
    from server.webpool import WebPool

    metrics.prepare_multiprocess_dir(settings.data_dir)  # before the web processes start: they inherit it
    stop_timeout = settings.shutdown_grace_seconds + settings.drain_seconds + 15
    pool = WebPool(settings.host, settings.port, count, stop_timeout)
    print(f"\n  Paydeck is running at http://{settings.host}:{settings.port} with {count} web processes"
          "   (Ctrl-C stops everything)\n", flush=True)
    asyncio.run(_parent(settings, pool, workers))


async def _parent(settings: Settings, pool: Any, run_workers: bool) -> None:
    """The web processes' parent: supervises them and the embedded servers, runs the workers."""
    from server import db, health, infra
    from server.runtime import owned_processes
    from server.supervisor import Supervisor
    from server.workers import Workers

    assert settings.redis_url, "infrastructure() has set it"
    supervisor = Supervisor(owned_processes())
    supervisor.start()
    workers = None
    if run_workers:
        await db.open_pool(settings.db_pool_min, settings.db_pool_max)
        await infra.open_redis(settings.redis_url)
        workers = Workers(settings)
        await workers.start()
    pool.restarts = lambda: supervisor.restarts  # the web processes then drop their connections to the old ones
    supervisor.changed = pool.publish_health  # the web processes' /healthz follows the supervisor at once
    pool.start()
    stop = asyncio.Event()
    received: list[int] = []
    loop = asyncio.get_running_loop()

    def on_signal(sig: int, _frame: Any) -> None:
        # A plain signal handler, not the loop's: it runs even while a job keeps the loop busy, so the web
        # processes start draining at once (their /readyz fails first, as a single process's would).
        received.append(sig)
        health.request_stop()
        pool.forward(sig)
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        await pool.watch(stop)
    finally:
        health.draining.set()
        await pool.stop(received[0] if received else signal.SIGTERM)
        if workers is not None:
            await workers.stop()
            await infra.close_redis()
            await db.close_pool()
        await supervisor.stop()


def _start_demo(settings: Settings, port: int, demo_rate: float) -> subprocess.Popen | None:
    """The demo account now (its login is printed before serving); its first-run data in the background.

    Writing 90 days of history and a marketplace of sellers takes about a minute, so a first `make run`
    serves at once and a `paydeck demo --data-only` beside it fills the pages (each step one transaction);
    demo traffic starts once that is done, since the history is written only for an account without payments.
    """
    from server.demo import ensure_demo_account, hold_releases_for, needs_demo_data

    info = asyncio.run(ensure_demo_account(settings, announce=True))

    def traffic() -> None:
        if demo_rate > 0:
            from server.payments.simulate import start_in_background

            start_in_background(f"http://127.0.0.1:{port}", info["secret_test_key"], demo_rate)
            print(f"  demo traffic: about {demo_rate:g} test-mode actions per second "
                  "(PAYDECK_DEMO_RATE=0 turns it off)", flush=True)

    if not needs_demo_data(settings):
        traffic()
        return None
    print("\n  preparing demo data in the background (first run only, about a minute); "
          "the charts fill in when it is done", flush=True)
    from server.embedded import die_with_parent

    child = subprocess.Popen([sys.executable, "-c", "from server.cli import main; main()", "demo", "--data-only"],
                             preexec_fn=die_with_parent(signal.SIGTERM), start_new_session=True)
    assert settings.database_url
    hold_releases_for(settings.database_url, child)

    def when_done() -> None:
        code = child.wait()
        if code == 0:
            traffic()
        elif code > 0:
            print(f"  demo data could not be prepared (exit code {code}); `paydeck demo` tries again", flush=True)

    threading.Thread(target=when_done, name="demo-data", daemon=True).start()
    return child


def _stop(child: subprocess.Popen | None) -> None:
    """Stop the demo data writer with the app: its transaction is rolled back and redone next time."""
    if child is not None and child.poll() is None:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@click.command(help="Run everything: web and background workers, with embedded PostgreSQL and Redis "
                    "when DATABASE_URL / REDIS_URL are unset.")
@click.option("--host", default=None, help="Interface to listen on (default PAYDECK_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default PAYDECK_PORT or 8000).")
@click.option("--processes", default=None, type=click.IntRange(min=1),
              help="Web processes sharing the port (default PAYDECK_PROCESSES, or one per core).")
@click.option("--replicas", default=None, type=click.IntRange(min=0, max=8),
              help="Embedded PostgreSQL read replicas to start and read from (default PAYDECK_REPLICAS, 0).")
@click.option("--demo/--no-demo", default=False, help="Create the demo account and print its login and keys.")
def run(host: str | None, port: int | None, demo: bool, processes: int | None, replicas: int | None) -> None:
    settings = get_settings()
    if replicas is not None:
        settings.replicas = replicas
    _serve("run", host or settings.host, port or settings.port, workers=True, demo=demo, processes=processes or 0)


@click.command(help="Run the web server only (no background workers).")
@click.option("--host", default=None, help="Interface to listen on.")
@click.option("--port", default=None, type=int, help="Port.")
@click.option("--processes", default=None, type=click.IntRange(min=1),
              help="Web processes sharing the port (default PAYDECK_PROCESSES, or one per core).")
def web(host: str | None, port: int | None, processes: int | None) -> None:
    settings = get_settings()
    _serve("web", host or settings.host, port or settings.port, workers=False, demo=False, processes=processes or 0)


@click.command(help="Run the background workers only (event dispatch, deliveries, retention, ...).")
def worker() -> None:
    from server.runtime import infrastructure

    with infrastructure(command="paydeck worker", serving=True, processor=True) as settings:
        asyncio.run(_work(settings))


async def _work(settings: Settings) -> None:
    """The workers until SIGINT or SIGTERM, beating HEARTBEAT every 10 s."""
    from server import db, infra
    from server.runtime import owned_processes
    from server.supervisor import Supervisor
    from server.workers import Workers

    assert settings.redis_url, "infrastructure() has set it"
    await db.open_pool(settings.db_pool_min, settings.db_pool_max)
    await infra.open_redis(settings.redis_url)
    supervisor = Supervisor(owned_processes())
    supervisor.start()
    workers = Workers(settings)
    await workers.start()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print("  workers running (Ctrl-C stops)", flush=True)
    while not stop.is_set():
        HEARTBEAT.write_text(str(time.time()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 10)
    await workers.stop()
    await supervisor.stop()
    await infra.close_redis()
    await db.close_pool()


@click.command("worker-health", help="Exit 0 if a worker on this machine beat in the last minute (for health checks).")
def worker_health() -> None:
    try:
        age = time.time() - float(HEARTBEAT.read_text())
    except (OSError, ValueError):
        sys.exit(1)
    sys.exit(0 if age < 60 else 1)
