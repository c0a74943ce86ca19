"""create_app(): routes, error handling, and the lifespan that opens pools and starts workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from litestar import Litestar
from litestar.static_files import create_static_files_router

from server import db, health, infra, metrics, openapi
from server.accounts import pages as account_pages
from server.accounts.rest import AccountController
from server.analytics import pages as analytics_pages
from server.analytics.rest import AnalyticsController
from server.apilogs import pages as apilog_pages
from server.apilogs import writer as apilog_writer
from server.apilogs.capture import apilog_middleware
from server.apilogs.rest import RequestLogController
from server.benchmarks import pages as benchmark_pages
from server.benchmarks.rest import BenchmarkController
from server.claims import pages as claim_pages
from server.claims.rest import TransferClaimController
from server.customers import pages as customer_pages
from server.customers.rest import CustomerController, TransferController
from server.disputes import pages as dispute_pages
from server.disputes.rest import CONTROLLERS as DISPUTE_CONTROLLERS
from server.events import hub as events_hub
from server.events import pages as event_pages
from server.events.limits import live as live_connections
from server.events.limits import websocket_cap
from server.events.rest import EventController
from server.events.sse import live_streams
from server.files.rest import FileController
from server.fraud import pages as fraud_pages
from server.fraud.rest import CONTROLLERS as FRAUD_CONTROLLERS
from server.gql.live_ws import live_ws
from server.gql.view import GraphQLController
from server.idempotency import owner as idempotency_owner
from server.idempotency.middleware import idempotency_middleware
from server.keys import pages as key_pages
from server.ledger import pages as ledger_pages
from server.operations import load_all as load_operations
from server.paths import WEB
from server.payments import pages as payment_pages
from server.payments.rest import CONTROLLERS as PAYMENT_CONTROLLERS
from server.replicas import router as replica_router
from server.replicas.router import read_routing_middleware
from server.reporting import pages as reporting_pages
from server.reporting.rest import ExportController, ReportRunController
from server.request_guard import request_guard
from server.requestid import request_id_middleware
from server.rest_errors import HANDLERS as ERROR_HANDLERS
from server.runtime import owned_processes
from server.settings import Settings, get_settings
from server.stripe_compat.routes import ROUTER as STRIPE_COMPAT
from server.supervisor import Supervisor
from server.urls import public_url_middleware
from server.web.headers import security_headers
from server.webhooks import pages as webhook_pages
from server.webhooks.rest import WebhookEndpointController
from server.workers import Workers

log = logging.getLogger(__name__)
STATIC = WEB / "static"

REST_CONTROLLERS = [AccountController, CustomerController, TransferController, *PAYMENT_CONTROLLERS,
                    RequestLogController, EventController, WebhookEndpointController, *DISPUTE_CONTROLLERS,
                    FileController, TransferClaimController, BenchmarkController, *FRAUD_CONTROLLERS,
                    AnalyticsController, ReportRunController, ExportController]
PAGE_HANDLERS = [*account_pages.HANDLERS, *key_pages.HANDLERS, *customer_pages.HANDLERS, *ledger_pages.HANDLERS,
                 *payment_pages.HANDLERS, *apilog_pages.HANDLERS, *event_pages.HANDLERS, *webhook_pages.HANDLERS,
                 *dispute_pages.HANDLERS, *claim_pages.HANDLERS, *benchmark_pages.HANDLERS,
                 *fraud_pages.HANDLERS, *analytics_pages.HANDLERS, *reporting_pages.HANDLERS]


def _lifespan(settings: Settings, log_writer: apilog_writer.LogWriter,
              workers_enabled: bool) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """What the app starts before serving (pools, hub, log writer, workers, supervisor) and stops after."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        assert settings.database_url and settings.redis_url, "DATABASE_URL and REDIS_URL must be set"
        db.configure(settings.database_url)
        await db.open_pool(settings.db_pool_min, settings.db_pool_max)
        await infra.open_redis(settings.redis_url)
        if not health.stop_requested:  # told to stop while starting (a web process of several): stay draining
            health.draining.clear()
        await events_hub.start_hub(settings.redis_url)
        if settings.apilog_enabled:
            await log_writer.start()
        workers = Workers(settings) if workers_enabled else None
        if workers:
            await workers.start()
        supervisor = Supervisor(owned_processes())  # the embedded servers we started, if any
        supervisor.start()
        metrics.process_sources.update(live_connections=lambda: live_connections.open,
                                       apilog_buffer=lambda: len(log_writer.pending),
                                       apilog_dropped=lambda: log_writer.dropped)
        sampler = asyncio.create_task(metrics.sampling(), name="metrics-sampler")
        await replica_router.start(settings.replica_urls(), settings.replica_max_lag_ms,
                                   max(2, settings.db_pool_max // 2))
        try:
            yield
        finally:
            health.draining.set()
            sampler.cancel()
            await replica_router.stop()
            await supervisor.stop()
            if log_writer.running:  # the server has stopped taking requests: flush every captured one
                await log_writer.stop()
            if workers:
                await workers.stop()
            await events_hub.stop_hub()
            await infra.close_redis()
            await idempotency_owner.stop()
            await db.close_pool()

    return lifespan


def create_app(settings: Settings | None = None, run_workers: bool | None = None) -> Litestar:
    settings = settings or get_settings()
    workers_enabled = settings.run_workers if run_workers is None else run_workers
    load_operations()
    log_writer = apilog_writer.LogWriter(settings)
    app = Litestar(
        route_handlers=[
            health.healthz, health.readyz, metrics.metrics_endpoint,
            *REST_CONTROLLERS, STRIPE_COMPAT, GraphQLController, *PAGE_HANDLERS,
            create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
        ],
        lifespan=[_lifespan(settings, log_writer, workers_enabled)],
        # Outermost first. The guard refuses unreadable input after the log has started capturing the request
        # and before idempotency reads the body.
        middleware=[metrics.metrics_middleware, websocket_cap, live_ws, read_routing_middleware, public_url_middleware,
                    request_id_middleware,
                    apilog_middleware(log_writer, settings), request_guard(settings.max_body_bytes),
                    idempotency_middleware],
        # Litestar types each handler as taking any Exception; ours take the class they are registered for.
        exception_handlers=ERROR_HANDLERS,  # type: ignore[arg-type]
        before_send=[security_headers],  # on every response, routing errors included
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi.openapi_config(),
        debug=False,
        logging_config=None,  # server.logs configures logging; Litestar must not replace its handler
    )
    openapi.document(app.openapi_schema)  # built once, here: errors, security and parameter ranges added
    app.asgi_handler = live_streams(app.asgi_handler)  # SSE streams, ahead of routing and middleware (events/sse.py)
    return app
