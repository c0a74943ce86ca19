"""Bring up the parts the app needs: embedded PostgreSQL/Redis when no URL is set, migrations.

The embedded servers of a data folder belong to one process at a time
(server.ownership). A command run beside `paydeck run` attaches to that
process's servers instead of starting (or stopping) its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

from server.embedded import EmbeddedProcess
from server.ownership import Claim, claim_or_attach
from server.settings import Settings, get_settings

log = logging.getLogger(__name__)

_owned: list[EmbeddedProcess] = []
_claim: Claim | None = None


def owned_processes() -> list[EmbeddedProcess]:
    """The embedded servers this process started and owns (server.supervisor watches them)."""
    return list(_owned)


@contextlib.contextmanager
def infrastructure(settings: Settings | None = None, *, quiet: bool = False, command: str = "paydeck",
                   serving: bool = False, processor: bool = False) -> Iterator[Settings]:
    """Yield settings with DATABASE_URL and REDIS_URL (and, with `processor`, the processor's URL) filled in.

    Unset URLs are served by the data folder's embedded servers: ours if we own the folder (started
    here, stopped on exit), or those of the live `paydeck run` that owns it. `serving` marks a
    long-running command: it must own the folder, and refuses if another long-running one does.
    """
    global _claim
    settings = settings or get_settings()
    wanted = {"database_url": not settings.database_url, "redis_url": not settings.redis_url,
              "processor_url": processor and not settings.processor_url}
    claim: Claim | None = None
    try:
        if any(wanted.values()):
            found = claim_or_attach(settings.data_dir, command, serving)
            if isinstance(found, Claim):
                claim = _claim = found
                claim.publish()  # at once: a second `paydeck run` learns who owns the folder while we start
                _start_embedded(settings, wanted, quiet)
                claim.publish(database_url=settings.database_url, redis_url=settings.redis_url,
                              processor_url=settings.processor_url)
            else:
                _attach(settings, found, wanted)
        assert settings.database_url and settings.redis_url, "started, attached or given: both are known here"
        os.environ["DATABASE_URL"] = settings.database_url
        os.environ["REDIS_URL"] = settings.redis_url
        if settings.processor_url:
            os.environ["PAYDECK_PROCESSOR_URL"] = settings.processor_url
        from server import db

        db.configure(settings.database_url)
        yield settings
    finally:
        while _owned:
            _owned.pop().stop()
        if claim is not None:
            _claim = None
            claim.release()


def published(**urls: str) -> None:
    """Add to what the data folder's runtime file says about us (the app's URL, once known)."""
    if _claim is not None:
        _claim.publish(**urls)


def _start_embedded(settings: Settings, wanted: dict[str, bool], quiet: bool) -> None:
    from server import embedded

    data_dir = settings.data_dir
    if wanted["database_url"]:
        pg = embedded.start_postgres(data_dir)
        _owned.append(pg)
        settings.database_url = pg.url
        if not quiet:
            print(f"  embedded PostgreSQL on 127.0.0.1:{pg.port} (data in {data_dir / 'pg'})", flush=True)
        for index in range(settings.replicas):
            replica = embedded.start_replica(data_dir, index, pg.port, pg.url.rsplit("/", 1)[1])
            _owned.append(replica)
            if not quiet:
                print(f"  embedded PostgreSQL read replica {index} on 127.0.0.1:{replica.port} "
                      f"(data in {data_dir / f'replica-{index}'})", flush=True)
        if settings.replicas:
            urls = [p.url for p in _owned if p.name.startswith("PostgreSQL replica")]
            settings.read_replica_urls = os.environ["PAYDECK_READ_REPLICA_URLS"] = ",".join(urls)
    if wanted["redis_url"]:
        rd = embedded.start_redis(data_dir / "redis")
        _owned.append(rd)
        settings.redis_url = rd.url
        if not quiet:
            print(f"  embedded Redis on 127.0.0.1:{rd.port}", flush=True)
    if wanted["processor_url"]:
        from server.payments.processor import start_simulator

        sim = start_simulator(data_dir)
        _owned.append(sim)
        if not quiet:
            print(f"  card-processor simulator on 127.0.0.1:{sim.port}", flush=True)


def _attach(settings: Settings, owner, wanted: dict[str, bool]) -> None:
    for name, needed in wanted.items():
        if needed:
            setattr(settings, name, getattr(owner, name))
    # Said even when quiet (on stderr, apart from a command's output): the user should know.
    print(f"  using the servers of {owner.describe()}", file=sys.stderr, flush=True)


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
