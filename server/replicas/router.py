"""Reads that may go to a PostgreSQL read replica, and the replicas fit to take them.

What reads a replica: a `SELECT` run outside any transaction while serving a
GET/HEAD request (dashboard pages, REST lists and details, API-log search) or
a GraphQL query (`read_routing_middleware`, server.gql.view). Writes,
everything inside a transaction, authentication (a revoked key is refused at
once) and background work use the primary.

How far behind: every SAMPLE_SECONDS each process notes the primary's WAL
position, with the wall time just before it asked, and how far each replica
has replayed. A replica that has replayed position L_i is *caught up as of*
t_i: it holds every commit that finished before t_i. Its lag is now - t_i.

Which one: a replica that answers and lags at most PAYDECK_REPLICA_MAX_LAG_MS.
Read-your-writes: when a principal (an API key or a dashboard user) commits a
write, the time after COMMIT goes to Redis for a few seconds (any process may
serve its next read); its reads then use only a replica caught up as of that
time, and the primary while none is. A replica that fails a read is skipped
and the read retried on the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from server import db
from server.db_engine import register_json_codecs
from server.infra import redis
from server.replicas import queries

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 0.1
HISTORY = 1200  # primary positions kept: two minutes of samples
WROTE_KEY = "paydeck:wrote:"
READ_METHODS = {"GET", "HEAD"}

_principal: contextvars.ContextVar[str | None] = contextvars.ContextVar("paydeck_read_principal", default=None)
_since: contextvars.ContextVar[float | None] = contextvars.ContextVar("paydeck_read_since", default=None)
_UNKNOWN = -1.0
_wrote_at: contextvars.ContextVar[float | None] = contextvars.ContextVar("paydeck_wrote_at", default=_UNKNOWN)


@dataclass
class Replica:
    name: str
    url: str
    pool: Any = None
    replayed: int | None = None
    caught_up_at: float = 0.0  # wall time: every commit finished before it is on this replica
    error: str | None = "not checked yet"

    def lag_ms(self, now: float) -> float:
        return math.inf if self.caught_up_at == 0 else max(0.0, (now - self.caught_up_at) * 1000)

    def describe(self, now: float, max_lag_ms: float) -> dict[str, Any]:
        if self.error:
            return {"state": "down", "error": self.error}
        lag = self.lag_ms(now)
        return {"state": "ok" if lag <= max_lag_ms else "lagging", "lag_ms": round(lag, 1)}


class Router:
    """This process's replicas: their pools, how far behind each is, which one a read may use."""

    def __init__(self, urls: list[str], max_lag_ms: float, pool_max: int) -> None:
        self.replicas = [Replica(f"replica{i}", url) for i, url in enumerate(urls)]
        self.max_lag_ms = max_lag_ms
        self.pool_max = pool_max
        self.primary: asyncpg.Connection | None = None
        self.history: deque[tuple[float, int]] = deque(maxlen=HISTORY)
        self.turn = itertools.count()
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._watch(), name="replica-router")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        for replica in self.replicas:
            if replica.pool is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(replica.pool.close(), 5)
        if self.primary is not None:
            with contextlib.suppress(Exception):
                await self.primary.close(timeout=2)

    async def _watch(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception as exc:  # the primary is away: replicas are judged again when it is back
                log.debug("replica sampling failed: %s", exc)
                if self.primary is not None:
                    self.primary.terminate()
                    self.primary = None
            await asyncio.sleep(SAMPLE_SECONDS)

    async def sample(self) -> None:
        if self.primary is None or self.primary.is_closed():
            self.primary = await asyncpg.connect(db.engine().config["dsn"])
        asked = time.time()
        self.history.append((asked, await queries.primary_position(self.primary)))
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))

    async def _check(self, replica: Replica) -> None:
        try:
            if replica.pool is None:
                replica.pool = await asyncpg.create_pool(replica.url, min_size=1, max_size=self.pool_max,
                                                         init=register_json_codecs, timeout=2)
            async with replica.pool.acquire(timeout=1) as conn:
                replayed = await asyncio.wait_for(queries.replayed_position(conn), 1)
        except Exception as exc:
            if replica.error is None:
                log.warning("read replica %s is not answering (%s): reads use the primary", replica.name, exc)
            replica.error = f"{type(exc).__name__}: {exc}"[:200]
            return
        if replayed is None:
            replica.error = "not a replica (pg_last_wal_replay_lsn() is null)"
            return
        if replica.error is not None and replica.error != "not checked yet":
            log.warning("read replica %s answers again", replica.name)
        replica.error = None
        replica.replayed = replayed
        for asked, position in reversed(self.history):
            if position <= replayed:
                replica.caught_up_at = max(replica.caught_up_at, asked)
                break

    def pick(self, wrote_at: float | None) -> Replica | None:
        now = time.time()
        fit = [r for r in self.replicas if r.error is None and r.lag_ms(now) <= self.max_lag_ms
               and (wrote_at is None or r.caught_up_at >= wrote_at)]
        return fit[next(self.turn) % len(fit)] if fit else None

    def failed(self, replica_pool: Any, exc: BaseException) -> None:
        for replica in self.replicas:
            if replica.pool is replica_pool:
                replica.error = f"{type(exc).__name__}: {exc}"[:200]
                log.warning("read on %s failed (%s); retried on the primary", replica.name, exc)

    def status(self) -> dict[str, Any]:
        now = time.time()
        return {r.name: r.describe(now, self.max_lag_ms) for r in self.replicas}

    async def route(self) -> Any | None:
        """The pool of a replica this request's read may use, or None for the primary."""
        wrote_at = _wrote_at.get()
        if wrote_at == _UNKNOWN:
            wrote_at = max(await _recent_write(_principal.get()) or 0.0, _since.get() or 0.0) or None
            _wrote_at.set(wrote_at)
        replica = self.pick(wrote_at)
        return replica.pool if replica is not None else None

    async def wrote(self) -> None:
        """A write of this request's principal committed: its next reads must see it, in any process."""
        principal = _principal.get()
        now = time.time()
        _wrote_at.set(now)
        if principal is not None:
            keep = max(2, math.ceil(self.max_lag_ms / 1000) + 2)  # older writes are on every replica fit to read
            await redis().set(WROTE_KEY + principal, repr(now), ex=keep)


