"""/stripe/v1/events and /stripe/v1/webhook_endpoints, in Stripe's shapes."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import Provide

from server.context import RequestContext
from server.errors import ErrorCode, InvalidRequest
from server.events import service as events
from server.events.wire import event_json
from server.pagination import encode_cursor
from server.rest import api_context
from server.stripe_compat import lists, params, shapes
from server.webhooks import service as webhooks

ENDPOINT: params.Spec = {"url": None, "enabled_events": params.ANY, "description": None,
                         "signature_scheme": None, "expand": params.ANY}
ENDPOINT_UPDATE: params.Spec = {**ENDPOINT, "disabled": None}


def event(row: dict[str, Any]) -> dict[str, Any]:
    return shapes.event(event_json(row))


class EventController(Controller):
    path = "/events"
    dependencies = {"ctx": Provide(api_context)}

    @get("/")
    async def list_(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), {**lists.LIST_PARAMS, "type": None, "types": params.ANY})
        types = [*(params.strings(data, "type") or []), *(params.strings(data, "types") or [])]

        async def fetch(limit: int, after: str | None) -> Any:
            return await events.list_events(ctx, limit, encode_cursor(after) if after else None, types or None)

        return await lists.page(data, fetch, event, "/v1/events")

    @get("/{event_id:str}")
    async def retrieve(self, ctx: RequestContext, request: Request, event_id: str) -> dict[str, Any]:
        params.take(await params.read(request), {"expand": params.ANY})
        return event(await events.get(ctx, event_id))


def _scheme(data: dict[str, Any]) -> str | None:
    scheme = params.string(data, "signature_scheme")
    if scheme is not None and scheme not in webhooks.SIGNATURE_SCHEMES:
        raise InvalidRequest("signature_scheme must be standard or stripe", param="signature_scheme",
                             code=ErrorCode.PARAMETER_INVALID)
    return scheme


class WebhookEndpointController(Controller):
    """Endpoints made here sign the Stripe way unless `signature_scheme=standard` is asked for: an existing
    Stripe integration verifies with `stripe.Webhook.construct_event` unchanged."""

    path = "/webhook_endpoints"
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200)
    async def create(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), ENDPOINT)
        url = params.string(data, "url", required=True) or ""
        enabled = params.strings(data, "enabled_events")
        if not enabled:
            raise InvalidRequest("Missing required param: enabled_events.", param="enabled_events",
                                 code=ErrorCode.PARAMETER_MISSING)
        row = await webhooks.create_endpoint(ctx, url, enabled, params.string(data, "description") or "",
                                             signature_scheme=_scheme(data) or "stripe")
        return shapes.webhook_endpoint(row)

    @get("/")
    async def list_(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), lists.LIST_PARAMS)

        async def fetch(limit: int, after: str | None) -> Any:
            return await webhooks.list_endpoints(ctx, limit, encode_cursor(after) if after else None)

        return await lists.page(data, fetch, shapes.webhook_endpoint, "/v1/webhook_endpoints")

    @get("/{endpoint_id:str}")
    async def retrieve(self, ctx: RequestContext, request: Request, endpoint_id: str) -> dict[str, Any]:
        params.take(await params.read(request), {"expand": params.ANY})
        return shapes.webhook_endpoint(await webhooks.get_endpoint(ctx, endpoint_id))

    @post("/{endpoint_id:str}", status_code=200)
    async def update(self, ctx: RequestContext, request: Request, endpoint_id: str) -> dict[str, Any]:
        data = params.take(await params.read(request), ENDPOINT_UPDATE)
        disabled = params.boolean(data, "disabled")
        changes = webhooks.EndpointChanges(
            url=params.string(data, "url"), description=params.string(data, "description"),
            enabled_events=params.strings(data, "enabled_events"), signature_scheme=_scheme(data),
            status=None if disabled is None else ("disabled" if disabled else "enabled"))
        return shapes.webhook_endpoint(await webhooks.update_endpoint(ctx, endpoint_id, changes))

    @delete("/{endpoint_id:str}", status_code=200)
    async def remove(self, ctx: RequestContext, request: Request, endpoint_id: str) -> dict[str, Any]:
        params.take(await params.read(request), {})
        row = await webhooks.delete_endpoint(ctx, endpoint_id)
        return shapes.deleted("webhook_endpoint", row["id"])
