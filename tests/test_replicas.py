"""Read replicas: GET reads go to a streaming replica; a principal reads its own writes; a lagging or dead
replica is skipped; /readyz and /metrics show each replica's lag.

The replica is a real one: `pg_basebackup -R` of the test session's embedded PostgreSQL (server.embedded),
whose replay the test pauses to make it fall behind on purpose.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from server import embedded
from server.replicas import router as replica_router
from tests.factories import bearer, create_key, gql, login, new_account
from tests.support import eventually

pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                                reason="needs the embedded PostgreSQL, whose replication the test controls")


@pytest.fixture
async def replica(infrastructure, server) -> AsyncIterator[embedded.EmbeddedProcess]:
    """A streaming replica of the session's database, routed to by the app."""
    primary = urlsplit(infrastructure["database_url"])
    folder = Path(tempfile.mkdtemp(prefix="paydeck-replica-"))
    process = embedded.start_replica(folder, 0, primary.port or 5432, primary.path.lstrip("/"), fsync=False)
    router = await replica_router.start([process.url], max_lag_ms=60_000, pool_max=2)
    assert router is not None
    try:
        await eventually(lambda: router.status()["replica0"]["state"] == "ok", timeout=30)
        yield process
    finally:
        await replica_router.stop()
        process.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _replay(url: str, paused: bool) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
    finally:
        await conn.close()


async def _has(http, key: str, customer_id: str) -> bool:
    return customer_id in await _ids(http, key)


async def _ids(http, key: str) -> list[str]:
    resp = await http.get("/v1/customers", params={"limit": 100}, headers=bearer(key))
    assert resp.status_code == 200, resp.text
    return [c["id"] for c in resp.json()["data"]]


async def test_reads_use_the_replica_but_a_writer_reads_its_own_writes(http, base_url, replica):
    account = await new_account()
    writer = account.keys["secret_test"]
    owner = await login(base_url, account.user["email"])
    reader = (await create_key(owner, "secret"))["secret"]
    first = (await http.post("/v1/customers", json={"email": "a@example.com"}, headers=bearer(writer))).json()["id"]
    await eventually(lambda: _has(http, reader, first), message="the replica to have the first customer")
    router = replica_router.router()
    assert router is not None
    now = time.time()  # the replica has everything so far, the owner's login included, before it stops
    await eventually(lambda: router.replicas[0].caught_up_at >= now, message="the replica to catch up")
    await _replay(replica.url, paused=True)
    try:
        # a write while the replica stands still
        made = await http.post("/v1/customers", json={"email": "b@example.com"}, headers=bearer(writer))
        second = made.json()["id"]
        # the writer sees it at once; another key reads the replica, which does not have it yet
        assert set(await _ids(http, writer)) == {first, second}
        assert await _ids(http, reader) == [first]
        # so do its GraphQL queries, and a dashboard session that logged in before the replica stopped
        listed = await gql(http, "{ customers(first: 50) { edges { node { id } } } }", headers=bearer(reader))
        assert [e["node"]["id"] for e in listed["data"]["customers"]["edges"]] == [first]
        page = await owner.get("/customers")
        assert first in page.text and second not in page.text
        # a session that logs in now reads the primary: what happened before its login is there
        fresh = await login(base_url, account.user["email"])
        page = await fresh.get("/customers")
        await fresh.client.aclose()
        assert first in page.text and second in page.text
        # when the replica lags past the limit it is skipped: everyone reads the primary
        replica_router.router().max_lag_ms = 100  # type: ignore[union-attr]
        await eventually(lambda: replica_router.router().status()["replica0"]["state"] == "lagging")  # type: ignore[union-attr]
        assert set(await _ids(http, reader)) == {first, second}
        ready = (await http.get("/readyz")).json()
        assert ready["status"] == "ok" and ready["checks"]["replicas"]["replica0"]["state"] == "lagging"
        metrics = (await http.get("/metrics")).text
        assert 'paydeck_replica_lag_seconds{' in metrics
    finally:
        await _replay(replica.url, paused=False)
        await owner.client.aclose()
    await eventually(lambda: replica_router.router().status()["replica0"]["state"] == "ok")  # type: ignore[union-attr]


async def test_a_dead_replica_is_skipped(http, replica):
    account = await new_account()
    key = account.keys["secret_test"]
    made = (await http.post("/v1/customers", json={"email": "a@example.com"}, headers=bearer(key))).json()["id"]
    replica.stop()  # the replica's server is gone
    assert made in await _ids(http, key)  # the first read that fails on it is retried on the primary
    router = replica_router.router()
    assert router is not None
    await eventually(lambda: router.status()["replica0"]["state"] == "down")
    assert made in await _ids(http, key)
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["replicas"]["replica0"]["state"] == "down"
