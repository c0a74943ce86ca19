"""REST: /v1/webhook_endpoints — create, list, retrieve, update, delete."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import Provide

from server.context import RequestContext
from server.errors import InvalidRequest
from server.pagination import parse_limit
from server.rest import api_context, list_body
from server.webhooks import service

UNSET: Any = msgspec.UNSET


class EndpointCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Any = None
    enabled_events: Any = None
    description: Any = ""
    ordered: Any = False
    signature_scheme: Any = "standard"


class EndpointUpdate(msgspec.Struct, forbid_unknown_fields=True):
    url: Any = UNSET
    enabled_events: Any = UNSET
    description: Any = UNSET
    status: Any = UNSET
    ordered: Any = UNSET
    signature_scheme: Any = UNSET


def _flag(value: Any) -> bool | None:
    if value is UNSET or value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidRequest("ordered must be true or false", param="ordered")
    return value


def endpoint_json(row: dict[str, Any]) -> dict[str, Any]:
    def ts(value: Any) -> int | None:
        return int(value.timestamp()) if value is not None else None

    body = {"id": row["id"], "object": "webhook_endpoint", "url": row["url"], "description": row["description"],
            "enabled_events": list(row["enabled_events"]), "status": row["status"], "ordered": row["ordered"],
            "signature_scheme": row["signature_scheme"],
            "disabled_reason": row["disabled_reason"], "disabled_at": ts(row["disabled_at"]),
            "livemode": row["livemode"], "created": ts(row["created"])}
    if "secret" in row:
        body["secret"] = row["secret"]
    return body


def _text(value: Any, param: str) -> str | None:
    if value is UNSET or value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{param} must be a string", param=param)
    return value


def _events(value: Any) -> list[str] | None:
    if value is UNSET or value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest("enabled_events must be a list of event types", param="enabled_events")
    return value


class WebhookEndpointController(Controller):
    path = "/v1/webhook_endpoints"
    tags = ["webhooks"]
    dependencies = {"ctx": Provide(api_context)}

    @post("/", summary="Create a webhook endpoint; the answer holds its secret", status_code=200)
    async def create(self, ctx: RequestContext, data: EndpointCreate) -> dict[str, Any]:
        url = _text(data.url, "url")
        if url is None:
            raise InvalidRequest("url is required", param="url")
        events = _events(data.enabled_events)
        if events is None:
            raise InvalidRequest("enabled_events is required, e.g. [\"*\"]", param="enabled_events")
        row = await service.create_endpoint(ctx, url, events, _text(data.description, "description") or "",
                                            bool(_flag(data.ordered)),
                                            _text(data.signature_scheme, "signature_scheme") or "standard")
        return endpoint_json(row)

    @get("/", summary="List webhook endpoints, newest first")
    async def list_endpoints(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        limit = parse_limit(request.query_params.get("limit"))
        page = await service.list_endpoints(ctx, limit, request.query_params.get("cursor"))
        return list_body(page, endpoint_json, "/v1/webhook_endpoints")

    @get("/{endpoint_id:str}", summary="Retrieve a webhook endpoint")
    async def retrieve(self, ctx: RequestContext, endpoint_id: str) -> dict[str, Any]:
        return endpoint_json(await service.get_endpoint(ctx, endpoint_id))

    @post("/{endpoint_id:str}", summary="Update a webhook endpoint (url, enabled_events, description, status)",
          status_code=200)
    async def update(self, ctx: RequestContext, endpoint_id: str, data: EndpointUpdate) -> dict[str, Any]:
        changes = service.EndpointChanges(url=_text(data.url, "url"),
                                          description=_text(data.description, "description"),
                                          enabled_events=_events(data.enabled_events),
                                          status=_text(data.status, "status"), ordered=_flag(data.ordered),
                                          signature_scheme=_text(data.signature_scheme, "signature_scheme"))
        return endpoint_json(await service.update_endpoint(ctx, endpoint_id, changes))

    @delete("/{endpoint_id:str}", summary="Delete a webhook endpoint", status_code=200)
    async def remove(self, ctx: RequestContext, endpoint_id: str) -> dict[str, Any]:
        row = await service.delete_endpoint(ctx, endpoint_id)
        return {"id": row["id"], "object": "webhook_endpoint", "deleted": True}
