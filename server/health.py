"""Liveness and readiness. Readiness fails first when shutting down."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get

from server import db
from server.infra import redis

draining = asyncio.Event()
readiness_details: dict[str, Any] = {}


@get("/healthz", summary="The process is alive", tags=["health"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", summary="PostgreSQL and Redis are reachable; 503 while shutting down", tags=["health"])
async def readyz() -> Response:
    checks: dict[str, Any] = {}
    ok = not draining.is_set()
    if draining.is_set():
        checks["shutdown"] = "draining"
    try:
        await asyncio.wait_for(db.fetch("SELECT 1"), 2)
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
    return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
