"""Background jobs: `@job(name, every=...)` registers a coroutine that `server.workers` runs on an interval.

Each domain declares its jobs in its own `tasks.py`; `server/workers.py`
imports those modules (which fills the registry) and runs what is
registered. This module is a leaf: domains import it, it imports no domain,
and no domain imports `server.workers`.

A job receives the process's `Settings`. `every` is the pause between two
runs, in seconds or as a function of the settings. A job that never returns
(the event dispatcher, the webhook delivery loop) is long-running: `every`
is then the pause before it is started again after a crash. Several
processes may run the same jobs at once, so every job must be safe to run
concurrently (row claims with SKIP LOCKED, idempotent deletes, leader locks).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.settings import Settings

JobFunction = Callable[[Settings], Awaitable[object]]
Interval = float | Callable[[Settings], float]


@dataclass(frozen=True)
class Job:
    name: str
    every: Interval
    run: JobFunction

    def interval(self, settings: Settings) -> float:
        return self.every(settings) if callable(self.every) else float(self.every)


_registry: dict[str, Job] = {}


def job(name: str, *, every: Interval) -> Callable[[JobFunction], JobFunction]:
    """Register the decorated coroutine as the job `name`; the function itself is returned unchanged."""

    def register(run: JobFunction) -> JobFunction:
        if name in _registry and _where(_registry[name].run) != _where(run):  # a reloaded module is no clash
            raise ValueError(f"two jobs are named {name!r}: {_where(_registry[name].run)} and {_where(run)}")
        _registry[name] = Job(name, every, run)
        return run

    return register


def _where(run: JobFunction) -> str:
    return f"{run.__module__}.{run.__qualname__}"


def registered() -> list[Job]:
    """Every job registered so far, in the order the tasks modules were imported."""
    return list(_registry.values())
