"""API keys: only a hash of the secret is kept."""

from piccolo.columns import JSONB, Boolean, Timestamptz, Varchar
from piccolo.table import Table


class ApiKey(Table, tablename="api_keys"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40, index=True)
    livemode = Boolean()
    kind = Varchar(length=20)
    name = Varchar(length=120, default="")
    display = Varchar(length=40)
    token_hash = Varchar(length=64, unique=True)
    permissions = JSONB(default={})
    created_by = Varchar(length=40, null=True, default=None)
    created = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    rolled_to = Varchar(length=40, null=True, default=None)
