"""Dashboard pages for webhooks: endpoints, endpoint detail with deliveries, attempt detail, and the tools."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

from litestar import Request, Response

from server import clock, operations
from server.errors import NotFound
from server.instants import parse_instant
from server.web.forms import Submitted, Variables, submit
from server.web.pages import dashboard_context, dashboard_get, dashboard_post, redirect, show

FILTERS = ("status", "eventType", "eventId")


def _when(raw: Any, param: str) -> str | None:
    when = parse_instant(str(raw or "").strip(), param)
    return when.isoformat() if when else None


async def _list(request: Request, ctx, status: int = 200, **extra: Any) -> Response:
    return await show(request, ctx, "WebhooksPage", "webhooks/list.html", "webhooks", status=status, **extra)


async def _detail(request: Request, ctx, endpoint_id: str, status: int = 200, **extra: Any) -> Response:
    q = request.query_params
    variables: dict[str, Any] = {"id": endpoint_id, "endpointId": endpoint_id, "after": q.get("after") or None}
    filters = {"status": q.get("status") or "", "eventType": q.get("event_type") or "",
               "eventId": q.get("event_id") or "", "from": q.get("from") or "", "to": q.get("to") or ""}
    for key in FILTERS:
        variables[key] = filters[key] or None
    variables["createdGte"] = _when(filters["from"], "from")
    variables["createdLte"] = _when(filters["to"], "to")
    return await show(request, ctx, "WebhookEndpointPage", "webhooks/detail.html", "webhooks", variables=variables,
                      status=status, filters=filters, block=extra.pop("block", None), **extra)


@dashboard_get("/webhooks")
async def webhooks_page(request: Request) -> Response:
    return await _list(request, await dashboard_context(request))


@dashboard_post("/webhooks")
async def webhooks_create(request: Request) -> Response:
    return await submit(request, "CreateWebhookEndpoint", _endpoint_input, page=partial(_list, request),
                        then=lambda created: _list(request, created.ctx, created=created.result))


def _endpoint_input(form: dict[str, Any]) -> dict[str, Any]:
    events = [e.strip() for e in str(form.get("enabled_events", "")).replace("\n", ",").split(",") if e.strip()]
    return {"input": {"url": str(form.get("url", "")), "enabledEvents": events,
                      "description": str(form.get("description", "")), "ordered": form.get("ordered") == "on",
                      "signatureScheme": str(form.get("signature_scheme") or "standard")}}


@dashboard_get("/webhooks/{endpoint_id:str}")
async def endpoint_page(request: Request, endpoint_id: str) -> Response:
    ctx = await dashboard_context(request)
    return await _detail(request, ctx, endpoint_id, block="deliveries" if request.query_params.get("partial") else None,
                         notice=_done_notice(request.query_params.get("done")))


def _done_notice(done: str | None) -> str | None:
    """The notice after a redirect (post/redirect/get, so a reload never repeats the action)."""
    kind, _, value = (done or "").partition(":")
    if kind == "test" and value.startswith("msg_") and value[4:].isalnum():
        return f"Test event queued as delivery {value}."
    if kind == "recovered" and value.isdigit():
        return f"{value} deliveries queued again."
    return {"enabled": "Endpoint enabled.", "disabled": "Endpoint disabled."}.get(kind)


async def _mutate(request: Request, endpoint_id: str, operation: str, variables: Variables, notice: Any = None,
                  done: Any = None) -> Response:
    """An action on the endpoint's page: back to it with a notice, or (`done`) redirected to it."""
    def then(submitted: Submitted) -> Any:
        if done is not None:
            return redirect(request, f"/webhooks/{endpoint_id}?done={done(submitted.result)}")
        return _detail(request, submitted.ctx, endpoint_id, notice=notice, result=submitted.result)

    return await submit(request, operation, variables, page=partial(_detail, request, endpoint_id=endpoint_id),
                        then=then)


