"""GraphQL queries and subscriptions of events."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from server.events import service
from server.events import types as t
from server.events.hub import hub
from server.events.queries import TypeFilter
from server.gql.common import Connection, connection, ctx_of, first_arg, one_or_none
from server.permissions import read


@strawberry.type
class EventQuery:
    @strawberry.field(description="Events of the current account and mode, newest first. `types` takes exact "
                                  "names and `prefix.*` wildcards; `createdGte`/`createdLte` bound the time.")
    async def events(self, info: Info, types: list[str] | None = None, first: int | None = None,
                     after: str | None = None, created_gte: datetime | None = None,
                     created_lte: datetime | None = None, object_id: str | None = None) -> Connection[t.Event]:
        page = await service.list_events(ctx_of(info), first_arg(first), after, types, created_gte, created_lte,
                                         object_id)
        return connection(page, t.Event.from_row)

    @strawberry.field(description="One event of the current account and mode.")
    async def event(self, info: Info, id: strawberry.ID) -> t.Event | None:
        return await one_or_none(t.Event.from_row, service.get(ctx_of(info), str(id)))


async def _stream(info: Info, types: TypeFilter) -> AsyncGenerator[t.Event, None]:
    scope = ctx_of(info).require(read("events"))
    async with hub().subscribe(scope, types) as subscriber:
        async for message in subscriber:
            yield t.Event.from_message(message)


def events_filter(types: list[str] | None) -> TypeFilter:
    return service.parse_types(types, param="types")


def payment_filter(id: str | None) -> TypeFilter:
    return TypeFilter(object_type="payment_intent", object_id=str(id) if id else None)


# The live fields by GraphQL name, and their filter from the field's coerced arguments (GraphQL names): the
# purpose-built WebSocket path (server/gql/live_ws.py) serves them from the hub without these resolvers.
LIVE_FILTERS: dict[str, Callable[[dict[str, Any]], TypeFilter]] = {
    "events": lambda args: events_filter(args.get("types")),
    "paymentUpdated": lambda args: payment_filter(args.get("id")),
}


@strawberry.type
class EventSubscription:
    @strawberry.subscription(description="Events of the connection's account and mode as they are committed "
                                         "(exact types or `prefix.*` wildcards; none: all). Delivered at least "
                                         "once: de-duplicate by `id`.")
    async def events(self, info: Info, types: list[str] | None = None) -> AsyncGenerator[t.Event, None]:
        async for event in _stream(info, events_filter(types)):
            yield event

    @strawberry.subscription(description="Events about payment intents (object type `payment_intent`), or about "
                                         "one of them when `id` is given.")
    async def payment_updated(self, info: Info, id: strawberry.ID | None = None) -> AsyncGenerator[t.Event, None]:
        async for event in _stream(info, payment_filter(id)):
            yield event
