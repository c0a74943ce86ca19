"""The dispatcher with several instances: every committed event reaches Redis, at least once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from redis.asyncio import Redis

from server import db
from server.events.dispatcher import Dispatcher
from server.events.queries import LEADER_LOCK
from server.events.wire import channel
from tests.events.helpers import WSClient, emit_event, nudging, scope_of
from tests.factories import new_account
from tests.support import eventually

LEADER_PID = ("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
              "AND ((classid::bigint << 32) | objid::bigint) = $1")


async def kill_leader() -> int | None:
    """Terminate the connection of whichever dispatcher leads, as a crash would."""
    row = await db.fetchrow(LEADER_PID, LEADER_LOCK)
    if row:
        await db.execute("SELECT pg_terminate_backend($1)", row["pid"])
    return row["pid"] if row else None


@contextlib.asynccontextmanager
async def redis_listener(redis_url: str, channels: list[str]):
    """A raw Redis subscriber: every message on the channels, duplicates included."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    pubsub = redis.pubsub()
    await pubsub.subscribe(*channels)
    received: list[dict] = []

    async def read():
        async for item in pubsub.listen():
            if item["type"] == "message":
                received.append(json.loads(item["data"]))

    task = asyncio.create_task(read())
    try:
        yield received
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pubsub.aclose()
        await redis.aclose()


class TestSeveralDispatchers:
    async def test_every_event_is_published_while_the_leader_dies(self, infrastructure, server):
        # given two more dispatcher instances besides the app's own
        account = await new_account()
        scope = scope_of(account)
        redis = Redis.from_url(infrastructure["redis_url"], decode_responses=True)
        extra = [Dispatcher(infrastructure["database_url"], redis, poll_seconds=0.2) for _ in range(2)]
        tasks = [asyncio.create_task(d.run()) for d in extra]
        try:
            async with redis_listener(infrastructure["redis_url"], [channel(scope.account_id, False)]) as received:
                # when events commit concurrently and the leader is killed midway
                first = await asyncio.gather(*[emit_event(scope) for _ in range(40)])
                killed = await kill_leader()
                second = await asyncio.gather(*[emit_event(scope) for _ in range(40)])
                emitted = set(first) | set(second)
                # then every event is published (consumers de-duplicate by id)
                await eventually(lambda: emitted <= {m["id"] for m in received}, timeout=20)
            assert killed is not None
            positions = {m["id"]: m["pos"] for m in received}
            assert all(positions[i] > 0 for i in emitted)
            assert len(set(positions.values())) == len(positions), "one position per event"
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await redis.aclose()

    async def test_an_interrupted_dispatch_is_published_by_the_next_leader(self, infrastructure, base_url, caplog):
        caplog.set_level(logging.INFO, logger="server.events.dispatcher")
        account = await new_account()
        scope = scope_of(account)
        key = {"Authorization": f"Bearer {account.keys['secret_test']}"}
        redis = Redis.from_url(infrastructure["redis_url"], decode_responses=True)
        crashing = Dispatcher(infrastructure["database_url"], redis)
        try:
            async with WSClient(base_url, key, "subscription { events { id } }") as ws:
                markers: list[str] = []

                async def nudge():
                    markers.append(await emit_event(scope, "test.marker", "test"))

                await eventually(nudging(lambda: any(m in ws.ids() for m in markers), nudge))
                # given a dispatcher that takes the lead ...
                await crashing._connect()

                async def lead():
                    if not await crashing.conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK):
                        await kill_leader()
                        return False
                    return True

                led = [False]

                async def try_lead():
                    led[0] = await lead()

                await eventually(nudging(lambda: led[0], try_lead), timeout=20)
                # ... gives positions to committed events, and dies before publishing them
                emitted = [await emit_event(scope) for _ in range(3)]
                assigned = await crashing.assign()
                assert set(emitted) <= {r["id"] for r in assigned}
                await crashing.close()
                # then the next leader publishes them, and subscribers get each once
                await eventually(lambda: set(emitted) <= set(ws.ids()), timeout=20)
            assert len(ws.ids()) == len(set(ws.ids()))
            assert any("republishing" in r.getMessage() for r in caplog.records)
        finally:
            await crashing.close()
            await redis.aclose()
