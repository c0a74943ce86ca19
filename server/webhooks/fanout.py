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
from datetime import datetime, timedelta
from typing import Any

from server import clock, db
from server.ids import id_floor, new_id
from server.webhooks import queries, signing

SETTLE = timedelta(minutes=10)
BATCH = 500
STATE = "default"


async def _low_id() -> str:
    low = await queries.fanout_low_id(STATE)
    return low or id_floor("evt", time.time_ns() // 1_000_000 - 24 * 3600 * 1000)


_low_written_ms = 0


async def _advance_low() -> None:
    """Move the low-water mark up to now - SETTLE; written at most once a minute per process."""
    global _low_written_ms
    low_ms = time.time_ns() // 1_000_000 - int(SETTLE.total_seconds() * 1000)
    if low_ms - _low_written_ms < 60_000:
        return
    _low_written_ms = low_ms
    await queries.raise_fanout_low(STATE, id_floor("evt", low_ms))


async def run_once(batch: int = BATCH) -> int:
    """Fan out one batch of committed events without markers; returns how many events were fanned out."""
    candidates = await queries.events_not_fanned_out(await _low_id(), batch)
    if not candidates:
        await _advance_low()
        return 0
    now = clock.WEBHOOKS.now()
    async with db.transaction():
        await queries.relaxed_commit()
        ids = await queries.insert_fanout_markers(candidates, now)
        if ids:
            await _insert_deliveries(await queries.events_to_deliver(ids), now)
    if len(candidates) < batch:
        await _advance_low()
    return len(ids)


async def _insert_deliveries(events_: list[dict[str, Any]], now: datetime) -> None:
    endpoints = await queries.endpoints_of_accounts(sorted({e["account_id"] for e in events_}))
    by_scope: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for ep in endpoints:
        by_scope.setdefault((ep["account_id"], ep["livemode"]), []).append(ep)
    rows = []
    for event in events_:
        matching = [ep for ep in by_scope.get((event["account_id"], event["livemode"]), [])
                    if signing.matches(ep["enabled_events"], event["type"])]
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
    await queries.delete_fanout_markers_below(cutoff)
