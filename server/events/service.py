"""The event outbox: `emit()` inside the transaction of the change it describes.

The row commits or rolls back with the change; `pg_notify` is delivered only
at commit, so nothing outside the database learns of an event that did not
happen. Publishing to Redis (server/events/dispatcher.py), webhooks and live
pages are driven from the committed rows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from server import db
from server.context import RequestContext, Scope
from server.errors import InvalidRequest, NotFound
from server.events import queries
from server.events.queries import TypeFilter
from server.ids import new_id
from server.pagination import Page, decode_cursor
from server.permissions import read

NOTIFY_CHANNEL = "paydeck_events"
MAX_TYPES = 20


async def emit(ctx: RequestContext | None, scope: Scope, type: str, object_type: str, object_id: str,
               data: dict[str, Any]) -> str:
    """Record an event; must run inside `db.transaction()`. Returns the event id.

    `type` is `<object_type>.<what happened>` (e.g. `payment_intent.succeeded`);
    `data` is a snapshot of the object after the change, as its REST JSON.
    """
    if db.engine().current_transaction.get() is None:
        raise RuntimeError("events.emit() must run inside the transaction of the change it describes")
    row = event_row(ctx, scope, type, object_type, object_id, data)
    await queries.insert(row, notify_channel=NOTIFY_CHANNEL)  # the notify rides along: one round trip per event
    return row["id"]


def emit_arguments(ctx: RequestContext | None, scope: Scope, type: str, object_type: str, object_id: str,
                   data: dict[str, Any]) -> tuple[Any, ...]:
    """`emit`'s event as the arguments of the SQL function event_emit() (row values, then the channel): for a
    change folded into one SQL function call, which records its event itself."""
    return (*queries.ordered(event_row(ctx, scope, type, object_type, object_id, data)), NOTIFY_CHANNEL)


def event_row(ctx: RequestContext | None, scope: Scope, type: str, object_type: str, object_id: str,
              data: dict[str, Any]) -> dict[str, Any]:
    """The row `emit` records."""
    now_ms = time.time_ns() // 1_000_000
    return {
        "id": new_id("evt", at_ms=now_ms),  # `created` is the id's own millisecond: time ranges are id ranges
        "account_id": scope.account_id, "livemode": scope.livemode, "type": type, "object_type": object_type,
        "object_id": object_id, "data": data, "request_id": ctx.request_id if ctx else None,
        "idempotency_key": ctx.idempotency_key if ctx else None,
        "created": datetime.fromtimestamp(now_ms / 1000, UTC),
    }


def parse_types(types: list[str] | None, param: str = "type") -> TypeFilter:
    names = [t for raw in types or [] for t in str(raw).split(",") if t.strip()]
    if len(names) > MAX_TYPES:
        raise InvalidRequest(f"at most {MAX_TYPES} event types may be given", param=param)
    for name in names:
        if len(name) > 80 or not all(c.isalnum() or c in "._*" for c in name.strip()):
            raise InvalidRequest(f"invalid event type '{name[:80]}'", param=param)
    return TypeFilter.parse(names)


async def list_events(ctx: RequestContext, limit: int, cursor: str | None, types: list[str] | None = None,
                      created_gte: datetime | None = None, created_lte: datetime | None = None,
                      object_id: str | None = None) -> Page[dict[str, Any]]:
    scope = ctx.require(read("events"))
    types_filter = parse_types(types)
    types_filter.object_id = object_id or None
    rows = await queries.list_page(scope, decode_cursor(cursor), limit, types_filter, created_gte, created_lte)
    return Page.from_rows(rows, limit)


async def get(ctx: RequestContext, event_id: str) -> dict[str, Any]:
    scope = ctx.require(read("events"))
    row = await queries.get(scope, event_id)
    if row is None:
        raise NotFound(f"no event '{event_id}'", param="id")
    return row


async def resume_position(scope: Scope, last_event_id: str | None) -> int | None:
    """Where a stream resumes after `Last-Event-ID`: that event's position, if it is known and dispatched."""
    if not last_event_id or len(last_event_id) > 64:
        return None
    return await queries.position_of(scope, last_event_id)


async def stream_position(ctx: RequestContext) -> int:
    """The dispatcher's position now: a page rendered after this reads every event at or below it."""
    ctx.require(read("events"))
    return await queries.assigned_position()
