"""Fan-out: one delivery row per matching endpoint for every committed event.

New events are found with an anti-join against `webhook_fanouts` (one marker
per event), not with a "sequence > last seen" cursor: sequence values and
ids are assigned before commit and commits land out of order, so a cursor
would skip an event that commits late. The scan starts at a low-water mark
that trails wall time by `SETTLE`, so it only ever looks at recent events.
That is safe because no transaction of the app can stay open that long:
`server.db` sets `transaction_timeout` (PostgreSQL 17+) and
`idle_in_transaction_session_timeout` to half of it on every pooled connection.

Markers are inserted with ON CONFLICT DO NOTHING: when two workers race for
an event, the second waits for the first to commit and then skips it, so
each event fans out exactly once. Markers, deliveries (and skipped
deliveries for disabled endpoints) commit in one transaction.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from server import db
from server.ids import id_floor, new_id
from server.webhooks import clock, signing

SETTLE = timedelta(minutes=10)
BATCH = 500
STATE = "default"


async def _low_id() -> str:
    row = await db.fetchrow("SELECT low_id FROM webhook_fanout_state WHERE name = $1", STATE)
    if row:
        return row["low_id"]
    return id_floor("evt", time.time_ns() // 1_000_000 - 24 * 3600 * 1000)


_low_written_ms = 0


async def _advance_low() -> None:
    """Move the low-water mark up to now - SETTLE; written at most once a minute per process."""
    global _low_written_ms
    low_ms = time.time_ns() // 1_000_000 - int(SETTLE.total_seconds() * 1000)
    if low_ms - _low_written_ms < 60_000:
        return
    _low_written_ms = low_ms
    low = id_floor("evt", low_ms)
    await db.execute(
        "INSERT INTO webhook_fanout_state (name, low_id) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE "
        "SET low_id = greatest(webhook_fanout_state.low_id COLLATE \"C\", excluded.low_id COLLATE \"C\")", STATE, low)


async def run_once(batch: int = BATCH) -> int:
    """Fan out one batch of committed events without markers; returns how many events were fanned out."""
    low = await _low_id()
    candidates = await db.fetch(
        "SELECT e.id FROM events e WHERE e.id > $1 AND NOT EXISTS "
        "(SELECT 1 FROM webhook_fanouts f WHERE f.event_id = e.id) ORDER BY e.id LIMIT $2", low, batch)
    if not candidates:
        await _advance_low()
        return 0
    now = clock.now()
    from server.webhooks.delivery import relaxed_commit

    async with db.transaction():
        await relaxed_commit()
        claimed = await db.fetch(
            "INSERT INTO webhook_fanouts (event_id, created) SELECT unnest($1::varchar[]), $2 "
            "ON CONFLICT DO NOTHING RETURNING event_id", [c["id"] for c in candidates], now)
        ids = [r["event_id"] for r in claimed]
        if ids:
            rows = await db.fetch(
                "SELECT id, account_id, livemode, type, data, created, request_id, idempotency_key FROM events "
                "WHERE id = ANY($1::varchar[]) ORDER BY seq", ids)
            await _insert_deliveries(rows, now)
    if len(candidates) < batch:
        await _advance_low()
    return len(ids)


async def _insert_deliveries(events_: list[dict[str, Any]], now) -> None:
    from server.webhooks import queries

    accounts = sorted({e["account_id"] for e in events_})
    endpoints = await db.fetch(
        "SELECT id, account_id, livemode, enabled_events, status FROM webhook_endpoints "
        "WHERE account_id = ANY($1::varchar[]) ORDER BY id", accounts)
    if not endpoints:
        return
    by_scope: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for ep in endpoints:
        patterns = ep["enabled_events"]
        if isinstance(patterns, str):
            import json

            patterns = json.loads(patterns)
        ep["patterns"] = patterns
        by_scope.setdefault((ep["account_id"], ep["livemode"]), []).append(ep)
    rows = []
    for event in events_:
        matching = [ep for ep in by_scope.get((event["account_id"], event["livemode"]), [])
                    if signing.matches(ep["patterns"], event["type"])]
        if not matching:
            continue
        body = signing.event_body(event)
        for ep in matching:
            enabled = ep["status"] == "enabled"
            rows.append({"id": new_id("msg"), "account_id": event["account_id"], "livemode": event["livemode"],
                         "endpoint_id": ep["id"], "event_id": event["id"], "event_type": event["type"],
                         "payload": body, "status": "pending" if enabled else "skipped", "is_test": False,
                         "auto_retry": True, "attempt_count": 0, "next_attempt_at": now if enabled else None,
                         "created": now})
    await queries.insert_deliveries(rows)


async def prune_markers(keep: timedelta = timedelta(days=2)) -> None:
    """Markers far below the low-water mark are never looked at again."""
    cutoff = id_floor("evt", time.time_ns() // 1_000_000 - int((SETTLE + keep).total_seconds() * 1000))
    await db.execute("DELETE FROM webhook_fanouts WHERE event_id < $1", cutoff)
