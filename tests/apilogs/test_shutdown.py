"""Graceful shutdown flushes the buffer: every accepted request is in the table afterwards."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from server import db, embedded, health, infra
from server.apilogs import writer as writer_module
from server.app import create_app
from server.settings import get_settings
from tests.factories import new_account
from tests.support import eventually


async def test_shutdown_flushes_everything_captured(server):
    import uvicorn

    # given: a second app on its own port (it shares this process's pools and closes them when it stops)
    account = await new_account(name="Shutdown Co")
    settings = get_settings().model_copy(update={"run_workers": False})
    before = set(writer_module._running)
    port = embedded.free_port()
    uv = uvicorn.Server(uvicorn.Config(create_app(settings, run_workers=False), host="127.0.0.1", port=port,
                                       lifespan="on", log_level="warning"))
    uv.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(uv.serve())
    await eventually(lambda: uv.started, message="the second app to start")  # uvicorn offers no event to wait on
    (log_writer,) = [w for w in writer_module._running if w not in before]

    # when: requests are accepted, the periodic flush is not running, and the server stops
    log_writer.task.cancel()
    headers = {"Authorization": f"Bearer {account.keys['secret_test']}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        ids = [(await client.get("/v1/account", headers=headers)).headers["Request-Id"] for _ in range(5)]
    assert len(log_writer.pending) == 5
    uv.should_exit = True
    try:
        await task
    finally:  # pools and the draining flag are process-wide: the session's server needs them back
        await db.open_pool(settings.db_pool_min, settings.db_pool_max)
        await infra.open_redis(settings.redis_url)
        health.draining.clear()

    # then: all of them were written by the shutdown flush
    rows = await db.fetch("SELECT id FROM api_request_logs WHERE id = ANY($1::text[])", ids)
    assert {r["id"] for r in rows} == set(ids)
    assert not log_writer.running and log_writer not in writer_module._running
