"""Which process runs a claimed request, and whether it is still alive.

Each process holds a session advisory lock on its own random id, on one
connection of its own (outside the pool). A claim records that id. PostgreSQL
drops the lock when the process dies (its connection closes), so another
process can tell a dead owner's claim from a running one at once, without
waiting for a lease to run out: `pg_try_advisory_xact_lock(queries.NAMESPACE, id)`
succeeds only when nobody holds it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import secrets
import time
from typing import Any

import asyncpg

from server import db
from server.idempotency import queries

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0
CONNECT_TIMEOUT = 5.0


class _Owner:
    def __init__(self) -> None:
        self.id: int | None = None
        self.conn: Any = None
        self.task: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()
        self.failed_at = 0.0
        self.previous: int | None = None

    async def ensure(self) -> int | None:
        """This process's owner id, taking its lock on first use; None if the database refuses."""
        if self.id is not None and self.conn is not None and not self.conn.is_closed():
            return self.id
        if time.monotonic() - self.failed_at < CHECK_SECONDS:  # do not make every request wait on a dead server
            return None
        async with self.lock:
            if self.conn is None or self.conn.is_closed():
                await self._connect()
            if self.task is None or self.task.done():
                # A fresh context: started by whichever request came first, it must not log as that request.
                self.task = asyncio.get_running_loop().create_task(self._watch(), name="idempotency-owner",
                                                                   context=contextvars.Context())
        return self.id

    async def _connect(self) -> None:
        previous, self.id = self.id or self.previous, None
        try:
            self.conn = await asyncpg.connect(**{"timeout": CONNECT_TIMEOUT, **db.engine().config})
            # The same id again after a reconnect, so our running requests' claims stay ours;
            # a random id another live process holds is simply drawn again.
            candidates = ([previous] if previous else []) + [secrets.randbelow(2**31 - 2) + 1 for _ in range(10)]
            for candidate in candidates:
                if await queries.take_owner_lock(self.conn, candidate):
                    self.id = self.previous = candidate
                    self.failed_at = 0.0
                    return
        except Exception as exc:  # the database is down: claims carry no owner and expire by age alone
            if not self.failed_at:  # say it once per outage, not every few seconds
                log.warning("idempotency owner lock unavailable (claims expire by age until it is back): %s", exc)
            self.failed_at = time.monotonic()
            await self._close()

    async def _watch(self) -> None:
        """Re-take the lock after the connection drops (a database restart)."""
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                await queries.ping(self.conn)
            except Exception:
                async with self.lock:
                    await self._close()
                    await self._connect()

    async def _close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
        await self._close()
        self.id = None


_owner = _Owner()


async def current() -> int | None:
    return await _owner.ensure()


async def stop() -> None:
    await _owner.stop()