@dashboard_post("/webhooks/{endpoint_id:str}/test")
async def endpoint_test(request: Request, endpoint_id: str) -> Response:
    return await _mutate(request, endpoint_id, "SendTestWebhookEvent",
                         lambda f: {"endpointId": endpoint_id, "eventType": str(f.get("event_type", ""))},
                         done=lambda r: f"test:{r['webhookDelivery']['id']}")


@dashboard_post("/webhooks/{endpoint_id:str}/rotate")
async def endpoint_rotate(request: Request, endpoint_id: str) -> Response:
    def variables(form: dict[str, Any]) -> dict[str, Any]:
        try:
            hours = int(str(form.get("overlap_hours", "24")))
        except ValueError:
            hours = -1
        return {"id": endpoint_id, "overlapHours": hours}

    return await _mutate(request, endpoint_id, "RotateWebhookEndpointSecret", variables,
                         "Secret rotated. Deploy the new secret: the old one keeps signing until the time shown.")


@dashboard_post("/webhooks/{endpoint_id:str}/reveal")
async def endpoint_reveal(request: Request, endpoint_id: str) -> Response:
    return await _mutate(request, endpoint_id, "RevealWebhookEndpointSecret", {"id": endpoint_id}, None)


@dashboard_post("/webhooks/{endpoint_id:str}/status")
async def endpoint_status(request: Request, endpoint_id: str) -> Response:
    return await _mutate(request, endpoint_id, "UpdateWebhookEndpoint",
                         lambda f: {"id": endpoint_id, "input": {"status": str(f.get("status", ""))}},
                         done=lambda r: r["webhookEndpoint"]["status"])


@dashboard_post("/webhooks/{endpoint_id:str}/recover")
async def endpoint_recover(request: Request, endpoint_id: str) -> Response:
    def variables(form: dict[str, Any]) -> dict[str, Any]:
        since = _when(form.get("since"), "since") or (clock.now() - timedelta(days=7)).isoformat()
        return {"endpointId": endpoint_id, "since": since}

    return await _mutate(request, endpoint_id, "RecoverWebhookDeliveries", variables,
                         done=lambda r: f"recovered:{r['count']}")


@dashboard_post("/webhooks/{endpoint_id:str}/delete")
async def endpoint_delete(request: Request, endpoint_id: str) -> Response:
    return await submit(request, "DeleteWebhookEndpoint", {"id": endpoint_id}, page=partial(_list, request),
                        then=lambda deleted: _list(request, deleted.ctx, notice="Endpoint deleted."))


async def _delivery(request: Request, ctx, delivery_id: str, status: int = 200, **extra: Any) -> Response:
    data = await operations.run("WebhookDeliveryPage", ctx, {"id": delivery_id})
    if data["webhookDelivery"] is None:
        raise NotFound(f"no webhook delivery '{delivery_id}'")
    payload = data["webhookDelivery"]["payload"] or ""
    try:
        pretty = json.dumps(json.loads(payload), indent=2)
    except ValueError:
        pretty = payload
    return await show(request, ctx, "WebhookDeliveryPage", "webhooks/delivery.html", "webhooks",
                      variables={"id": delivery_id}, status=status, pretty_payload=pretty, **extra)


@dashboard_get("/webhooks/deliveries/{delivery_id:str}")
async def delivery_page(request: Request, delivery_id: str) -> Response:
    notice = ("Queued: it will be sent again with the same webhook-id."
              if request.query_params.get("done") == "resent" else None)
    return await _delivery(request, await dashboard_context(request), delivery_id, notice=notice)


@dashboard_post("/webhooks/deliveries/{delivery_id:str}/resend")
async def delivery_resend(request: Request, delivery_id: str) -> Response:
    return await submit(request, "ResendWebhookDelivery", {"id": delivery_id},
                        page=partial(_delivery, request, delivery_id=delivery_id),
                        then=lambda _: redirect(request, f"/webhooks/deliveries/{delivery_id}?done=resent"))


HANDLERS = [webhooks_page, webhooks_create, delivery_page, delivery_resend, endpoint_page, endpoint_test,
            endpoint_rotate, endpoint_reveal, endpoint_status, endpoint_recover, endpoint_delete]
