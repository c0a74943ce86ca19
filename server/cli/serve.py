"""Long-running commands: `run` (web and workers), `web`, `worker`, and the worker's health check."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click

from server.settings import Settings, get_settings

HEARTBEAT = Path(tempfile.gettempdir()) / "paydeck-worker-heartbeat"


def _serve(command: str, host: str, port: int, workers: bool, demo: bool) -> None:
    demo_rate = get_settings().demo_rate
    import uvicorn

    from server import health
    from server.app import create_app
    from server.runtime import infrastructure, migrate, published
    from server.urls import served_url

    settings = get_settings()
    with infrastructure(settings, command=f"paydeck {command}", serving=True, processor=True) as settings:
        settings.host, settings.port = host, port  # links follow the address actually served (server.urls)
        published(app_url=served_url(settings))
        asyncio.run(migrate())
        if demo:
            _start_demo(settings, port, demo_rate)
        app = create_app(settings, run_workers=workers)
        config = uvicorn.Config(app, host=host, port=port, lifespan="on", log_level="warning", log_config=None,
                                timeout_graceful_shutdown=int(settings.shutdown_grace_seconds), ws="websockets-sansio",
                                proxy_headers=False)
        server = DrainingServer(config, drain_seconds=settings.drain_seconds)
        print(f"\n  Paydeck is running at http://{host}:{port}   (Ctrl-C stops everything)\n", flush=True)
        server.run()
        health.draining.set()


def _start_demo(settings: Settings, port: int, demo_rate: float) -> None:
    from server.demo import ensure_demo
    from server.payments.simulate import start_in_background

    info = asyncio.run(ensure_demo(settings, announce=True))
    if demo_rate > 0:
        start_in_background(f"http://127.0.0.1:{port}", info["secret_test_key"], demo_rate)
        print(f"  demo traffic: about {demo_rate:g} test-mode actions per second "
              "(PAYDECK_DEMO_RATE=0 turns it off)", flush=True)


def DrainingServer(config: Any, drain_seconds: float) -> Any:  # noqa: N802 - a factory that reads like a class
    """A uvicorn server whose readiness fails before it stops accepting requests."""
    import uvicorn

    from server import health

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            # Like uvicorn's, minus re-raising the signal afterwards: our caller
            # still has embedded servers to stop once the app has shut down.
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

        def handle_exit(self, sig: int, frame: Any) -> None:
            health.draining.set()
            if sig == signal.SIGTERM and drain_seconds > 0 and not self.should_exit:
                loop = asyncio.get_event_loop()
                loop.call_later(drain_seconds, super().handle_exit, sig, frame)
                return
            super().handle_exit(sig, frame)

    return _Server(config)


@click.command(help="Run everything: web and background workers, with embedded PostgreSQL and Redis "
                    "when DATABASE_URL / REDIS_URL are unset.")
@click.option("--host", default=None, help="Interface to listen on (default PAYDECK_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default PAYDECK_PORT or 8000).")
@click.option("--demo/--no-demo", default=False, help="Create the demo account and print its login and keys.")
def run(host: str | None, port: int | None, demo: bool) -> None:
    settings = get_settings()
    _serve("run", host or settings.host, port or settings.port, workers=True, demo=demo)


@click.command(help="Run the web server only (no background workers).")
@click.option("--host", default=None, help="Interface to listen on.")
@click.option("--port", default=None, type=int, help="Port.")
def web(host: str | None, port: int | None) -> None:
    settings = get_settings()
    _serve("web", host or settings.host, port or settings.port, workers=False, demo=False)


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
