"""Typed rows hold exactly the columns of their table, so `SELECT *` fills them and a new column is not forgotten."""

from __future__ import annotations

import msgspec
import pytest

from db.tables import (
    Credit,
    Customer,
    FxRate,
    LedgerAccount,
    PaymentIntent,
    Receipt,
    Refund,
    Transfer,
)
from server.customers import rows as customer_rows
from server.ledger import rows as ledger_rows
from server.payments import rows as payment_rows

PAIRS = [
    (payment_rows.PaymentIntent, PaymentIntent), (payment_rows.Refund, Refund), (payment_rows.Receipt, Receipt),
    (customer_rows.Customer, Customer), (customer_rows.Credit, Credit), (customer_rows.Transfer, Transfer),
    (ledger_rows.LedgerAccount, LedgerAccount), (ledger_rows.FxRate, FxRate),
]


@pytest.mark.parametrize(("row", "table"), PAIRS, ids=[row.__name__ for row, _ in PAIRS])
def test_a_row_has_one_field_per_column(row, table):
    columns = {c._meta.db_column_name for c in table._meta.columns}
    fields = {f.name for f in msgspec.structs.fields(row)}
    assert fields == columns, f"missing: {columns - fields}, not columns: {fields - columns}"


@pytest.mark.parametrize(("row", "table"), PAIRS, ids=[row.__name__ for row, _ in PAIRS])
def test_a_nullable_column_is_optional_and_only_then(row, table):
    for column in table._meta.columns:
        field = next(f for f in msgspec.structs.fields(row) if f.name == column._meta.db_column_name)
        optional = type(None) in getattr(field.type, "__args__", ())
        assert optional == column._meta.null, f"{row.__name__}.{field.name}: nullable is {column._meta.null}"