async def _recent_write(principal: str | None) -> float | None:
    if principal is None:
        return None
    raw = await redis().get(WROTE_KEY + principal)
    return float(raw) if raw else None


def identify(principal: str, since: float | None = None) -> None:
    """Who this request acts for (server.auth): its reads must see its own recent writes, and everything
    committed before `since` (a session's login: what the user saw or did before it, a sign-up included).
    A `since` older than the lag limit costs nothing: every replica fit to read is past it."""
    _principal.set(principal)
    _since.set(since)
    _wrote_at.set(_UNKNOWN)


_router: Router | None = None


def router() -> Router | None:
    return _router


async def start(urls: list[str], max_lag_ms: float, pool_max: int) -> Router | None:
    """Route reads to `urls` (none: everything stays on the primary)."""
    global _router
    if not urls or _router is not None:
        return _router
    _router = Router(urls, max_lag_ms, pool_max)
    await _router.start()
    db.route_reads(_router.route, _router.wrote, _router.failed)
    return _router


async def stop() -> None:
    global _router
    if _router is not None:
        current, _router = _router, None
        db.route_reads(None, None, None)
        await current.stop()


def read_routing_middleware(app: ASGIApp) -> ASGIApp:
    """GET and HEAD requests may read from a replica (what they write still goes to the primary)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] in READ_METHODS:
            with db.replica_reads():
                await app(scope, receive, send)
        else:
            await app(scope, receive, send)

    return middleware
