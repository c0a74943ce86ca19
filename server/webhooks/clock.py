"""The webhooks domain's clock: wall time plus an offset that tests move forward.

Scheduling (retries, Retry-After, the 5-day auto-disable) reads `now()`, so a
test can jump days ahead without sleeping. The `webhook-timestamp` header is
always wall time: receivers check it against their own clocks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> None:
    """Move the clock forward (tests only); never backwards, so ordering stays sane."""
    global _offset
    if delta < timedelta(0):
        raise ValueError("the clock only moves forward")
    _offset += delta


def wall() -> datetime:
    return datetime.now(UTC)
