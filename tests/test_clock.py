"""One clock: timelines move independently, only forward, and nothing else reads the time of day."""

from __future__ import annotations

import ast
from datetime import timedelta

import pytest

from server import clock
from tests.test_import_cycles import module_files


def test_a_timeline_moves_alone_and_travel_comes_back():
    def ahead(timeline: clock.Timeline) -> timedelta:
        return timeline.now() - clock.wall()

    app, webhooks = ahead(clock.APP), ahead(clock.WEBHOOKS)  # webhook tests may have moved theirs already
    with clock.PAYMENTS.travel(timedelta(days=7)):
        assert ahead(clock.PAYMENTS) >= timedelta(days=7) - timedelta(seconds=1)
        assert ahead(clock.APP) - app < timedelta(seconds=1)  # the app's time (sessions, keys) did not move
        assert ahead(clock.WEBHOOKS) - webhooks < timedelta(seconds=1)
    assert clock.PAYMENTS.now() - clock.wall() < timedelta(seconds=1)


def test_a_timeline_never_moves_back():
    with pytest.raises(ValueError, match="only moves forward"):
        clock.WEBHOOKS.advance(timedelta(seconds=-1))


def test_times_are_aware_utc():
    assert clock.now().utcoffset() == timedelta(0) and clock.wall().utcoffset() == timedelta(0)


def _reads_the_time(node: ast.AST) -> bool:
    """`datetime.now(...)`, `datetime.utcnow()` or `date.today()`."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and (node.func.attr in ("now", "utcnow") and isinstance(node.func.value, ast.Name)
                 and node.func.value.id == "datetime"
                 or node.func.attr == "today" and isinstance(node.func.value, ast.Name)
                 and node.func.value.id in ("date", "datetime")))


def test_only_the_clock_reads_the_time_of_day():
    found = [f"{name}:{node.lineno}" for name, path in module_files().items() if name != "server.clock"
             for node in ast.walk(ast.parse(path.read_text())) if _reads_the_time(node)]
    assert not found, f"read the time through server.clock (now(), a timeline, or wall()): {found}"
