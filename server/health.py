"""Liveness and readiness. Readiness fails first when shutting down.

Liveness (`/healthz`) fails only when the process cannot recover by itself:
an embedded server it owns died and could not be started again
(server.supervisor), so a process supervisor should restart us.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from litestar import Response, get

from server import db
from server.infra import redis
from server.replicas import router as replica_router

draining = asyncio.Event()
stop_requested = False  # a signal asked this process to stop: draining stays set even if it came during start-up
# Run at the first stop signal, from the signal handler (so: only signal-safe work, e.g. signalling a child).
on_stop: list[Callable[[], None]] = []
readiness_details: dict[str, Any] = {}
recovering: dict[str, str] = {}  # embedded server -> what the supervisor is doing about it
unrecoverable: dict[str, str] = {}  # embedded server -> why it could not be restarted
# In a web process of several (server.webpool): the parent's supervisor's view, read when asked.
parent_view: Callable[[], dict[str, dict[str, str]]] | None = None
# There too: how many of the port's web processes accept connections, of how many (server.fairaccept). Shown
# by /readyz, which it does not fail: a sibling being restarted leaves this process as ready as it was.
web_processes: Callable[[], dict[str, int]] | None = None


def request_stop() -> None:
    """A signal asked this process to stop: readiness fails from now on, and the stop hooks run once."""
    global stop_requested
    first = not stop_requested
    stop_requested = True
    draining.set()
    if first:
        for hook in on_stop:
            hook()


def embedded(name: str) -> dict[str, str]:
    """`recovering` or `unrecoverable`: this process's supervisor's, or its parent's."""
    if parent_view is not None:
        return parent_view().get(name, {})
    return recovering if name == "recovering" else unrecoverable


@get("/healthz", summary="The process is alive; 503 when an embedded server could not be restarted",
     tags=["health"])
async def healthz() -> Response:
    if failed := embedded("unrecoverable"):
        return Response({"status": "unhealthy", "failed": dict(failed)}, status_code=503)
    return Response({"status": "ok"}, status_code=200)


@get("/readyz", summary="PostgreSQL and Redis are reachable; 503 while shutting down", tags=["health"])
async def readyz() -> Response:
    checks: dict[str, Any] = {}
    ok = not draining.is_set()
    if draining.is_set():
        checks["shutdown"] = "draining"
    try:
        await asyncio.wait_for(db.ping(), 2)
        checks["postgres"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["postgres"] = f"error: {type(exc).__name__}"
        ok = False
    try:
        await asyncio.wait_for(redis().ping(), 2)
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
        ok = False
    router = replica_router.router()
    if router is not None:  # a replica down or lagging is skipped, so it does not make us unready
        checks["replicas"] = router.status()
    checks.update(readiness_details)
    if web_processes is not None:
        checks["web_processes"] = web_processes()
    if restarting := embedded("recovering"):
        checks["embedded"] = dict(restarting)
    return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
