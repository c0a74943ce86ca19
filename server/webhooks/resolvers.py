"""GraphQL queries and mutations of webhooks: thin, over `server.webhooks.service`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from server.gql.common import Connection, connection, ctx_of, first_arg, one_or_none
from server.webhooks import service, signing
from server.webhooks import types as t


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Webhook endpoints of the current mode, newest first (needs manage_webhooks).")
    async def webhook_endpoints(self, info: Info, first: int | None = None,
                                after: str | None = None) -> Connection[t.WebhookEndpoint]:
        page = await service.list_endpoints(ctx_of(info), first_arg(first), after)
        return connection(page, t.WebhookEndpoint.from_row)

    @strawberry.field(description="One webhook endpoint of the current mode.")
    async def webhook_endpoint(self, info: Info, id: strawberry.ID) -> t.WebhookEndpoint | None:
        return await one_or_none(t.WebhookEndpoint.from_row, service.get_endpoint(ctx_of(info), str(id)))

    @strawberry.field(description="Deliveries, newest first, filtered by endpoint, status, event type "
                                  "(wildcards allowed), event id, the object the event is about (e.g. a payment "
                                  "intent) and creation time.")
    async def webhook_deliveries(self, info: Info, endpoint_id: str | None = None, status: str | None = None,
                                 event_type: str | None = None, event_id: str | None = None,
                                 object_id: str | None = None,
                                 created_gte: datetime | None = None, created_lte: datetime | None = None,
                                 first: int | None = None, after: str | None = None) -> Connection[t.WebhookDelivery]:
        page = await service.list_deliveries(ctx_of(info), first_arg(first), after, endpoint_id=endpoint_id,
                                             status=status, event_type=event_type, event_id=event_id,
                                             object_id=object_id, created_gte=created_gte, created_lte=created_lte)
        return connection(page, t.WebhookDelivery.from_row)

    @strawberry.field(description="One delivery with its payload and attempts.")
    async def webhook_delivery(self, info: Info, id: strawberry.ID) -> t.WebhookDelivery | None:
        return await one_or_none(t.WebhookDelivery.from_row, service.get_delivery(ctx_of(info), str(id)))

    @strawberry.field(description="Event types an endpoint can subscribe to and send as test events.")
    def webhook_event_types(self) -> list[str]:
        return list(signing.EVENT_TYPES)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Create an endpoint; the result holds its signing secret.")
    async def create_webhook_endpoint(self, info: Info,
                                      input: t.CreateWebhookEndpointInput) -> t.CreateWebhookEndpointResult:
        row = await service.create_endpoint(ctx_of(info), input.url, input.enabled_events, input.description,
                                            input.ordered, signature_scheme=input.signature_scheme)
        return t.WebhookEndpointSecretPayload(webhook_endpoint=t.WebhookEndpoint.from_row(row), secret=row["secret"])

    @strawberry.mutation(description="Change an endpoint: URL, events, description, or enable/disable it.")
    async def update_webhook_endpoint(self, info: Info, id: strawberry.ID,
                                      input: t.UpdateWebhookEndpointInput) -> t.WebhookEndpointResult:
        changes = service.EndpointChanges(url=input.url, description=input.description,
                                          enabled_events=input.enabled_events, status=input.status,
                                          ordered=input.ordered, signature_scheme=input.signature_scheme)
        row = await service.update_endpoint(ctx_of(info), str(id), changes)
        return t.WebhookEndpointPayload(webhook_endpoint=t.WebhookEndpoint.from_row(row))

    @strawberry.mutation(description="Delete an endpoint with its deliveries.")
    async def delete_webhook_endpoint(self, info: Info, id: strawberry.ID) -> t.WebhookEndpointResult:
        row = await service.delete_endpoint(ctx_of(info), str(id))
        return t.WebhookEndpointPayload(webhook_endpoint=t.WebhookEndpoint.from_row(row))

    @strawberry.mutation(description="Show the signing secret (recorded in the audit log).")
    async def reveal_webhook_endpoint_secret(self, info: Info, id: strawberry.ID) -> t.WebhookSecretResult:
        ctx = ctx_of(info)
        secret = await service.reveal_secret(ctx, str(id))
        row = await service.get_endpoint(ctx, str(id))
        return t.WebhookEndpointSecretPayload(webhook_endpoint=t.WebhookEndpoint.from_row(row), secret=secret)

    @strawberry.mutation(description="New signing secret; the old one also signs for `overlapHours` (0–24).")
    async def rotate_webhook_endpoint_secret(self, info: Info, id: strawberry.ID,
                                             overlap_hours: int = 24) -> t.WebhookSecretResult:
        ctx = ctx_of(info)
        secret = await service.rotate_secret(ctx, str(id), overlap_hours)
        row = await service.get_endpoint(ctx, str(id))
        return t.WebhookEndpointSecretPayload(webhook_endpoint=t.WebhookEndpoint.from_row(row), secret=secret)

    @strawberry.mutation(description="Send a delivery again now, with the same webhook-id.")
    async def resend_webhook_delivery(self, info: Info, id: strawberry.ID) -> t.WebhookDeliveryResult:
        row = await service.resend(ctx_of(info), str(id))
        return t.WebhookDeliveryPayload(webhook_delivery=t.WebhookDelivery.from_row(row))

    @strawberry.mutation(description="Send a test event of a type, with a realistic sample object.")
    async def send_test_webhook_event(self, info: Info, endpoint_id: strawberry.ID,
                                      event_type: str) -> t.WebhookDeliveryResult:
        row = await service.send_test(ctx_of(info), str(endpoint_id), event_type)
        return t.WebhookDeliveryPayload(webhook_delivery=t.WebhookDelivery.from_row(row))

    @strawberry.mutation(description="Send again what failed or was skipped since `since`, except events "
                                     "delivered since.")
    async def recover_webhook_deliveries(self, info: Info, endpoint_id: strawberry.ID,
                                         since: datetime) -> t.RecoverWebhookDeliveriesResult:
        count = await service.recover(ctx_of(info), str(endpoint_id), since)
        return t.RecoverWebhookDeliveriesPayload(count=count)
