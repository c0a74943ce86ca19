"""The one clock: every "now" the app reads comes from here.

`now()` is the app's time. `wall()` is the machine's time, for what another party
checks against its own clock (the `webhook-timestamp` header, the processor
simulator) and is never moved.

Tests move time instead of sleeping, on a *timeline*: wall time plus an offset.
Payments (authorization expiry, the reconciler) and webhooks (retries,
Retry-After, the 5-day auto-disable) each have their own, because the tests run
in the same process as the app: a test that jumps payments 7 days ahead must
not also expire dashboard sessions, API keys or invitations, nor make the API
log retention job drop this week's partitions; and the webhooks timeline only
moves forward, so it stays ahead for the rest of the test process.

    from server import clock
    clock.now()                 # the app
    clock.PAYMENTS.now()        # a payment's deadlines
    clock.WEBHOOKS.now()        # delivery schedules

    with clock.PAYMENTS.travel(timedelta(days=7, seconds=1)):   # tests
        ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta


def wall() -> datetime:
    """The machine's time (aware, UTC); never moved by tests."""
    return datetime.now(UTC)


class Timeline:
    """Wall time plus an offset that tests move forward (never backwards: ordering stays sane)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return wall() + self._offset

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError(f"the {self.name} clock only moves forward")
        self._offset += delta

    def reset(self) -> None:
        """Back to wall time (tests only, once nothing scheduled on the moved time is left)."""
        self._offset = timedelta(0)

    @contextlib.contextmanager
    def travel(self, delta: timedelta) -> Iterator[None]:
        """Run a block `delta` ahead, then return to wall time."""
        self.advance(delta)
        try:
            yield
        finally:
            self.reset()


APP = Timeline("app")
PAYMENTS = Timeline("payments")
WEBHOOKS = Timeline("webhooks")


def now() -> datetime:
    """The app's time (aware, UTC)."""
    return APP.now()
