"""One shape of an event everywhere: the REST/JSON object, the Redis message, the in-process message.

The dispatcher serialises an event once (`to_wire`), Redis carries that
text, and each process parses it once into an `EventMessage` that every
local subscriber shares (HTML renderings are cached on it, too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from server.context import Scope

CHANNEL_PREFIX = "paydeck:events:"
CHANNEL_PATTERN = CHANNEL_PREFIX + "*"


def channel(account_id: str, livemode: bool) -> str:
    """The Redis channel of one account and mode."""
    return f"{CHANNEL_PREFIX}{account_id}:{'live' if livemode else 'test'}"


def _data(value: Any) -> dict[str, Any]:
    return value or {}


def _created(value: Any) -> int:
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)


def event_json(row: dict[str, Any]) -> dict[str, Any]:
    """The public JSON of an event (REST, Redis, webhooks later)."""
    return {
        "id": row["id"], "object": "event", "type": row["type"], "livemode": row["livemode"],
        "created": _created(row["created"]), "account": row["account_id"],
        "data": {"object": _data(row["data"]), "object_type": row["object_type"], "object_id": row["object_id"]},
        "request": {"id": row.get("request_id"), "idempotency_key": row.get("idempotency_key")},
    }


def to_wire(row: dict[str, Any]) -> str:
    """The Redis message: the public JSON plus the dispatcher's position."""
    return json.dumps({**event_json(row), "pos": row["pos"]}, separators=(",", ":"))


@dataclass
class EventMessage:
    """An event as live subscribers see it: parsed once per process, shared by every subscriber."""

    id: str
    pos: int
    account_id: str
    livemode: bool
    type: str
    object_type: str
    object_id: str
    created: datetime
    data: dict[str, Any]
    request_id: str | None
    idempotency_key: str | None
    cache: dict[tuple[str, str], bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def scope(self) -> Scope:
        return Scope(self.account_id, self.livemode)

    @classmethod
    def from_wire(cls, text: str) -> EventMessage:
        body = json.loads(text)
        data = body["data"]
        return cls(id=body["id"], pos=int(body["pos"]), account_id=body["account"], livemode=body["livemode"],
                   type=body["type"], object_type=data["object_type"], object_id=data["object_id"],
                   created=datetime.fromtimestamp(body["created"], UTC), data=data["object"],
                   request_id=body["request"]["id"], idempotency_key=body["request"]["idempotency_key"])

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EventMessage:
        created = row["created"]
        return cls(id=row["id"], pos=int(row["pos"]), account_id=row["account_id"], livemode=row["livemode"],
                   type=row["type"], object_type=row["object_type"], object_id=row["object_id"],
                   created=created if isinstance(created, datetime) else datetime.fromtimestamp(created, UTC),
                   data=_data(row["data"]), request_id=row.get("request_id"),
                   idempotency_key=row.get("idempotency_key"))

    def as_row(self) -> dict[str, Any]:
        return {"id": self.id, "account_id": self.account_id, "livemode": self.livemode, "type": self.type,
                "object_type": self.object_type, "object_id": self.object_id, "data": self.data,
                "request_id": self.request_id, "idempotency_key": self.idempotency_key, "created": self.created,
                "pos": self.pos}
