"""Customers (wallet holders), their credits and transfers between them."""

from piccolo.columns import JSONB, BigInt, Boolean, Timestamptz, Varchar
from piccolo.table import Table


class Customer(Table, tablename="customers"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    email = Varchar(length=320, null=True, default=None)
    name = Varchar(length=200, default="")
    metadata = JSONB(default={})
    status = Varchar(length=20, default="active")
    created = Timestamptz()
    updated = Timestamptz()


class Credit(Table, tablename="credits"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    customer_id = Varchar(length=40)
    transaction_id = Varchar(length=255)
    amount = BigInt()
    currency = Varchar(length=3)
    entry_id = Varchar(length=40)
    created = Timestamptz()


class Transfer(Table, tablename="transfers"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    from_customer = Varchar(length=40)
    to_customer = Varchar(length=40)
    amount = BigInt()
    currency = Varchar(length=3)
    to_amount = BigInt()
    to_currency = Varchar(length=3)
    rate = Varchar(length=40, null=True, default=None)
    entry_id = Varchar(length=40)
    description = Varchar(length=500, default="")
    risk = JSONB(null=True, default=None)  # Radar's decision (server/fraud), when it ran
    created = Timestamptz()
