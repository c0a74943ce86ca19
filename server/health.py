"""Liveness and readiness. Readiness fails first when shutting down.

Liveness (`/healthz`) fails only when the process cannot recover by itself:
an embedded server it owns died and could not be started again
(server.supervisor), so a process supervisor should restart us.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get

from server import db
from server.infra import redis

draining = asyncio.Event()
readiness_details: dict[str, Any] = {}
recovering: dict[str, str] = {}  # embedded server -> what the supervisor is doing about it
unrecoverable: dict[str, str] = {}  # embedded server -> why it could not be restarted


@get("/healthz", summary="The process is alive; 503 when an embedded server could not be restarted",
     tags=["health"])
async def healthz() -> Response:
    if unrecoverable:
        return Response({"status": "unhealthy", "failed": dict(unrecoverable)}, status_code=503)
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
    checks.update(readiness_details)
    if recovering:
        checks["embedded"] = dict(recovering)
    return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
