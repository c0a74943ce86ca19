"""Scalar overrides: Strawberry's DateTime, refusing moments no database can hold.

`0001-01-01T00:00:00+14:00` is a valid ISO 8601 time before year 1 in UTC;
comparing or storing it overflowed into an "internal error". It is now a
coercion error naming the argument, like any other malformed DateTime.
"""

from __future__ import annotations

import datetime as dt

import dateutil.parser
from strawberry.schema.types.base_scalars import DateTimeDefinition, wrap_parser
from strawberry.types.scalar import ScalarDefinition


def _storable_datetime(text: str) -> dt.datetime:
    when = dateutil.parser.isoparse(text)
    try:
        when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC).astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("It is out of range: give a time between years 1 and 9999 (UTC).") from None
    return when


DATETIME = ScalarDefinition(
    name=DateTimeDefinition.name,
    description=DateTimeDefinition.description,
    specified_by_url=DateTimeDefinition.specified_by_url,
    serialize=DateTimeDefinition.serialize,
    parse_value=wrap_parser(_storable_datetime, "DateTime"),
    parse_literal=None,
    origin=dt.datetime,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {dt.datetime: DATETIME}
