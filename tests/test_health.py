"""Liveness and readiness; readiness fails first while draining."""

from __future__ import annotations

from server import health


async def test_healthz(http):
    resp = await http.get("/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


async def test_readyz_checks_postgres_and_redis(http):
    resp = await http.get("/readyz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert {k: body["checks"][k] for k in ("postgres", "redis")} == {"postgres": "ok", "redis": "ok"}
    # Other parts add details (the API-log search engine reports its indexing lag).
    assert set(body["checks"]) <= {"postgres", "redis", "search"}


async def test_readyz_is_503_while_draining_and_liveness_stays(http):
    health.draining.set()
    try:
        resp = await http.get("/readyz")
        alive = await http.get("/healthz")
    finally:
        health.draining.clear()
    assert resp.status_code == 503
    assert resp.json()["status"] == "unavailable"
    assert resp.json()["checks"]["shutdown"] == "draining"
    assert alive.status_code == 200
    assert (await http.get("/readyz")).status_code == 200
