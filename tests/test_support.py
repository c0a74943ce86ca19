"""`eventually()` returns what it waited for, and when it gives up it says what it last saw."""

from __future__ import annotations

import pytest

from tests.support import eventually


async def test_returns_the_first_truthy_value_of_a_plain_or_async_predicate():
    calls = []

    def plain():
        calls.append(1)
        return ["ready"] if len(calls) >= 3 else []

    async def later():
        return plain()

    assert await eventually(plain, every=0) == ["ready"]
    assert await eventually(later, every=0) == ["ready"]


async def test_gives_up_loudly_with_the_message_and_the_last_value():
    seen = iter(range(1_000_000))
    with pytest.raises(AssertionError) as failed:
        await eventually(lambda: [] if next(seen) < 1_000_000 else [1], timeout=0.05, message="three deliveries")
    assert "waited 0.05s for three deliveries; the last value seen was []" in str(failed.value)


async def test_without_a_message_it_names_the_predicate_by_its_source():
    with pytest.raises(AssertionError) as failed:
        await eventually(lambda: 0 > 1, timeout=0)
    assert "lambda: 0 > 1" in str(failed.value) and "the last value seen was False" in str(failed.value)


async def test_an_error_in_the_predicate_fails_at_once():
    with pytest.raises(ZeroDivisionError):
        await eventually(lambda: 1 / 0, timeout=5)


async def test_a_message_function_describes_the_state_when_it_gives_up():
    polls: list[int] = []

    def never() -> bool:
        polls.append(1)
        return False

    with pytest.raises(AssertionError) as failed:
        await eventually(never, timeout=0, message=lambda: f"a reply after {len(polls)} polls")
    assert "waited 0s for a reply after 1 polls" in str(failed.value)
