"""Webhook endpoints and the debugging tools: the only place the webhooks domain writes for people.

REST, GraphQL and the dashboard all call these functions. The delivery
engine's own writes are in `delivery.py` and `fanout.py`. Work queued here
(a resend, a test event, a recovery) wakes the delivery workers of every
process with `pg_notify`, sent when the transaction commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server import clock, db
from server.audit import service as audit
from server.context import RequestContext, Scope
from server.errors import Conflict, InvalidRequest, NotFound
from server.events import service as events
from server.ids import new_id
from server.pagination import Page, decode_cursor
from server.permissions import read, write
from server.settings import get_settings
from server.webhooks import queries, signing, ssrf

RESOURCE = "webhook_endpoints"
MAX_EVENTS = 50
DELIVERY_STATUSES = ("pending", "succeeded", "failed", "skipped")
SIGNATURE_SCHEMES = signing.SCHEMES


@dataclass
class EndpointChanges:
    url: str | None = None
    description: str | None = None
    enabled_events: list[str] | None = None
    status: str | None = None  # enabled | disabled
    ordered: bool | None = None
    signature_scheme: str | None = None  # standard | stripe


def _clean_events(events_: list[str] | None) -> list[str]:
    names = sorted({e.strip() for e in events_ or [] if e and e.strip()})
    if not names:
        raise InvalidRequest("enabled_events needs at least one event type, or '*' for all", param="enabled_events")
    if len(names) > MAX_EVENTS:
        raise InvalidRequest(f"at most {MAX_EVENTS} event types", param="enabled_events")
    for name in names:
        if len(name) > 80 or not signing.valid_pattern(name):
            raise InvalidRequest(f"unknown event type '{name[:80]}'", param="enabled_events")
    return names


def _clean_description(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > 500:
        raise InvalidRequest("description must be at most 500 characters", param="description")
    return text


async def _url(url: str, scope: Scope) -> str:
    return await ssrf.check_url(url, scope.livemode, get_settings().allow_private_webhook_urls)


def _scheme(scheme: str) -> str:
    if scheme not in SIGNATURE_SCHEMES:
        raise InvalidRequest("signature_scheme must be standard or stripe", param="signature_scheme")
    return scheme


async def create_endpoint(ctx: RequestContext, url: str, enabled_events: list[str],
                          description: str = "", ordered: bool = False,
                          signature_scheme: str = "standard") -> dict[str, Any]:
    """Create an endpoint; the returned row includes its secret. `ordered`: one delivery at a time, in order.
    `signature_scheme`: how deliveries are signed (server/webhooks/signing.py)."""
    scope = ctx.require(write(RESOURCE))
    row: dict[str, Any] = {"id": new_id("we"), "account_id": scope.account_id, "livemode": scope.livemode,
           "url": await _url(url, scope), "description": _clean_description(description),
           "enabled_events": _clean_events(enabled_events), "secret": signing.new_secret(), "ordered": bool(ordered),
           "signature_scheme": _scheme(signature_scheme), "created": clock.WEBHOOKS.now()}
    async with db.transaction():
        await queries.insert_endpoint(row)
        await audit.record(ctx, scope.account_id, "webhook_endpoint.created", "webhook_endpoint", row["id"],
                           {"url": row["url"], "enabled_events": row["enabled_events"]}, scope.livemode)
    created = await queries.endpoint(scope, row["id"], with_secret=True)
    assert created is not None
    return created


async def get_endpoint(ctx: RequestContext, endpoint_id: str) -> dict[str, Any]:
    scope = ctx.require(read(RESOURCE))
    row = await queries.endpoint(scope, endpoint_id)
    if row is None:
        raise NotFound(f"no webhook endpoint '{endpoint_id}'", param="id")
    return row


async def list_endpoints(ctx: RequestContext, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    scope = ctx.require(read(RESOURCE))
    return Page.from_rows(await queries.endpoints_page(scope, decode_cursor(cursor), limit), limit)


async def endpoint_stats(ctx: RequestContext, endpoint_ids: list[str], days: int = 7) -> dict[str, dict[str, Any]]:
    scope = ctx.require(read(RESOURCE))
    return await queries.endpoint_stats(scope, endpoint_ids, clock.WEBHOOKS.now() - timedelta(days=days))


async def delivery_series(ctx: RequestContext, endpoint_id: str, hours: int = 24) -> list[dict[str, Any]]:
    scope = ctx.require(read(RESOURCE))
    hours = min(max(hours, 1), 24 * 30)
    bucket = 300 if hours <= 24 else 3600
    return await queries.delivery_buckets(scope, endpoint_id, clock.WEBHOOKS.now() - timedelta(hours=hours), bucket)


async def update_endpoint(ctx: RequestContext, endpoint_id: str, changes: EndpointChanges) -> dict[str, Any]:
    scope = ctx.require(write(RESOURCE))
    values: dict[str, Any] = {}
    if changes.url is not None:
        values["url"] = await _url(changes.url, scope)
    if changes.description is not None:
        values["description"] = _clean_description(changes.description)
    if changes.enabled_events is not None:
        values["enabled_events"] = _clean_events(changes.enabled_events)
    if changes.ordered is not None:
        values["ordered"] = bool(changes.ordered)
    if changes.signature_scheme is not None:
        values["signature_scheme"] = _scheme(changes.signature_scheme)
    if changes.status is not None and changes.status not in ("enabled", "disabled"):
        raise InvalidRequest("status must be enabled or disabled", param="status")
    async with db.transaction():
        row = await queries.endpoint(scope, endpoint_id, for_update=True)
        if row is None:
            raise NotFound(f"no webhook endpoint '{endpoint_id}'", param="id")
        now = clock.WEBHOOKS.now()
        if changes.status == "enabled" and row["status"] != "enabled":
            values.update(status="enabled", disabled_reason=None, disabled_at=None, failing_since=None)
        elif changes.status == "disabled" and row["status"] != "disabled":
            values.update(status="disabled", disabled_reason="disabled by a user", disabled_at=now)
            await queries.skip_pending(scope, endpoint_id)
        if values:
            values["updated"] = now
            await queries.update_endpoint(scope, endpoint_id, values)
            await audit.record(ctx, scope.account_id, "webhook_endpoint.updated", "webhook_endpoint", endpoint_id,
                               {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()},
                               scope.livemode)
    return await get_endpoint(ctx, endpoint_id)


async def delete_endpoint(ctx: RequestContext, endpoint_id: str) -> dict[str, Any]:
    scope = ctx.require(write(RESOURCE))
    async with db.transaction():
        row = await queries.endpoint(scope, endpoint_id, for_update=True)
        if row is None:
            raise NotFound(f"no webhook endpoint '{endpoint_id}'", param="id")
        await queries.delete_endpoint(scope, endpoint_id)
        await audit.record(ctx, scope.account_id, "webhook_endpoint.deleted", "webhook_endpoint", endpoint_id,
                           {"url": row["url"]}, scope.livemode)
    return row


async def reveal_secret(ctx: RequestContext, endpoint_id: str) -> str:
    """The signing secret, for roles that manage webhooks; every reveal is in the audit log."""
    scope = ctx.require(write(RESOURCE))
    async with db.transaction():
        row = await queries.endpoint(scope, endpoint_id, with_secret=True)
        if row is None:
            raise NotFound(f"no webhook endpoint '{endpoint_id}'", param="id")
        await audit.record(ctx, scope.account_id, "webhook_endpoint.secret_revealed", "webhook_endpoint",
                           endpoint_id, {}, scope.livemode)
    return row["secret"]


async def rotate_secret(ctx: RequestContext, endpoint_id: str, overlap_hours: int = 24) -> str:
    """A new secret; the old one keeps signing alongside it for `overlap_hours` (0–24)."""
    scope = ctx.require(write(RESOURCE))
    if not 0 <= overlap_hours <= 24:
        raise InvalidRequest("overlap_hours must be between 0 and 24", param="overlap_hours")
    async with db.transaction():
        row = await queries.endpoint(scope, endpoint_id, for_update=True, with_secret=True)
        if row is None:
            raise NotFound(f"no webhook endpoint '{endpoint_id}'", param="id")
        now, secret = clock.WEBHOOKS.now(), signing.new_secret()
        expires = now + timedelta(hours=overlap_hours)
        await queries.update_endpoint(scope, endpoint_id, {
            "secret": secret, "previous_secret": row["secret"] if overlap_hours else None,
            "previous_secret_expires_at": expires if overlap_hours else None, "updated": now})
        await audit.record(ctx, scope.account_id, "webhook_endpoint.secret_rotated", "webhook_endpoint", endpoint_id,
                           {"previous_secret_expires_at": expires.isoformat()}, scope.livemode)
    return secret


async def disable(scope: Scope, endpoint_id: str, reason: str, now: datetime) -> bool:
    """Disable an endpoint for failing (410, five days of errors) and emit `webhook_endpoint.disabled`.

    Runs inside the caller's transaction; returns False when it was already disabled.
    """
    row = await queries.endpoint(scope, endpoint_id, for_update=True)
    if row is None or row["status"] == "disabled":
        return False
    await queries.update_endpoint(scope, endpoint_id, {"status": "disabled", "disabled_reason": reason[:200],
                                                       "disabled_at": now, "updated": now})
    await queries.skip_pending(scope, endpoint_id)
    await events.emit(None, scope, "webhook_endpoint.disabled", "webhook_endpoint", endpoint_id, {
        "id": endpoint_id, "object": "webhook_endpoint", "url": row["url"], "status": "disabled",
        "disabled_reason": reason[:200], "livemode": scope.livemode})
    await audit.record(None, scope.account_id, "webhook_endpoint.disabled", "webhook_endpoint", endpoint_id,
                       {"reason": reason[:200]}, scope.livemode)
    return True


# --- deliveries ------------------------------------------------------------------------------


async def list_deliveries(ctx: RequestContext, limit: int, cursor: str | None, *, endpoint_id: str | None = None,
                          status: str | None = None, event_type: str | None = None, event_id: str | None = None,
                          object_id: str | None = None, created_gte: datetime | None = None,
                          created_lte: datetime | None = None) -> Page[dict[str, Any]]:
    scope = ctx.require(read(RESOURCE))
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(DELIVERY_STATUSES)}", param="status")
    if event_type is not None and (len(event_type) > 80 or not all(c.isalnum() or c in "._*" for c in event_type)):
        raise InvalidRequest("invalid event type", param="event_type")
    rows = await queries.deliveries_page(scope, decode_cursor(cursor), limit, endpoint_id=endpoint_id or None,
                                         status=status or None, event_type=event_type or None,
                                         event_id=event_id or None, object_id=object_id or None,
                                         created_gte=created_gte, created_lte=created_lte)
    return Page.from_rows(rows, limit)


async def get_delivery(ctx: RequestContext, delivery_id: str) -> dict[str, Any]:
    scope = ctx.require(read(RESOURCE))
    row = await queries.delivery(scope, delivery_id, with_payload=True)
    if row is None:
        raise NotFound(f"no webhook delivery '{delivery_id}'", param="id")
    return row


async def attempts_of(ctx: RequestContext, delivery_ids: list[str]) -> list[list[dict[str, Any]]]:
    """Every attempt of each delivery, newest first, in the order asked: a delivery's nested field."""
    found: dict[str, list[dict[str, Any]]] = {delivery_id: [] for delivery_id in delivery_ids}
    for attempt in await queries.attempts(ctx.require(read(RESOURCE)), delivery_ids):
        found[attempt["delivery_id"]].append(attempt)
    return [found[delivery_id] for delivery_id in delivery_ids]


