"""Accounts (merchants), users, memberships, invitations and the audit log."""

from piccolo.columns import JSONB, Boolean, Integer, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Account(Table, tablename="accounts"):
    id = Varchar(length=40, primary_key=True)
    name = Varchar(length=200)
    category = Varchar(length=80, default="general")
    country = Varchar(length=2, default="US")
    default_currency = Varchar(length=3, default="USD")
    timezone = Varchar(length=64, default="UTC")
    fee_percent_bps = Integer(default=290)
    fee_fixed_minor = Integer(default=30)
    dispute_fee_minor = Integer(default=1500)  # charged with each chargeback, minor units of its currency
    log_retention_days = Integer(default=30)
    created = Timestamptz()


class User(Table, tablename="users"):
    id = Varchar(length=40, primary_key=True)
    email = Varchar(length=320, unique=True)
    name = Varchar(length=200, default="")
    password_hash = Varchar(length=255)
    created = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)


class Membership(Table, tablename="memberships"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40, index=True)
    user_id = Varchar(length=40, index=True)
    role = Varchar(length=20)
    created = Timestamptz()


class Invitation(Table, tablename="invitations"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40, index=True)
    email = Varchar(length=320)
    role = Varchar(length=20)
    token_hash = Varchar(length=64, unique=True)
    invited_by = Varchar(length=40)
    created = Timestamptz()
    expires_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class AuditLog(Table, tablename="audit_log"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40, index=True, index_method=IndexMethod.btree)
    livemode = Boolean(null=True, default=None)
    actor_user_id = Varchar(length=40, null=True, default=None)
    actor_key_id = Varchar(length=40, null=True, default=None)
    action = Varchar(length=60)
    target_type = Varchar(length=40)
    target_id = Varchar(length=60)
    details = JSONB(default={})
    ip_address = Varchar(length=64, null=True, default=None)
    created = Timestamptz()
