"""Test harness: real PostgreSQL and Redis, the real app served over HTTP on 127.0.0.1.

PostgreSQL and Redis are embedded in a temporary folder unless
TEST_DATABASE_URL / TEST_REDIS_URL are set. One app server runs for the
session in the test event loop; tests isolate themselves by creating their
own accounts.

`make test` runs the suite in several processes (pytest-xdist). Each has all
of the above to itself: its own embedded servers, or, on the server given by
TEST_DATABASE_URL, a fresh database of its own. Tests rely on that: workers of
another process would claim their deliveries. Redis cannot be shared that way
(pub/sub ignores database numbers), so TEST_REDIS_URL needs a run in one
process (`make test PYTEST_WORKERS=0`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

pytest_plugins = ["tests.webhooks.fixtures", "tests.processes"]  # allow_private, shop, run_dir: used widely

TEST_SETTINGS = {
    "PAYDECK_API_RATE_LIMIT_PER_SECOND": "60",
    "PAYDECK_LOGIN_ATTEMPTS_PER_15MIN": "5",
    "PAYDECK_LOGIN_ATTEMPTS_PER_IP_15MIN": "100000",
    "PAYDECK_PUBLIC_URL": "http://127.0.0.1",
    "PAYDECK_SHUTDOWN_GRACE_SECONDS": "2",
    "PAYDECK_PROCESSOR_TIMEOUT_SECONDS": "1",
    "PAYDECK_PROCESSOR_TIMEOUT_DELAY": "2",
    "PAYDECK_RECONCILE_AFTER_SECONDS": "0.5",
    "PAYDECK_DISPUTE_SYNC_SECONDS": "0.2",  # the processor's dispute feed is read this often
    "PAYDECK_DISPUTE_DECISION_SECONDS": "0.5",  # the simulator decides submitted evidence after this
    "PAYDECK_PASSWORD_HASH_COST": "cheapest",  # argon2 at full cost is most of the time of tests that log in
    "PAYDECK_TEST_FAULTS": "true",  # the Paydeck-Test-Fault header (server/faults.py) works in tests only
}


@pytest.fixture(scope="session")
def infrastructure() -> dict[str, str]:
    from server import embedded

    tmp = Path(tempfile.mkdtemp(prefix="paydeck-test-"))
    started = []
    db_url = _database_of_this_worker(os.environ.get("TEST_DATABASE_URL"))
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not db_url:
        pg = embedded.start_postgres(tmp, fsync=False, database="paydeck_test")
        started.append(pg)
        db_url = pg.url
    if not redis_url:
        rd = embedded.start_redis(tmp / "redis", persist=False)
        started.append(rd)
        redis_url = rd.url
    os.environ.update({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "PAYDECK_DATA_DIR": str(tmp),
                       **TEST_SETTINGS})
    from server.settings import get_settings

    get_settings.cache_clear()
    if not os.environ.get("TEST_PROCESSOR_URL"):
        from server.payments.processor import start_simulator

        started.append(start_simulator(tmp / "processor"))
    else:
        os.environ["PAYDECK_PROCESSOR_URL"] = os.environ["TEST_PROCESSOR_URL"]
        get_settings().processor_url = os.environ["TEST_PROCESSOR_URL"]
    yield {"database_url": db_url, "redis_url": redis_url, "data_dir": str(tmp)}
    for proc in reversed(started):
        proc.stop()
    shutil.rmtree(tmp, ignore_errors=True)  # each run writes hundreds of MB; left behind, they fill the disk


def pytest_configure(config):
    if os.environ.get("TEST_REDIS_URL") and config.getoption("numprocesses", None):
        raise pytest.UsageError(
            "TEST_REDIS_URL would be shared by every pytest-xdist worker and their event streams would mix (Redis "
            "pub/sub ignores database numbers): run in one process, with -n 0 (make test PYTEST_WORKERS=0)")


def _worker_number() -> int | None:
    """0, 1, ... in a pytest-xdist worker ("gw0", "gw1", ...); None in a single-process run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return int(worker.removeprefix("gw")) if worker else None


def _database_of_this_worker(url: str | None) -> str | None:
    """A given PostgreSQL URL as is, or in an xdist worker the same server's database `<name>_gw<N>`, new."""
    number = _worker_number()
    if not url or number is None:
        return url
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_gw{number}"
    asyncio.run(_create_database(urlunsplit(parts._replace(path="/postgres")), name))
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _create_database(maintenance_url: str, name: str) -> None:
    """The worker's own database, empty: it only ever holds this worker's test data."""
    import asyncpg

    conn = await asyncpg.connect(maintenance_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def server(infrastructure) -> AsyncIterator[str]:
    """The app, migrated and served by uvicorn on a free port; yields its base URL."""
    import uvicorn

    from server import embedded
    from server.app import create_app
    from server.runtime import migrate
    from server.settings import get_settings
    from server.wsprotocol import LeanWebSocketProtocol

    settings = get_settings()
    from server import db

    db.configure(settings.database_url)
    await migrate(quiet=True)
    port = embedded.free_port()
    settings.public_url = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, lifespan="on",
                            log_level="warning", ws=LeanWebSocketProtocol)
    uv = uvicorn.Server(config)
    uv.capture_signals = _no_signals  # type: ignore[method-assign]
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield settings.public_url
    uv.should_exit = True
    try:
        await asyncio.wait_for(asyncio.shield(task), SERVER_STOP_SECONDS)
    except TimeoutError:
        # The session's app shares process-wide state with tests that replace pools, kill leaders and start
        # second apps; its shutdown once hung in CI. Show every task's stack instead of hanging the run;
        # `paydeck run`'s own shutdown is held to its limit by tests/test_run_lifecycle.py.
        _dump_tasks(f"the session's app did not stop within {SERVER_STOP_SECONDS:.0f} s; its tasks:")


SERVER_STOP_SECONDS = 60.0


def _dump_tasks(title: str) -> None:
    import io
    import sys

    out = io.StringIO()
    for running in asyncio.all_tasks():
        running.print_stack(file=out)
    sys.stderr.write(f"\n{title}\n{out.getvalue()}\n")


def _no_signals():
    import contextlib

    return contextlib.nullcontext()


@pytest.fixture
async def http(server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30, follow_redirects=False) as client:
        yield client


@pytest.fixture
def base_url(server) -> str:
    return server


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.browser)
