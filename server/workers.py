"""Background work that runs inside the app process (or alone, in `paydeck worker`).

Each job is a coroutine run on an interval; several processes may run the
same jobs, so every job is safe to run concurrently (row claims with
SKIP LOCKED, idempotent deletes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[None]]


def registered_jobs(settings: Settings) -> list[Job]:
    """Every domain's periodic work. Domains add theirs here.

    A job whose `run()` never returns (the event dispatcher) is long-running;
    its interval is then the pause before it is restarted after a failure.
    """
    from server.apilogs import tasks as apilog_tasks
    from server.events import tasks as event_tasks
    from server.idempotency.middleware import purge_job
    from server.payments import reconcile
    from server.webhooks.worker import DeliveryWorker, health_sweep

    webhooks = DeliveryWorker()  # reads PAYDECK_ALLOW_PRIVATE_WEBHOOK_URLS at connect time
    return [
        *apilog_tasks.jobs(settings),
        Job("idempotency-purge", 3600, purge_job),
        Job("payments-reconcile", reconcile.interval_seconds(), reconcile.reconcile_once),
        Job("event-dispatcher", 1.0, event_tasks.dispatcher_job(settings)),
        Job("event-retention", 3600.0, event_tasks.retention_job(settings)),
        # run_forever only returns on cancellation; the interval is the pause before a restart after a crash.
        Job("webhook-deliveries", 1.0, webhooks.run_forever),
        Job("webhook-health", 60.0, health_sweep),
    ]


class Workers:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tasks: list[asyncio.Task] = []
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        for job in registered_jobs(self.settings):
            self.tasks.append(asyncio.create_task(self._loop(job), name=f"job:{job.name}"))

    async def _loop(self, job: Job) -> None:
        while not self.stopping.is_set():
            try:
                await job.run()
            except Exception:
                log.exception("job %s failed; retrying in %.0fs", job.name, job.interval_seconds)
            try:
                await asyncio.wait_for(self.stopping.wait(), job.interval_seconds)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self.stopping.set()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
