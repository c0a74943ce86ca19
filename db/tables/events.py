"""Events: the outbox. Written in the same transaction as the change they describe.

`pos` is the dispatcher's position: NULL until the dispatcher has seen the
committed row, then a number that grows in the order events became visible
(see docs/events.md). `EventDispatch` stores how far the dispatcher got.
"""

from piccolo.columns import JSONB, BigInt, BigSerial, Boolean, Timestamptz, Varchar
from piccolo.table import Table


class Event(Table, tablename="events"):
    id = Varchar(length=40, primary_key=True)
    seq = BigSerial()
    account_id = Varchar(length=40)
    livemode = Boolean()
    type = Varchar(length=80)
    object_type = Varchar(length=40)
    object_id = Varchar(length=60)
    data = JSONB()
    request_id = Varchar(length=40, null=True, default=None)
    idempotency_key = Varchar(length=255, null=True, default=None)
    created = Timestamptz()
    pos = BigInt(null=True, default=None)


class EventDispatch(Table, tablename="event_dispatch"):
    """One row per dispatcher: the last position assigned and the last one published."""

    name = Varchar(length=40, primary_key=True)
    assigned_pos = BigInt(default=0)
    published_pos = BigInt(default=0)
    updated = Timestamptz()
