"""Uploaded files (dispute evidence): their bytes in PostgreSQL, so every app process serves every file."""

from piccolo.columns import BigInt, Boolean, Bytea, Timestamptz, Varchar
from piccolo.table import Table


class File(Table, tablename="files"):
    """An uploaded file (Stripe's File): its bytes in PostgreSQL, so every app process serves it."""

    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    purpose = Varchar(length=32)
    filename = Varchar(length=200, default="")
    type = Varchar(length=8)  # the sniffed kind: pdf, png, jpg
    mime = Varchar(length=40)
    size = BigInt()
    sha256 = Varchar(length=64)
    content = Bytea()
    created = Timestamptz()
