"""Idempotency keys: one row per (account, mode, key), holding the first response."""

from piccolo.columns import JSONB, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class IdempotencyKey(Table, tablename="idempotency_keys"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    key = Varchar(length=255)
    fingerprint = Varchar(length=64)
    method = Varchar(length=10)
    path = Varchar(length=500)
    response_status = Integer()
    response_headers = JSONB(default={})
    response_body = Text()
    created = Timestamptz()
