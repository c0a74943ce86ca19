"""GraphQL types of events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from server.events.wire import EventMessage


@strawberry.type(description="Something that happened in the account: a change and a snapshot of the object after it.")
class Event:
    id: strawberry.ID = strawberry.field(description="`evt_…`, sortable by creation time.")
    type: str = strawberry.field(description="`<object type>.<what happened>`, e.g. `payment_intent.succeeded`.")
    object_type: str = strawberry.field(description="The kind of object, e.g. `payment_intent`.")
    object_id: str = strawberry.field(description="The object's id.")
    livemode: bool = strawberry.field(description="The mode the change happened in.")
    created: datetime = strawberry.field(description="When the change was committed (to the millisecond).")
    data: JSON = strawberry.field(description="Snapshot of the object after the change, as its REST JSON.")
    request_id: str | None = strawberry.field(description="The API request that caused it, if one did.")
    idempotency_key: str | None = strawberry.field(description="That request's Idempotency-Key, if it had one.")
    # A live event's per-process cache, shared by its subscribers (server.gql.shared); not in the schema.
    shared: strawberry.Private[dict[Any, Any] | None] = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        data = row["data"]
        return cls(id=strawberry.ID(row["id"]), type=row["type"], object_type=row["object_type"],
                   object_id=row["object_id"], livemode=row["livemode"], created=row["created"],
                   data=data, request_id=row.get("request_id"),
                   idempotency_key=row.get("idempotency_key"))

    @classmethod
    def from_message(cls, message: EventMessage) -> Event:
        return cls(id=strawberry.ID(message.id), type=message.type, object_type=message.object_type,
                   object_id=message.object_id, livemode=message.livemode, created=message.created,
                   data=JSON(message.data), request_id=message.request_id, idempotency_key=message.idempotency_key,
                   shared=message.cache)