async def resend(ctx: RequestContext, delivery_id: str) -> dict[str, Any]:
    """Send one delivery again now (same `webhook-id`); one attempt, no automatic retries after it."""
    scope = ctx.require(write(RESOURCE))
    async with db.transaction():
        row = await queries.delivery(scope, delivery_id, for_update=True)
        if row is None:
            raise NotFound(f"no webhook delivery '{delivery_id}'", param="id")
        if row["status"] == "pending":
            raise Conflict("this delivery is already queued", param="id")
        ep = await queries.endpoint(scope, row["endpoint_id"])
        if ep is None or ep["status"] != "enabled":
            raise Conflict("enable the endpoint before resending", param="id")
        await queries.requeue(scope, [delivery_id], clock.WEBHOOKS.now(), auto_retry=False)
        await queries.notify_workers()  # pg_notify: delivered when this transaction commits
    return await get_delivery(ctx, delivery_id)


async def send_test(ctx: RequestContext, endpoint_id: str, event_type: str) -> dict[str, Any]:
    """Queue a test event of `event_type` with a realistic sample object to one endpoint."""
    scope = ctx.require(write(RESOURCE))
    if event_type not in signing.EVENT_TYPES:
        raise InvalidRequest(f"unknown event type '{event_type[:80]}'", param="event_type")
    ep = await queries.endpoint(scope, endpoint_id)
    if ep is None:
        raise NotFound(f"no webhook endpoint '{endpoint_id}'", param="endpoint_id")
    if ep["status"] != "enabled":
        raise Conflict("enable the endpoint before sending a test event", param="endpoint_id")
    now = clock.WEBHOOKS.now()
    event = {"id": new_id("evt"), "type": event_type, "created": now, "livemode": scope.livemode,
             "data": signing.sample_object(event_type, scope.livemode), "request_id": ctx.request_id,
             "idempotency_key": None}
    body = json.loads(signing.event_body(event))
    body["test"] = True
    delivery_id = new_id("msg")
    async with db.transaction():
        await queries.insert_deliveries([{
            "id": delivery_id, "account_id": scope.account_id, "livemode": scope.livemode, "endpoint_id": endpoint_id,
            "event_id": event["id"], "event_type": event_type, "payload": json.dumps(body, separators=(",", ":")),
            "status": "pending", "is_test": True, "auto_retry": False, "attempt_count": 0, "next_attempt_at": now,
            "created": now}])
        await queries.notify_workers()
    return await get_delivery(ctx, delivery_id)


async def recover(ctx: RequestContext, endpoint_id: str, since: datetime) -> int:
    """Queue again every delivery that failed or was skipped since `since`, except events delivered since."""
    scope = ctx.require(write(RESOURCE))
    async with db.transaction():
        ep = await queries.endpoint(scope, endpoint_id, for_update=True)
        if ep is None:
            raise NotFound(f"no webhook endpoint '{endpoint_id}'", param="endpoint_id")
        if ep["status"] != "enabled":
            raise Conflict("enable the endpoint before recovering deliveries", param="endpoint_id")
        ids = await queries.recoverable(scope, endpoint_id, since)
        count = await queries.requeue(scope, ids, clock.WEBHOOKS.now(), auto_retry=True)
        await audit.record(ctx, scope.account_id, "webhook_endpoint.recovered", "webhook_endpoint", endpoint_id,
                           {"since": since.isoformat(), "deliveries": count}, scope.livemode)
        await queries.notify_workers()
    return count
