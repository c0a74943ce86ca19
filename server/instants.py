"""Points in time from untrusted input: a Unix timestamp or ISO 8601, always aware and always storable.

`0001-01-01T00:00:00+14:00` parses, but is a moment before year 1 in UTC: storing
or comparing it overflowed into a 500. Every surface that reads a time uses this.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from server.errors import InvalidRequest

TIMESTAMP = re.compile(r"-?\d{1,12}")


def parse_instant(value: Any, param: str) -> datetime | None:
    """A Unix timestamp (seconds) or an ISO 8601 time (UTC when no offset is given); a 400 naming `param` otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        when = value
    else:
        text = str(value).strip()
        try:
            if TIMESTAMP.fullmatch(text):
                return datetime.fromtimestamp(int(text), UTC)
            when = datetime.fromisoformat(text)
        except (ValueError, OverflowError, OSError):
            raise InvalidRequest(f"{param} must be a Unix timestamp or an ISO 8601 time", param=param) from None
    return storable(when if when.tzinfo else when.replace(tzinfo=UTC), param)


def storable(when: datetime, param: str) -> datetime:
    """`when` if it is a moment between years 1 and 9999 in UTC (what Python and PostgreSQL both hold)."""
    try:
        when.astimezone(UTC)
    except OverflowError:
        raise InvalidRequest(f"{param} is out of range: give a time between years 1 and 9999 (UTC)",
                             param=param) from None
    return when
