"""GraphQL types of webhook endpoints, deliveries and attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from server.gql.common import ConflictError, NotFoundError, ValidationError, ctx_of
from server.gql.loaders import loaders_of
from server.webhooks import service


@strawberry.type(description="One HTTP header of a webhook attempt.")
class WebhookHeader:
    name: str = strawberry.field(description="Header name, lower case.")
    value: str = strawberry.field(description="Header value.")


def _headers(value: dict[str, str] | None) -> list[WebhookHeader]:
    return [WebhookHeader(name=k, value=v) for k, v in sorted((value or {}).items())]


@strawberry.type(description="Deliveries attempted in one time bucket: the endpoint's delivery-rate chart.")
class WebhookDeliveryBucket:
    at: datetime = strawberry.field(description="Start of the bucket.")
    succeeded: int = strawberry.field(description="Attempts answered with 2xx.")
    failed: int = strawberry.field(description="Attempts that failed.")


@strawberry.type(description="A URL that receives signed events (Standard Webhooks).")
class WebhookEndpoint:
    id: str = strawberry.field(description="`we_…`")
    url: str = strawberry.field(description="Where events are POSTed.")
    description: str = strawberry.field(description="A note of your choosing.")
    enabled_events: list[str] = strawberry.field(
        description="Event types sent, exact or wildcards (`*`, `customer.*`).")
    status: str = strawberry.field(description="enabled or disabled.")
    ordered: bool = strawberry.field(description="One delivery at a time, in event order (a failing one holds "
                                                 "back the rest until it succeeds or gives up).")
    disabled_reason: str | None = strawberry.field(description="Why it was disabled (410, five days failing, a user).")
    disabled_at: datetime | None = strawberry.field(description="When it was disabled.")
    failing_since: datetime | None = strawberry.field(description="First failure since the last success.")
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="During a secret rotation: until when the previous secret also signs.")
    livemode: bool = strawberry.field(description="The mode whose events it receives.")
    created: datetime = strawberry.field(description="When it was created.")
    signature_scheme: str = strawberry.field(description=(
        "How deliveries are signed: standard (Standard Webhooks headers, Paydeck's event body) or stripe "
        "(a Stripe-Signature header and the event in Stripe's shape, for stripe.Webhook.construct_event)."))

    @strawberry.field(description="Share of attempts answered with 2xx over the last 7 days (0–1), if any.")
    async def success_rate(self, info: Info) -> float | None:
        stats = await _stats(info, self.id)
        return stats["ok"] / stats["total"] if stats.get("total") else None

    @strawberry.field(description="Attempts over the last 7 days.")
    async def attempts_last_7_days(self, info: Info) -> int:
        return int((await _stats(info, self.id)).get("total", 0))

    @strawberry.field(description="Time of the last attempt.")
    async def last_delivery_at(self, info: Info) -> datetime | None:
        return (await _stats(info, self.id)).get("last_at")

    @strawberry.field(description="Outcome of the last attempt: succeeded or failed.")
    async def last_delivery_outcome(self, info: Info) -> str | None:
        return (await _stats(info, self.id)).get("last_outcome")

    @strawberry.field(description="Attempts per bucket over the last `hours` (1–720): 5-minute buckets up to a day.")
    async def delivery_series(self, info: Info, hours: int = 24) -> list[WebhookDeliveryBucket]:
        rows = await service.delivery_series(ctx_of(info), self.id, hours)
        return [WebhookDeliveryBucket(at=r["bucket"], succeeded=r["ok"], failed=r["failed"]) for r in rows]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> WebhookEndpoint:
        return cls(id=row["id"], url=row["url"], description=row["description"],
                   enabled_events=list(row["enabled_events"]), status=row["status"], ordered=row["ordered"],
                   disabled_reason=row["disabled_reason"], disabled_at=row["disabled_at"],
                   failing_since=row["failing_since"], previous_secret_expires_at=row["previous_secret_expires_at"],
                   livemode=row["livemode"], created=row["created"], signature_scheme=row["signature_scheme"])


async def _stats(info: Info, endpoint_id: str) -> dict[str, Any]:
    """This endpoint's attempts over 7 days, read with every other endpoint's in the list."""
    return await loaders_of(info).endpoint_stats.load(endpoint_id)


@strawberry.type(description="One HTTP attempt of a delivery: the request sent and the response received.")
class WebhookAttempt:
    id: str = strawberry.field(description="`wha_…`")
    attempt_number: int = strawberry.field(description="1 for the first attempt.")
    url: str = strawberry.field(description="The URL called.")
    request_headers: list[WebhookHeader] = strawberry.field(description="Headers sent, signature included.")
    response_status: int | None = strawberry.field(description="HTTP status, if a response came.")
    response_headers: list[WebhookHeader] = strawberry.field(description="Headers received.")
    response_body: str = strawberry.field(description="First 2 KiB of the response body.")
    duration_ms: int = strawberry.field(description="Time to the response or the error.")
    error: str | None = strawberry.field(description="Timeout, connection error, refusal or non-2xx status.")
    outcome: str = strawberry.field(description="succeeded or failed.")
    created: datetime = strawberry.field(description="When it was made.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> WebhookAttempt:
        return cls(id=row["id"], attempt_number=row["attempt_number"], url=row["url"],
                   request_headers=_headers(row["request_headers"]), response_status=row["response_status"],
                   response_headers=_headers(row["response_headers"]), response_body=row["response_body"],
                   duration_ms=row["duration_ms"], error=row["error"], outcome=row["outcome"], created=row["created"])


@strawberry.type(description="One event sent to one endpoint. Its id is the `webhook-id` header of every attempt.")
class WebhookDelivery:
    id: str = strawberry.field(description="`msg_…`, the `webhook-id`.")
    endpoint_id: str = strawberry.field(description="The endpoint.")
    event_id: str = strawberry.field(description="The event (a test event's id is not in the event list).")
    event_type: str = strawberry.field(description="The event's type.")
    status: str = strawberry.field(description="pending, succeeded, failed or skipped (endpoint was disabled).")
    is_test: bool = strawberry.field(description="A test event sent from the dashboard or API.")
    attempt_count: int = strawberry.field(description="Attempts made.")
    next_attempt_at: datetime | None = strawberry.field(description="When the next attempt is due, if pending.")
    last_attempt_at: datetime | None = strawberry.field(description="When the last attempt was made.")
    last_status_code: int | None = strawberry.field(description="HTTP status of the last attempt.")
    last_error: str | None = strawberry.field(description="What went wrong last.")
    livemode: bool = strawberry.field(description="The mode.")
    created: datetime = strawberry.field(description="When the delivery was created.")
    payload: str | None = strawberry.field(description="The JSON body sent (on single-delivery reads).")

    @strawberry.field(description="Every attempt, newest first.")
    async def attempts(self, info: Info) -> list[WebhookAttempt]:
        return [WebhookAttempt.from_row(r) for r in await loaders_of(info).attempts_of_delivery.load(self.id)]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> WebhookDelivery:
        return cls(id=row["id"], endpoint_id=row["endpoint_id"], event_id=row["event_id"],
                   event_type=row["event_type"], status=row["status"], is_test=row["is_test"],
                   attempt_count=row["attempt_count"], next_attempt_at=row["next_attempt_at"],
                   last_attempt_at=row["last_attempt_at"], last_status_code=row["last_status_code"],
                   last_error=row["last_error"], livemode=row["livemode"], created=row["created"],
                   payload=row.get("payload"))


@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="https URL (http allowed in test mode).")
    enabled_events: list[str] = strawberry.field(description="Event types, exact or wildcards; `*` for all.")
    description: str = strawberry.field(default="", description="A note.")
    ordered: bool = strawberry.field(default=False, description="Deliver one at a time, in event order.")
    signature_scheme: str = strawberry.field(default="standard", description="standard or stripe: how deliveries "
                                             "are signed (see WebhookEndpoint.signatureScheme).")


@strawberry.input(description="Changes to a webhook endpoint; omitted fields stay as they are.")
class UpdateWebhookEndpointInput:
    url: str | None = strawberry.field(default=None, description="New URL.")
    enabled_events: list[str] | None = strawberry.field(default=None, description="New event types.")
    description: str | None = strawberry.field(default=None, description="New note.")
    status: str | None = strawberry.field(default=None, description="enabled or disabled.")
    ordered: bool | None = strawberry.field(default=None, description="Deliver one at a time, in event order.")
    signature_scheme: str | None = strawberry.field(default=None, description="standard or stripe: how deliveries "
                                                    "are signed from now on (resends included).")


@strawberry.type(description="The endpoint and its signing secret.")
class WebhookEndpointSecretPayload:
    webhook_endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")
    secret: str = strawberry.field(description="`whsec_…`: verify signatures with it.")


@strawberry.type(description="The endpoint after the change.")
class WebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")


@strawberry.type(description="The delivery, queued.")
class WebhookDeliveryPayload:
    webhook_delivery: WebhookDelivery = strawberry.field(description="The delivery.")


@strawberry.type(description="How many deliveries were queued again.")
class RecoverWebhookDeliveriesPayload:
    count: int = strawberry.field(description="Deliveries queued.")


CreateWebhookEndpointResult = Annotated[WebhookEndpointSecretPayload | ValidationError,
                                        strawberry.union("CreateWebhookEndpointResult")]
WebhookEndpointResult = Annotated[WebhookEndpointPayload | ValidationError | NotFoundError | ConflictError,
                                  strawberry.union("WebhookEndpointResult")]
WebhookSecretResult = Annotated[WebhookEndpointSecretPayload | ValidationError | NotFoundError,
                                strawberry.union("WebhookSecretResult")]
WebhookDeliveryResult = Annotated[WebhookDeliveryPayload | ValidationError | NotFoundError | ConflictError,
                                  strawberry.union("WebhookDeliveryResult")]
RecoverWebhookDeliveriesResult = Annotated[RecoverWebhookDeliveriesPayload | ValidationError | NotFoundError |
                                           ConflictError, strawberry.union("RecoverWebhookDeliveriesResult")]
