"""Dashboard: the Events page (live list with filters), event detail, and the SSE stream behind live parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response

from server import operations
from server.errors import InvalidRequest, NotFound
from server.events import limits, service, sse
from server.events.catalog import EVENT_TYPES
from server.events.wire import EventMessage
from server.permissions import read
from server.web.pages import base_vars, dashboard_context, dashboard_get, show
from server.web.render import env, render_page


def _types(raw: str | None) -> list[str]:
    return [t.strip() for t in (raw or "").split(",") if t.strip()]


def stream_url(types: list[str], since: int, view: str = "events") -> str:
    """The SSE address a page listens on; `since` is the position the page was rendered at.

    `view` picks what each message renders: an event row, or (`payments`) a row
    that loads the payment it is about, so the Payments list shows new and
    changed payments at the top.
    """
    query: dict[str, Any] = {"since": since}
    if types:
        query["types"] = ",".join(types)
    if view != "events":
        query["view"] = view
    return "/events/stream?" + urlencode(query)


@dashboard_get("/events")
async def events_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    type_filter = request.query_params.get("type") or ""
    types = _types(type_filter)
    after = request.query_params.get("after")
    since = await service.stream_position(ctx)  # read before the list: nothing falls between page and stream
    return await show(request, ctx, "EventsPage", "events/list.html", "events",
                      {"types": types or None, "after": after}, block="rows" if after else None,
                      type_filter=", ".join(types), after=after, known_types=sorted(EVENT_TYPES),
                      stream_url=stream_url(types, since))


@dashboard_get("/events/{event_id:str}")
async def event_page(request: Request, event_id: str) -> Response:
    ctx = await dashboard_context(request)
    data = await operations.run("EventPage", ctx, {"id": event_id})
    if data["event"] is None:
        raise NotFound(f"no event '{event_id}' in this account and mode", param="id")
    return render_page(request, "events/detail.html", {**data, **base_vars(ctx, data, "events")})


def render_row(message: EventMessage) -> str:
    row = {"id": message.id, "type": message.type, "objectType": message.object_type,
           "objectId": message.object_id, "created": message.created.isoformat(), "requestId": message.request_id}
    return env.get_template("events/_row.html").render(event=row)


def render_payment_row(message: EventMessage) -> str:
    """A placeholder row that fetches the payment's current row (permission-checked) as it lands."""
    return env.get_template("payments/_live_row.html").render(payment_id=message.object_id)


RENDERERS = {"events": render_row, "payments": render_payment_row}


@sse.live_route("/events/stream")
async def event_stream(request: Request) -> AsyncIterator[bytes]:
    """`text/event-stream` of the session's account and mode; resumes after `Last-Event-ID` (or `last_event_id`).
    Served by server.events.sse's lean path, not as a Litestar route."""
    ctx = await dashboard_context(request)
    scope = ctx.require(read("events"))
    types = service.parse_types(_types(request.query_params.get("types")), param="types")
    renderer = RENDERERS.get(request.query_params.get("view") or "events")
    if renderer is None:
        raise InvalidRequest(f"view must be one of {', '.join(RENDERERS)}", param="view")
    limits.live.admit()  # a full process answers 503 with Retry-After; the browser retries (elsewhere)
    after_pos = await service.resume_position(scope, sse.last_event_id(request))
    if after_pos is None:
        after_pos = _since(request.query_params.get("since"))
    return sse.stream(scope, types, after_pos, renderer, "row")


def _since(raw: str | None) -> int | None:
    if raw is None or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


HANDLERS = [events_page, event_page]
