"""Bring up the parts the app needs: embedded PostgreSQL/Redis when no URL is set, migrations."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from server.settings import Settings, get_settings

log = logging.getLogger(__name__)


@contextlib.contextmanager
def infrastructure(settings: Settings | None = None, *, quiet: bool = False) -> Iterator[Settings]:
    """Yield settings with DATABASE_URL and REDIS_URL filled in, starting embedded servers if needed."""
    from server import embedded

    settings = settings or get_settings()
    started: list[embedded.EmbeddedProcess] = []
    data_dir = Path(settings.data_dir)
    try:
        if not settings.database_url:
            pg = embedded.start_postgres(data_dir)
            started.append(pg)
            settings.database_url = pg.url
            if not quiet:
                print(f"  embedded PostgreSQL on 127.0.0.1:{pg.port} (data in {data_dir / 'pg'})", flush=True)
        if not settings.redis_url:
            rd = embedded.start_redis(data_dir / "redis")
            started.append(rd)
            settings.redis_url = rd.url
            if not quiet:
                print(f"  embedded Redis on 127.0.0.1:{rd.port}", flush=True)
        if not settings.processor_url:
            from server.payments.processor import start_simulator

            sim = start_simulator(data_dir)
            started.append(sim)
            if not quiet:
                print(f"  card-processor simulator on 127.0.0.1:{sim.port}", flush=True)
        os.environ["DATABASE_URL"] = settings.database_url
        os.environ["REDIS_URL"] = settings.redis_url
        from server import db

        db.configure(settings.database_url)
        yield settings
    finally:
        for proc in reversed(started):
            proc.stop()


async def migrate(quiet: bool = False) -> None:
    """Apply every pending Piccolo migration."""
    import io
    from contextlib import redirect_stdout

    import asyncpg
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from server import db

    # Several processes may start at once (compose scales web): one migrates, the others wait.
    lock = await asyncpg.connect(db.engine().config["dsn"])
    try:
        await lock.execute("SELECT pg_advisory_lock(4242001)")
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            response = await run_forwards(app_name="all", migration_id="all", fake=False)
    finally:
        await lock.close()
    if not response.success:
        raise RuntimeError(f"migrations failed: {response.message}\n{buffer.getvalue()}")
    if not quiet:
        print("  migrations applied", flush=True)
