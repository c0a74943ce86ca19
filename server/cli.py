"""The `paydeck` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import click

from server.analytics.cli import analytics as analytics_commands
from server.settings import get_settings

HEARTBEAT = Path(tempfile.gettempdir()) / "paydeck-worker-heartbeat"


def _logging() -> None:
    from server import outage

    logging.basicConfig(level=os.environ.get("PAYDECK_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    outage.install_on_root()  # a server down: said once per place, not on every retry


class _Paydeck(click.Group):
    def invoke(self, ctx: click.Context):
        from server.ownership import DataFolderBusy

        try:
            return super().invoke(ctx)
        except DataFolderBusy as exc:  # another `paydeck run` owns the data folder: say so, no traceback
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Paydeck, help="Paydeck: a self-hostable payment platform with a developer dashboard.")
def main() -> None:
    _logging()


def _app_url(url: str | None) -> str:
    """The running app for client commands: --url, PAYDECK_PUBLIC_URL, the data folder's `paydeck run`, or the
    address PAYDECK_HOST/PAYDECK_PORT name."""
    from server.ownership import recorded_owner
    from server.urls import served_url

    settings = get_settings()
    if url or settings.public_url:
        return url or settings.public_url
    owner = recorded_owner(settings.data_dir)
    return owner.app_url if owner and owner.app_url else served_url(settings)


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
            from server.demo import ensure_demo
            from server.payments.simulate import start_in_background

            info = asyncio.run(ensure_demo(settings, announce=True))
            if demo_rate > 0:
                start_in_background(f"http://127.0.0.1:{port}", info["secret_test_key"], demo_rate)
                print(f"  demo traffic: about {demo_rate:g} test-mode actions per second "
                      "(PAYDECK_DEMO_RATE=0 turns it off)", flush=True)
        app = create_app(settings, run_workers=workers)
        config = uvicorn.Config(app, host=host, port=port, lifespan="on", log_level="warning", log_config=None,
                                timeout_graceful_shutdown=int(settings.shutdown_grace_seconds), ws="websockets-sansio",
                                proxy_headers=False)
        server = DrainingServer(config, drain_seconds=settings.drain_seconds)
        print(f"\n  Paydeck is running at http://{host}:{port}   (Ctrl-C stops everything)\n", flush=True)
        server.run()
        health.draining.set()


def DrainingServer(config, drain_seconds: float):  # noqa: N802 - a factory that reads like a class
    """A uvicorn server whose readiness fails before it stops accepting requests."""
    import uvicorn

    from server import health

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[override]
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

        def handle_exit(self, sig: int, frame) -> None:  # type: ignore[override]
            health.draining.set()
            if sig == signal.SIGTERM and drain_seconds > 0 and not self.should_exit:
                loop = asyncio.get_event_loop()
                loop.call_later(drain_seconds, super().handle_exit, sig, frame)
                return
            super().handle_exit(sig, frame)

    return _Server(config)


@main.command(help="Run everything: web and background workers, with embedded PostgreSQL and Redis "
                   "when DATABASE_URL / REDIS_URL are unset.")
@click.option("--host", default=None, help="Interface to listen on (default PAYDECK_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default PAYDECK_PORT or 8000).")
@click.option("--demo/--no-demo", default=False, help="Create the demo account and print its login and keys.")
def run(host: str | None, port: int | None, demo: bool) -> None:
    settings = get_settings()
    _serve("run", host or settings.host, port or settings.port, workers=True, demo=demo)


@main.command(help="Run the web server only (no background workers).")
@click.option("--host", default=None, help="Interface to listen on.")
@click.option("--port", default=None, type=int, help="Port.")
def web(host: str | None, port: int | None) -> None:
    settings = get_settings()
    _serve("web", host or settings.host, port or settings.port, workers=False, demo=False)


@main.command(help="Run the background workers only (event dispatch, deliveries, retention, ...).")
def worker() -> None:
    from server import db, infra
    from server.runtime import infrastructure, owned_processes
    from server.supervisor import Supervisor
    from server.workers import Workers

    async def loop(settings) -> None:
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

    with infrastructure(command="paydeck worker", serving=True, processor=True) as settings:
        asyncio.run(loop(settings))


@main.command("worker-health", help="Exit 0 if a worker on this machine beat in the last minute (for health checks).")
def worker_health() -> None:
    try:
        age = time.time() - float(HEARTBEAT.read_text())
    except (OSError, ValueError):
        sys.exit(1)
    sys.exit(0 if age < 60 else 1)


@main.command(help="Receive the account's events and forward them, signed (Standard Webhooks), to a local URL.")
@click.option("--forward-to", required=True, help="Local URL, e.g. http://localhost:3000/hooks.")
@click.option("--api-key", envvar="PAYDECK_API_KEY", required=True, help="Secret key (or PAYDECK_API_KEY).")
@click.option("--api-url", default=None, help="Paydeck's URL (default PAYDECK_PUBLIC_URL, else the running app).")
@click.option("--events", "types", default="*", help="Comma-separated event types; wildcards allowed.")
@click.option("--secret", default=None, help="Signing secret to use (default: a new one, printed).")
def listen(forward_to: str, api_key: str, api_url: str | None, types: str, secret: str | None) -> None:
    from server.webhooks.listen import Listener

    async def go() -> None:
        listener = Listener(_app_url(api_url), api_key, forward_to, secret=secret,
                            types=[t.strip() for t in types.split(",") if t.strip()])
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        try:
            await listener.run(stop)
        finally:
            await listener.aclose()

    asyncio.run(go())


@main.command(help="Apply database migrations.")
def migrate() -> None:
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    with infrastructure(command="paydeck migrate"):
        asyncio.run(run_migrations())


@main.group(help="Manage accounts.")
def account() -> None:
    pass


@account.command("create", help="Create an account with its owner and test/live secret and publishable keys.")
@click.option("--email", required=True, help="Owner's login email.")
@click.option("--password", required=True, help="Owner's password (10+ characters).")
@click.option("--name", default="", help="Account name (default: from the email).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def account_create(email: str, password: str, name: str, as_json: bool) -> None:
    from server import db
    from server.accounts.service import create_account
    from server.errors import PaydeckError
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    async def go(settings):
        await run_migrations(quiet=True)
        await db.open_pool(1, 2)
        try:
            return await create_account(name, email, password)
        finally:
            await db.close_pool()

    with infrastructure(quiet=True, command="paydeck account create") as settings:
        try:
            created = asyncio.run(go(settings))
        except PaydeckError as exc:
            click.echo(f"error: {exc.message}" + (f" ({exc.param})" if exc.param else ""), err=True)
            sys.exit(2)
    out = {"account_id": created.account["id"], "email": created.user["email"], **{
        f"{k}_key": v for k, v in created.keys.items()}}
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            click.echo(f"{key:>22}: {value}")


@main.command(help="Create the demo account (if missing) and print its login and keys.")
def demo() -> None:
    from server.demo import ensure_demo
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    with infrastructure(command="paydeck demo") as settings:
        asyncio.run(run_migrations())
        asyncio.run(ensure_demo(settings, announce=True))


@main.command(help="Send demo traffic to a running Paydeck: test-mode customers, payments with mixed outcomes, "
                   "captures and refunds.")
@click.option("--rate", default=2.0, type=float, show_default=True, help="Actions per second.")
@click.option("--duration", default=None, type=float, help="Stop after this many seconds (default: run until Ctrl-C).")
@click.option("--url", default=None, help="Base URL of the app (default PAYDECK_PUBLIC_URL, else the running app).")
@click.option("--key", default=None, help="A test-mode secret key (default: the demo account's, from the data folder).")
def simulate(rate: float, duration: float | None, url: str | None, key: str | None) -> None:
    from server.payments.simulate import run as run_traffic

    settings = get_settings()
    if key is None:
        saved = Path(settings.data_dir) / "demo.json"
        if not saved.exists():
            click.echo("error: no --key given and no demo account yet; run `paydeck run --demo` first", err=True)
            sys.exit(2)
        key = json.loads(saved.read_text())["secret_test_key"]
    if not key.startswith("sk_test_"):
        click.echo("error: simulate only uses test-mode secret keys (sk_test_…)", err=True)
        sys.exit(2)
    if rate <= 0:
        click.echo("error: --rate must be positive", err=True)
        sys.exit(2)
    url = _app_url(url)
    click.echo(f"  sending about {rate:g} actions/s to {url} (Ctrl-C stops)")
    try:
        counts = asyncio.run(run_traffic(url, key, rate, duration))
    except KeyboardInterrupt:
        return
    click.echo(json.dumps(counts, indent=2, sort_keys=True))


@main.command("seed-logs", help="Write N realistic API request log records (for demos and benchmarks).")
@click.option("--rows", "count", required=True, type=click.IntRange(1), help="How many records.")
@click.option("--account", "account_id", default=None, help="Account id (default: the demo account).")
@click.option("--days", default=7.0, type=click.FloatRange(0.001, 400), help="Spread over the last N days.")
@click.option("--live", is_flag=True, help="Live-mode records (default: test mode).")
def seed_logs(count: int, account_id: str | None, days: float, live: bool) -> None:
    import time

    from server import db
    from server.apilogs.seed import seed
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    async def go(settings) -> tuple[int, float]:
        await run_migrations(quiet=True)
        target = account_id
        if target is None:
            from server.demo import ensure_demo

            target = (await ensure_demo(settings))["account_id"]
        await db.open_pool(1, 4)
        try:
            started = time.perf_counter()
            written = await seed(target, count, days=days, livemode=live)
            return written, time.perf_counter() - started
        finally:
            await db.close_pool()

    with infrastructure(quiet=True, command="paydeck seed-logs") as settings:
        written, seconds = asyncio.run(go(settings))
    click.echo(f"wrote {written} log records in {seconds:.1f}s ({written / max(seconds, 1e-9):,.0f} rows/s)")


@main.group(help="The API-log search index.")
def search() -> None:
    pass


@search.command("rebuild", help="Rebuild the search index from PostgreSQL (Meilisearch; a no-op on PostgreSQL).")
def search_rebuild() -> None:
    from server import db
    from server.apilogs.service import engine
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    async def go() -> tuple[str, int]:
        await run_migrations(quiet=True)
        await db.open_pool(1, 4)
        try:
            current = engine()
            return current.name, await current.rebuild()
        finally:
            await db.close_pool()

    with infrastructure(quiet=True, command="paydeck search rebuild"):
        name, count = asyncio.run(go())
    click.echo(f"{name}: {count} records indexed" if name != "postgres"
               else "postgres: the log table is its own index; nothing to rebuild")


main.add_command(analytics_commands)

if __name__ == "__main__":
    main()
