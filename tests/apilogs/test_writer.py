"""The writer never lets one odd request block the others, and never loses what it was given."""

from __future__ import annotations

import os

import pytest

from server import db
from server.apilogs.writer import LogWriter, flush_all
from server.settings import get_settings
from tests.apilogs.helpers import capture, new_account_id, store
from tests.factories import new_account


async def test_nul_characters_are_stored_without_breaking_the_batch(http, server):
    account = await new_account(name="NUL Co")
    resp = await http.post("/graphql?note=a%00b", content=b'{"query": "{ viewer { accountId } }", "x": "\\u0000"}',
                           headers={"Authorization": f"Bearer {account.keys['secret_test']}",
                                    "Content-Type": "application/json"})
    await flush_all()
    row = await db.fetchrow("SELECT query_params::text AS q FROM api_request_logs WHERE id = $1",
                            resp.headers["Request-Id"])
    assert row is not None and "a\ufffdb" in row["q"]


async def test_a_row_postgresql_refuses_is_dropped_and_the_rest_written(server):
    account = new_account_id()
    good = [capture(account) for _ in range(3)]
    bad = capture(account, status=2**40)  # not an integer PostgreSQL can store
    await store(good[0], bad, *good[1:])
    rows = await db.fetch("SELECT id FROM api_request_logs WHERE account_id = $1", account)
    assert {r["id"] for r in rows} == {c.request_id for c in good}


def test_a_full_buffer_drops_the_oldest_and_counts_them():
    # given: a writer whose buffer holds 100 records, and nothing writing them
    writer = LogWriter(get_settings().model_copy(update={"apilog_buffer_max": 100, "apilog_batch_size": 1000}))
    account = new_account_id()
    captures = [capture(account) for _ in range(150)]

    # when: 150 requests are captured; adding never waits
    for raw in captures:
        writer.add(raw)

    # then: the newest 100 are kept, the 50 oldest dropped and counted
    assert list(writer.pending) == captures[50:]
    assert writer.dropped == 50


@pytest.fixture
async def started_writer(server):
    writer = LogWriter(get_settings().model_copy(update={"apilog_flush_interval_seconds": 1.0}))
    await writer.start()
    yield writer
    await writer.stop()


async def stored_ids(account: str) -> set[str]:
    return {r["id"] for r in await db.fetch("SELECT id FROM api_request_logs WHERE account_id = $1", account)}


async def test_a_started_writer_builds_and_copies_in_a_process_of_its_own(started_writer):
    account = new_account_id()
    captures = [capture(account, body={"card": {"number": "4242424242424242"}}) for _ in range(3)]
    for raw in captures:
        started_writer.add(raw)

    assert await started_writer.flush() == 3

    assert started_writer.process is not None and started_writer.process.proc is not None
    assert started_writer.process.proc.pid != os.getpid()
    assert await stored_ids(account) == {c.request_id for c in captures}
    bodies = await db.fetch("SELECT request_body FROM api_request_logs WHERE account_id = $1", account)
    assert all("4242424242424242" not in r["request_body"] for r in bodies)  # redacted over there too


async def test_a_killed_writer_process_loses_nothing(started_writer):
    # given: the writer process has written once, then is killed
    account = new_account_id()
    first = capture(account)
    started_writer.add(first)
    await started_writer.flush()
    proc = started_writer.process.proc
    proc.kill()
    await proc.wait()

    # when: more requests are captured and flushed
    later = [capture(account) for _ in range(4)]
    for raw in later:
        started_writer.add(raw)
    await started_writer.flush()

    # then: a fresh writer process wrote them; every record is stored once
    assert started_writer.process.proc.pid != proc.pid
    rows = await db.fetch("SELECT id FROM api_request_logs WHERE account_id = $1", account)
    assert sorted(r["id"] for r in rows) == sorted(c.request_id for c in [first, *later])


async def test_records_stay_buffered_while_the_writer_process_cannot_reach_postgresql(server):
    # given: a writer whose process is told a PostgreSQL nobody listens on
    from server import embedded

    settings = get_settings()
    writer = LogWriter(settings.model_copy(update={
        "database_url": f"postgresql://nobody@127.0.0.1:{embedded.free_port()}/none",
        "apilog_flush_interval_seconds": 1.0}))
    await writer.start()
    writer.task.cancel()  # only the flushes below
    account = new_account_id()
    captures = [capture(account) for _ in range(3)]
    for raw in captures:
        writer.add(raw)

    # when: a flush fails
    with pytest.raises(Exception):  # noqa: B017 - a connection error, of whatever kind the process died with
        await writer.flush()

    # then: every record is still buffered, in order, and none was stored
    assert list(writer.pending) == captures
    assert await stored_ids(account) == set()
    writer.pending.clear()
    await writer.stop()
