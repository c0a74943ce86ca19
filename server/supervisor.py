"""Keep the embedded servers this process owns running.

When embedded PostgreSQL, Redis or the processor simulator dies under the
app, the supervisor starts it again on the same data and port, so the pools
reconnect by themselves (asyncpg and redis-py replace broken connections on
their next use). Meanwhile requests answer 503 (server.outage). It says so
once in the log when a server dies and once when it is back. If a server
cannot be started again after a few tries, `/healthz` fails so that a
process supervisor restarts the whole process; the supervisor keeps trying
slowly meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable

from server import db, health, infra, outage
from server.embedded import EmbeddedProcess

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.5
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0)  # a try after each; then /healthz fails
SLOW_RETRY_SECONDS = 5.0


def _how_it_ended(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


async def forget_broken_connections() -> None:
    """An embedded server was started again: pooled connections to its old process are dead; drop them
    now rather than fail a request on each, and let the next connection failure be logged again."""
    outage.recovered()
    pool = db.engine().pool
    if pool is not None:
        with contextlib.suppress(Exception):
            await pool.expire_connections()
    with contextlib.suppress(Exception):
        await infra.redis().connection_pool.disconnect()


class Supervisor:
    def __init__(self, processes: list[EmbeddedProcess]) -> None:
        self.processes = processes
        self.restarts = 0
        self.task: asyncio.Task | None = None
        self.changed: Callable[[], None] = lambda: None  # told at once whenever server.health's view changes

    def start(self) -> None:
        if self.processes:
            self.task = asyncio.create_task(self._watch(), name="embedded-supervisor")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _watch(self) -> None:
        while True:
            for process in self.processes:
                if not process.running() and not health.draining.is_set():
                    await self._recover(process)
            await asyncio.sleep(CHECK_SECONDS)

    async def _recover(self, process: EmbeddedProcess) -> None:
        began = time.monotonic()
        log.error("embedded %s (pid %s) stopped (%s); starting it again on port %d with the same data",
                  process.name, process.pid, _how_it_ended(process.proc.returncode if process.proc else None),
                  process.port)
        health.recovering[process.name] = "restarting"
        self.changed()
        tries = 0
        try:
            while not await self._try_start(process):
                tries += 1
                if tries == len(BACKOFF_SECONDS):
                    health.unrecoverable[process.name] = f"could not be started again: see {process.log}"
                    self.changed()
                    log.error("embedded %s could not be started again after %d tries; /healthz now fails so that "
                              "a process supervisor restarts Paydeck (still trying every %.0fs); see %s",
                              process.name, tries, SLOW_RETRY_SECONDS, process.log)
                await asyncio.sleep(BACKOFF_SECONDS[tries - 1] if tries <= len(BACKOFF_SECONDS)
                                    else SLOW_RETRY_SECONDS)
        finally:
            health.recovering.pop(process.name, None)
            self.changed()
        health.unrecoverable.pop(process.name, None)
        self.restarts += 1
        self.changed()
        await forget_broken_connections()
        log.warning("embedded %s is back on port %d (pid %s, %.1fs after it stopped)",
                    process.name, process.port, process.pid, time.monotonic() - began)

    async def _try_start(self, process: EmbeddedProcess) -> bool:
        await asyncio.to_thread(process.reap_leftovers)
        process.spawn()  # here, in the thread that outlives it: the parent-death signal is tied to it
        try:
            await asyncio.to_thread(process.wait_ready)
        except RuntimeError as exc:
            log.debug("embedded %s did not start: %s", process.name, exc)
            if process.running():
                process.stop(timeout=5)
            return False
        return True
