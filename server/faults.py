"""Test-only fault injection: fail a request right before or after one of its commits.

Inert unless `PAYDECK_TEST_FAULTS` is on, which only the tests do. With it
on, a request carrying the header `Paydeck-Test-Fault` fails with a 500 at
the point it names:

- `after-commit=N`: right after its N-th transaction committed (the effect is
  durable; the caller never hears of it);
- `crash-after-commit=N`: the same, but the whole process exits at once, as
  `kill -9` would end it (for tests that run the app as its own process);
- `before-commit=N`: right before its N-th COMMIT (that transaction is undone);
- `before-response`: after the handler finished, before the idempotency key
  stores the response.

This is how the tests prove the rule of docs/development.md ("Transactions"):
every commit is bound to the request's idempotency key, so a retry recovers.
"""

from __future__ import annotations

import os
from contextvars import ContextVar, Token
from dataclasses import dataclass

from server.settings import get_settings

HEADER = "paydeck-test-fault"
POINTS = ("after-commit", "crash-after-commit", "before-commit", "before-response")
CRASH_EXIT_CODE = 70


class InjectedFault(Exception):
    """The failure a test asked for; rendered as any unexpected error (500)."""


@dataclass
class Plan:
    point: str
    at: int = 0
    commits: int = 0


_plan: ContextVar[Plan | None] = ContextVar("paydeck_test_fault", default=None)


def parse(value: str) -> Plan | None:
    point, _, number = value.strip().partition("=")
    if point not in POINTS:
        return None
    return Plan(point, int(number) if number.isdigit() else 1)


def arm(value: str | None) -> Token[Plan | None] | None:
    """Arm the fault a request asked for, if the test setting is on; returns a token for `disarm`."""
    if not value or not get_settings().test_faults:
        return None
    plan = parse(value)
    return _plan.set(plan) if plan else None


def disarm(token: Token[Plan | None] | None) -> None:
    if token is not None:
        _plan.reset(token)


def before_commit() -> None:
    """Called by `server.db.transaction()` just before each outermost COMMIT (and by `db.fetch_committing`)."""
    plan = _plan.get()
    if plan is None:
        return
    plan.commits += 1
    if plan.point == "before-commit" and plan.commits == plan.at:
        raise InjectedFault(f"test fault before commit {plan.at}")


def after_commit() -> None:
    """Called by `server.db.transaction()` once a COMMIT (and its after-commit hooks) is done (and by
    `db.fetch_committing`)."""
    plan = _plan.get()
    if plan is None or plan.commits != plan.at:
        return
    if plan.point == "crash-after-commit":
        os._exit(CRASH_EXIT_CODE)  # no cleanup, no response: what a killed process leaves
    if plan.point == "after-commit":
        raise InjectedFault(f"test fault after commit {plan.at}")


def before_response() -> None:
    plan = _plan.get()
    if plan is not None and plan.point == "before-response":
        raise InjectedFault("test fault before the response")
