"""The event outbox: `emit()` inside the transaction of the change it describes.

The row commits or rolls back with the change; `pg_notify` is delivered only
at commit, so nothing outside the database learns of an event that did not
happen. Publishing to Redis, webhooks and live pages are driven from the
committed rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from server import db
from server.context import RequestContext, Scope
from server.ids import new_id

NOTIFY_CHANNEL = "paydeck_events"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    raise TypeError(f"cannot serialise {type(value).__name__} in an event")


async def emit(ctx: RequestContext | None, scope: Scope, type: str, object_type: str, object_id: str,
               data: dict[str, Any]) -> str:
    """Record an event; must run inside `db.transaction()`. Returns the event id."""
    if db.engine().current_transaction.get() is None:
        raise RuntimeError("events.emit() must run inside the transaction of the change it describes")
    event_id = new_id("evt")
    await db.execute(
        "INSERT INTO events (id, account_id, livemode, type, object_type, object_id, data, request_id, "
        "idempotency_key, created) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)",
        event_id, scope.account_id, scope.livemode, type, object_type, object_id,
        json.dumps(data, default=_json_default), ctx.request_id if ctx else None,
        ctx.idempotency_key if ctx else None, datetime.now(UTC),
    )
    await db.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, event_id)
    return event_id
