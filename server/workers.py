"""Runs the background jobs inside the app process (or alone, in `paydeck worker`).

Importing a domain's `tasks` module registers its jobs (`server.jobs.job`);
this module imports every one of them and runs each registered job in its own
task: run, pause `every` seconds, run again, until the workers stop. A job
that fails is logged and run again after the same pause; a job that never
returns (the event dispatcher, the webhook delivery loop) is thus restarted
after a crash. No domain imports this module.
"""

from __future__ import annotations

import asyncio
import logging

from server import jobs, metrics
from server.analytics import tasks as analytics_tasks
from server.apilogs import tasks as apilogs_tasks
from server.benchmarks import tasks as benchmarks_tasks
from server.claims import tasks as claims_tasks
from server.disputes import tasks as disputes_tasks
from server.events import tasks as events_tasks
from server.idempotency import tasks as idempotency_tasks
from server.payments import tasks as payments_tasks
from server.reporting import tasks as reporting_tasks
from server.settings import Settings
from server.webhooks import tasks as webhooks_tasks

log = logging.getLogger(__name__)
STOP_SECONDS = 10.0
HEARTBEAT_SECONDS = 10.0
# Imported for the jobs they register.
DOMAINS = (analytics_tasks, apilogs_tasks, benchmarks_tasks, claims_tasks, disputes_tasks, events_tasks,
           idempotency_tasks, payments_tasks, reporting_tasks,
           webhooks_tasks)


def _cancel_requested() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def registered_jobs() -> list[jobs.Job]:
    """Every domain's jobs: importing this module imported all the tasks modules."""
    return jobs.registered()


class Workers:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tasks: list[asyncio.Task] = []
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        for job in registered_jobs():
            self.tasks.append(asyncio.create_task(self._loop(job), name=f"job:{job.name}"))
        self.tasks.append(asyncio.create_task(self._heartbeat(), name="workers:heartbeat"))

    async def _heartbeat(self) -> None:
        """Say this worker process is alive, for /metrics in any process (server.metrics)."""
        while not self.stopping.is_set():
            try:
                await metrics.beat()
            except Exception:  # Redis away for a moment: the next beat says it
                log.debug("worker heartbeat failed", exc_info=True)
            try:
                await asyncio.wait_for(self.stopping.wait(), HEARTBEAT_SECONDS)
            except TimeoutError:
                pass

    async def _loop(self, job: jobs.Job) -> None:
        pause = job.interval(self.settings)
        while not self.stopping.is_set():
            try:
                await job.run(self.settings)
                await metrics.beat(job.name)
            except asyncio.CancelledError:
                if self.stopping.is_set() or _cancel_requested():
                    raise
                # A CancelledError nobody asked for (a library's timeout leaking out of a job) must not end the
                # job for the life of the process: the dispatcher would stop and live updates with it.
                log.error("job %s was cancelled from inside; restarting in %.0fs", job.name, pause)
            except Exception:
                log.exception("job %s failed; retrying in %.0fs", job.name, pause)
            try:
                await asyncio.wait_for(self.stopping.wait(), pause)
            except TimeoutError:
                pass

    async def stop(self, grace: float = STOP_SECONDS) -> None:
        """Cancel every job and wait `grace` seconds at most: a job that ignores its cancellation is named in
        the log and left behind, so Ctrl-C always ends the process (a `paydeck run` once hung here)."""
        self.stopping.set()
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=grace)
            for task in pending:
                log.error("job task %s did not stop within %.0fs of its cancellation; leaving it", task.get_name(),
                          grace)
        self.tasks.clear()
