"""Idempotency keys: one row per (account, mode, key): who runs it, what it committed, its first response."""

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
    response_status = Integer()  # 0 until the final response is stored
    response_headers = JSONB(default={})
    response_body = Text()
    created = Timestamptz()
    locked_by = Varchar(length=40, null=True, default=None)  # the claim of the request running it
    locked_at = Timestamptz(null=True, default=None)
    owner = Integer(null=True, default=None)  # the running process's advisory-lock id
    effects = JSONB(default={})  # step -> the object it committed (server/idempotency/effects.py)
