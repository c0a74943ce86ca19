"""Events: the outbox. Written in the same transaction as the change they describe."""

from piccolo.columns import JSONB, BigSerial, Boolean, Timestamptz, Varchar
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
