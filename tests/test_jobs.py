"""The job convention: every domain's tasks.py is run by the workers, and a crashed job starts again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server import jobs, workers
from server.settings import get_settings
from tests.support import eventually

SERVER = Path(workers.__file__).parent


def test_the_workers_import_every_domains_tasks_module():
    tasks_modules = {".".join(p.relative_to(SERVER.parent).with_suffix("").parts) for p in SERVER.rglob("tasks.py")}
    assert tasks_modules == {m.__name__ for m in workers.DOMAINS}, "add the new tasks module to server/workers.py"
    assert {job.run.__module__ for job in workers.registered_jobs()} == tasks_modules


def test_two_jobs_cannot_share_a_name():
    async def other(settings) -> None:
        return None

    with pytest.raises(ValueError, match="two jobs are named 'webhook-health'"):
        jobs.job("webhook-health", every=1.0)(other)


async def test_a_job_that_crashes_runs_again_after_its_pause():
    runs: list[int] = []

    async def flaky(settings) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("the first run crashes")

    runner = workers.Workers(get_settings())
    loop = asyncio.create_task(runner._loop(jobs.Job("test.flaky", 0.01, flaky)))
    try:
        await eventually(lambda: len(runs) >= 2, message="a second run after the crash")
    finally:
        await runner.stop()
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)


async def test_a_job_cancelled_from_inside_runs_again_and_a_real_stop_still_ends_it():
    runs: list[int] = []

    async def leaks_a_cancel(settings) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise asyncio.CancelledError  # as a library's own timeout can leak one, with no cancel() on our task

    runner = workers.Workers(get_settings())
    loop = asyncio.create_task(runner._loop(jobs.Job("test.leaky", 0.01, leaks_a_cancel)))
    try:
        await eventually(lambda: len(runs) >= 2, message="a second run after the stray cancellation")
    finally:
        await runner.stop()
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert loop.done()


async def test_stopping_never_waits_on_a_job_that_ignores_its_cancellation(caplog):
    released = asyncio.Event()

    async def stubborn(settings) -> None:
        while not released.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue  # swallows its cancellations until the test lets it go
        raise asyncio.CancelledError

    runner = workers.Workers(get_settings())
    task = asyncio.create_task(runner._loop(jobs.Job("test.stubborn", 0.01, stubborn)), name="job:test.stubborn")
    runner.tasks.append(task)
    await asyncio.sleep(0.05)
    try:
        await asyncio.wait_for(runner.stop(grace=0.2), 5)  # returns: Ctrl-C is never held up by one job
        assert "job:test.stubborn" in caplog.text
    finally:
        released.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
