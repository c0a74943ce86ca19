"""Waiting for something that happens in the background (a worker, a stream, a server) without hiding a failure."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


async def eventually(predicate: Callable[[], Any], *, timeout: float = 20.0,  # noqa: ASYNC109 - a polling deadline
                     message: str | Callable[[], str] | None = None, every: float = 0.05) -> Any:
    """Call `predicate()` (plain or async) until it returns something truthy, and return that.

    After `timeout` seconds it fails with `message` (a text, or a function
    that describes the state at that moment; by default the predicate's source)
    and the last value the predicate returned, so a regression shows what was
    seen instead of a bare timeout. An exception from the predicate is not
    retried: it fails the test at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            what = message() if callable(message) else message or _describe(predicate)
            raise AssertionError(f"waited {timeout:g}s for {what}; the last value seen was {_shorten(repr(value))}")
        await asyncio.sleep(every)


def _describe(predicate: Callable[..., Any]) -> str:
    predicate = inspect.unwrap(predicate)
    try:
        return _shorten(" ".join(inspect.getsource(predicate).split()), 300)
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))


def _shorten(text: str, limit: int = 1000) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"
