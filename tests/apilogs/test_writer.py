"""The writer never lets one odd request block the others, and never loses what it was given."""

from __future__ import annotations

import asyncio
import os

import msgspec
import pytest

from server import db, faults
from server.apilogs import batches
from server.apilogs.writer import LogWriter, flush_all
from server.ids import new_id
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


async def test_a_batch_stored_by_a_writer_process_that_died_before_answering_is_stored_once(server):
    # given: a started writer sending batches of 3, whose writer process dies (as `kill -9` would) right after
    # its first COPY commits and before it answers; the web process then sends that batch again to a fresh one
    writer = LogWriter(get_settings().model_copy(update={"apilog_batch_size": 3, "apilog_flush_interval_seconds": 60}))
    await writer.start()
    try:
        writer.task.cancel()  # only the flush below
        assert writer.process is not None
        writer.process.config = msgspec.structs.replace(writer.process.config, test_fault="crash-after-commit")
        first = await writer.process._started()
        account = new_account_id()
        captures = [capture(account, path=f"/v1/customers/{i}") for i in range(7)]
        for raw in captures:
            writer.add(raw)

        # when: everything is flushed
        written = await writer.flush()

        # then: the first process crashed after its commit, and every record is stored exactly once
        assert await first.wait() == faults.CRASH_EXIT_CODE
        assert writer.process.proc is not None and writer.process.proc.pid != first.pid
        counts = {r["id"]: r["n"] for r in await db.fetch(
            "SELECT id, count(*) AS n FROM api_request_logs WHERE account_id = $1 GROUP BY id", account)}
        assert counts == {c.request_id: 1 for c in captures}
        assert written == 7 and not writer.pending and not writer.resend
        rollup = await db.fetchrow("SELECT sum(requests) AS n FROM analytics_api_rollups WHERE account_id = $1",
                                   account)
        assert rollup is not None and rollup["n"] == 7  # counted once in the API analytics too
    finally:
        await writer.stop()


async def test_a_batch_sent_again_under_its_id_is_not_stored_again(server):
    account = new_account_id()
    rows = await batches.build_rows([capture(account) for _ in range(4)], 10_000)
    batch_id = new_id("alb")

    assert await batches.write_rows(list(rows), batch_id) == 4
    assert await batches.write_rows(list(rows), batch_id) == 4  # answered as stored, not stored again
    assert await batches.write_rows(list(rows), new_id("alb")) == 4  # another batch is another batch

    counts = await db.fetch("SELECT count(*) AS n FROM api_request_logs WHERE account_id = $1 GROUP BY id", account)
    assert sorted(r["n"] for r in counts) == [2, 2, 2, 2]


def test_a_batch_given_back_is_sent_again_whole_under_its_id_even_after_the_buffer_dropped_some():
    # given: a writer with a small buffer, and two batches that were sent and not answered for
    writer = LogWriter(get_settings().model_copy(update={"apilog_buffer_max": 6, "apilog_batch_size": 3}))
    account = new_account_id()
    captures = [capture(account) for _ in range(8)]
    for raw in captures[:6]:
        writer.add(raw)
    one, two = writer._next_batch(), writer._next_batch()
    writer._give_back([one, two])

    # when: two more requests are captured into the full buffer (the two oldest are dropped)
    for raw in captures[6:]:
        writer.add(raw)

    # then: the first batch is sent again with what is left of it, the second whole, each under its id
    assert writer._next_batch() == (one[0], captures[2:3])
    assert writer._next_batch() == (two[0], captures[3:6])
    third = writer._next_batch()
    assert third[0] not in (one[0], two[0]) and third[1] == captures[6:]


async def test_a_flush_sends_what_was_buffered_when_it_began_and_the_rest_waits_for_the_next(started_writer):
    # This test makes the flushes itself: the writer's interval loop would flush the rest at any moment.
    assert started_writer.task is not None
    started_writer.task.cancel()
    account = new_account_id()
    first, later = [capture(account) for _ in range(3)], [capture(account) for _ in range(2)]
    for raw in first:
        started_writer.add(raw)

    flushing = asyncio.create_task(started_writer.flush())
    await asyncio.sleep(0)  # the flush has begun: its batch is on its way to the writer process
    for raw in later:
        started_writer.add(raw)

    assert await flushing == 3, "one batch of what was there; not a second small one for what came in meanwhile"
    assert list(started_writer.pending) == later
    assert await started_writer.flush() == 2
    assert await stored_ids(account) == {c.request_id for c in first + later}


async def test_a_flush_that_falls_behind_goes_on_with_full_batches(server):
    writer = LogWriter(get_settings().model_copy(update={"apilog_batch_size": 2}))
    await writer.start()
    assert writer.task is not None
    writer.task.cancel()  # this test makes the flushes itself
    try:
        account = new_account_id()
        first, burst = capture(account), [capture(account) for _ in range(5)]
        writer.add(first)
        flushing = asyncio.create_task(writer.flush())
        await asyncio.sleep(0)
        for raw in burst:
            writer.add(raw)

        assert await flushing == 5, "the first record, then two full batches; the odd one waits for the next flush"
        assert list(writer.pending) == burst[-1:]
    finally:
        await writer.stop()
    assert await stored_ids(account) == {c.request_id for c in [first, *burst]}
