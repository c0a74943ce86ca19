"""`/metrics`: Prometheus figures of every web process, with the official prometheus-client.

Several web processes (server.webpool) each keep their own counters; the
client's multiprocess mode adds them up. The parent of the web processes
points `PROMETHEUS_MULTIPROC_DIR` at an empty folder under the data folder
before starting them (`prepare_multiprocess_dir`), each process writes its
figures there, and whichever process answers a scrape reads them all. A
single process keeps them in memory. Gauges of a process (its pool, its live
connections, its log buffer) are refreshed every second by `sample_process`
and shown per process (`pid` label) or summed; figures of the whole system
(webhook queue, dispatch lag, reconciler backlog, job heartbeats) are read
from PostgreSQL and Redis when scraped.

Access: with PAYDECK_METRICS_TOKEN set, a scrape must send
`Authorization: Bearer <token>`; without it, only loopback clients are
answered (anyone else gets 404, as if there were no such page).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import math
import os
import shutil
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from server import clock, db
from server.events import queries as event_queries
from server.infra import redis
from server.payments import queries as payment_queries
from server.replicas import router as replica_router
from server.settings import get_settings
from server.webhooks import queries as webhook_queries

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
JOBS_KEY = "paydeck:job-heartbeats"  # Redis hash: job name -> unix time of its last successful run
WORKERS_KEY = "paydeck:worker-heartbeats"  # Redis hash: host:pid of a worker process -> unix time it last beat
SAMPLE_SECONDS = 1.0
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

REQUEST_SECONDS = Histogram(
    "paydeck_http_request_duration_seconds", "HTTP requests by route template, method and status class",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
DB_POOL_IN_USE = Gauge("paydeck_db_pool_in_use", "Pooled PostgreSQL connections lent out", multiprocess_mode="livesum")
DB_POOL_SIZE = Gauge("paydeck_db_pool_size", "Pooled PostgreSQL connections open", multiprocess_mode="livesum")
DB_POOL_WAITING = Gauge("paydeck_db_pool_waiting", "Requests waiting for a pooled connection",
                        multiprocess_mode="livesum")
LIVE_CONNECTIONS = Gauge("paydeck_live_connections", "Open SSE streams and GraphQL subscriptions of a process",
                         multiprocess_mode="liveall")
APILOG_BUFFER = Gauge("paydeck_apilog_buffer_records", "API-log records captured and not yet written",
                      multiprocess_mode="livesum")
APILOG_DROPPED = Gauge("paydeck_apilog_dropped_records", "API-log records dropped because the buffer was full",
                       multiprocess_mode="livesum")
# Whole-system figures, read from PostgreSQL/Redis by the process answering the scrape.
DISPATCH_LAG = Gauge("paydeck_event_dispatch_lag_seconds", "Age of the oldest committed event not yet dispatched",
                     multiprocess_mode="mostrecent")
WEBHOOK_QUEUE_DEPTH = Gauge("paydeck_webhook_queue_depth", "Webhook deliveries due now",
                            multiprocess_mode="mostrecent")
WEBHOOK_QUEUE_AGE = Gauge("paydeck_webhook_queue_age_seconds", "How long the oldest due delivery has been due",
                          multiprocess_mode="mostrecent")
RECONCILER_BACKLOG = Gauge("paydeck_reconciler_backlog", "Payments the reconciler has yet to settle",
                           multiprocess_mode="mostrecent")
JOB_HEARTBEAT = Gauge("paydeck_job_last_success_timestamp_seconds", "When each background job last ran to the end",
                      ["job"], multiprocess_mode="mostrecent")
WORKER_HEARTBEAT = Gauge("paydeck_worker_heartbeat_timestamp_seconds", "When each worker process (host:pid) last beat",
                         ["worker"], multiprocess_mode="mostrecent")

REPLICA_LAG = Gauge("paydeck_replica_lag_seconds", "How far behind the primary each read replica is, as this "
                    "process sees it (+Inf: not answering)", ["replica"], multiprocess_mode="liveall")

# Filled in by the app: where this process's figures come from (server.app wires them).
process_sources: dict[str, Callable[[], float]] = {}


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Time every HTTP request, labelled by its route template (not its path: ids would explode the series)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            route = scope.get("path_template") or "unmatched"  # set by the router; none for a 404
            REQUEST_SECONDS.labels(route, scope["method"], status_class(status)).observe(time.perf_counter() - began)

    return middleware


def sample_process() -> None:
    """This process's own gauges, now."""
    pool = db.engine().pool
    if pool is not None:
        size = pool.get_size()
        DB_POOL_SIZE.set(size)
        DB_POOL_IN_USE.set(size - pool.get_idle_size())
        DB_POOL_WAITING.set(getattr(pool, "waiting", 0))
    router = replica_router.router()
    if router is not None:
        now = time.time()
        for replica in router.replicas:
            REPLICA_LAG.labels(replica.name).set(math.inf if replica.error else replica.lag_ms(now) / 1000)
    for name, gauge in (("live_connections", LIVE_CONNECTIONS), ("apilog_buffer", APILOG_BUFFER),
                        ("apilog_dropped", APILOG_DROPPED)):
        source = process_sources.get(name)
        if source is not None:
            gauge.set(source())


async def sampling() -> None:
    """Keep this process's gauges fresh for scrapes answered by a sibling process."""
    while True:
        sample_process()
        await asyncio.sleep(SAMPLE_SECONDS)


async def sample_system() -> None:
    """Figures of the whole deployment, from PostgreSQL and Redis."""
    DISPATCH_LAG.set(await event_queries.dispatch_lag_seconds())
    queue = await webhook_queries.queue_stats(clock.WEBHOOKS.now())
    WEBHOOK_QUEUE_DEPTH.set(queue["depth"])
    WEBHOOK_QUEUE_AGE.set(queue["age"])
    settings = get_settings()
    stale = settings.processor_timeout_seconds + settings.reconcile_after_seconds
    RECONCILER_BACKLOG.set(await payment_queries.reconcile_backlog(clock.PAYMENTS.now() - timedelta(seconds=stale)))
    for gauge, key in ((JOB_HEARTBEAT, JOBS_KEY), (WORKER_HEARTBEAT, WORKERS_KEY)):
        for name, at in (await redis().hgetall(key)).items():
            gauge.labels(_text(name)).set(float(at))


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()


async def beat(job: str | None = None) -> None:
    """Record that a job ran to the end (`job`), or that this worker process is alive (server.workers)."""
    now = str(clock.wall().timestamp())
    if job is None:
        await redis().hset(WORKERS_KEY, f"{socket.gethostname()}:{os.getpid()}", now)
    else:
        await redis().hset(JOBS_KEY, job, now)


def render() -> bytes:
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """An empty folder for the web processes' figures; set in the environment before they start."""
    directory = data_dir / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def process_gone(pid: int) -> None:
    """A web process ended: drop its live gauges (the parent calls this)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


def _allowed(request: Request) -> bool:
    token = get_settings().metrics_token
    if token:
        sent = request.headers.get("authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    return request.client is not None and request.client.host in LOOPBACK


@get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format; 404 to anyone not allowed (see the module docstring)."""
    if not _allowed(request):
        raise NotFoundException()
    with contextlib.suppress(Exception):  # a figure PostgreSQL or Redis cannot give now is left as it was
        await asyncio.wait_for(sample_system(), 2)
    sample_process()
    body = await asyncio.to_thread(render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

