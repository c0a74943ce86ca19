"""Connection-level failures are recognised (so they answer 503) and reported once per outage."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from redis.asyncio import Redis

from server import outage
from server.embedded import free_port


async def _postgres_refused() -> BaseException:
    try:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x", timeout=5)
    except BaseException as exc:  # the very exception is what we test
        return exc
    raise AssertionError("connected to nothing")


async def _redis_refused() -> BaseException:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        await client.ping()
    except BaseException as exc:
        return exc
    finally:
        await client.aclose()
    raise AssertionError("connected to nothing")


async def test_refused_connections_of_postgres_and_redis_are_connection_failures():
    assert outage.is_connection_failure(await _postgres_refused())
    assert outage.is_connection_failure(await _redis_refused())


async def test_a_failure_caused_by_a_lost_connection_counts_and_others_do_not():
    lost = await _postgres_refused()
    try:
        try:
            raise lost
        except BaseException as exc:
            raise RuntimeError("while loading the page") from exc
    except RuntimeError as wrapped:
        assert outage.is_connection_failure(wrapped)
    assert not outage.is_connection_failure(ValueError("bad input"))
    assert not outage.is_connection_failure(asyncpg.exceptions.QueryCanceledError("statement timeout"))
    assert not outage.is_connection_failure(None)


def _record(exc: BaseException, msg: str = "job %s failed", name: str = "server.workers") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, ("reconcile",), (type(exc), exc, None))


async def test_an_outage_is_logged_once_per_place_until_it_recovers():
    refused = await _postgres_refused()
    only = outage.OncePerOutage()
    passed = [r for r in (_record(refused) for _ in range(100)) if only.filter(r)]
    assert len(passed) == 1
    assert passed[0].exc_info is None and "job reconcile failed" in passed[0].getMessage()
    assert "held back until it recovers" in passed[0].getMessage()
    assert only.filter(_record(refused, name="server.events.dispatcher"))  # another place: news
    assert only.filter(_record(ValueError("a bug")))  # anything else always passes, traceback and all
    outage.recovered()
    assert only.filter(_record(refused))


@pytest.mark.parametrize("exc", [ValueError("x"), KeyError("k")])
def test_other_errors_keep_their_traceback(exc):
    record = _record(exc)
    assert outage.OncePerOutage().filter(record) and record.exc_info is not None
