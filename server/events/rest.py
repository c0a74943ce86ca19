"""REST: GET /v1/events (list) and GET /v1/events/{id}."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide

from server.context import RequestContext
from server.errors import InvalidRequest
from server.events import service
from server.events.wire import event_json
from server.pagination import parse_limit
from server.rest import api_context, list_body

LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z
LIST_PARAMS = {"limit", "cursor", "type", "types", "types[]", "created[gte]", "created[lte]", "created[gt]",
               "created[lt]", "object_id"}


def _timestamp(raw: str | None, param: str) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise InvalidRequest(f"{param} must be a Unix timestamp in seconds", param=param) from None
    if not 0 <= value <= LAST_SECOND:
        raise InvalidRequest(f"{param} is out of range", param=param)
    return value


def created_bounds(query: Any) -> tuple[datetime | None, datetime | None]:
    """created[gte]/[gt]/[lte]/[lt] as an inclusive range of instants (to the millisecond)."""
    gte, gt = _timestamp(query.get("created[gte]"), "created[gte]"), _timestamp(query.get("created[gt]"), "created[gt]")
    lte, lt = _timestamp(query.get("created[lte]"), "created[lte]"), _timestamp(query.get("created[lt]"), "created[lt]")
    lows = [v for v in (gte, gt + 1 if gt is not None else None) if v is not None]
    # created is stored to the millisecond; `lte` second S includes everything up to S.999
    highs = [v + 0.999 for v in (lte, lt - 1 if lt is not None else None) if v is not None]
    # created[gt] at the last second there is asks for later than any time can be: clamp, rather than overflow
    low = datetime.fromtimestamp(min(max(lows), LAST_SECOND), UTC) if lows else None
    high = datetime.fromtimestamp(min(highs), UTC) if highs else None
    return low, high


class EventController(Controller):
    path = "/v1/events"
    tags = ["events"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/", summary="List events, newest first")
    async def list_events(self, request: Request, ctx: RequestContext) -> dict[str, Any]:
        query = request.query_params
        unknown = sorted(set(query.keys()) - LIST_PARAMS)
        if unknown:
            raise InvalidRequest(f"unknown query parameter '{unknown[0]}'", param=unknown[0])
        types = [*query.getall("type", []), *query.getall("types", []), *query.getall("types[]", [])]
        low, high = created_bounds(query)
        page = await service.list_events(ctx, parse_limit(query.get("limit")), query.get("cursor"), types, low, high,
                                         query.get("object_id"))
        return list_body(page, event_json, "/v1/events")

    @get("/{event_id:str}", summary="Retrieve an event")
    async def retrieve(self, ctx: RequestContext, event_id: str) -> dict[str, Any]:
        return event_json(await service.get(ctx, event_id))
