"""The report worker: each run is made once, whoever claims it and however workers die; failures say why;
statements come once per closed month; asking under an Idempotency-Key that fails after its commit asks once."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from server import db
from server.analytics import backfill
from server.analytics.history import Payment
from server.context import Scope
from server.faults import HEADER as FAULT
from server.reporting import queries, runner, service
from server.reporting.catalog import REPORT_TYPES
from server.reporting.rows import ReportRun
from server.reporting.service import Parameters
from tests.factories import new_account, user_ctx
from tests.payments.helpers import Merchant
from tests.reporting.helpers import csv_rows, finished


async def _events(run_id: str) -> list[dict[str, Any]]:
    return await db.fetch("SELECT type, data FROM events WHERE object_id = $1 ORDER BY seq", run_id)


async def _pending(scope: Scope, report_type: str = "payments.itemized", **fields: Any) -> ReportRun:
    """A run written as `create` would, without waking the workers (they still poll)."""
    now = datetime.now(UTC)
    params = Parameters(now - timedelta(days=1), now, "UTC", None)
    kind = REPORT_TYPES.get(report_type, REPORT_TYPES["payments.itemized"])
    run = msgspec.structs.replace(service._new_run(scope, kind, params, now, None), report_type=report_type,
                                  **fields)
    made = await queries.insert_run(run)
    assert made is not None
    return made


async def test_concurrent_workers_make_each_run_once(http):
    m = Merchant(http, await new_account())
    for amount in (1_000, 2_000, 3_000):
        await m.paid(amount)
    ctx = user_ctx(m.id, m.account.user["id"])
    now = datetime.now(UTC)
    runs = [await service.create(ctx, kind, {"interval_start": int((now - timedelta(hours=1)).timestamp()),
                                             "interval_end": now.isoformat()})
            for kind in ("payments.itemized", "balance.summary", "balance_change_from_activity.itemized") * 3]
    await asyncio.gather(*[runner.run_once() for _ in range(12)])  # beside the app's own worker
    for run in runs:
        done = await finished(http, m.headers, run.id)
        assert done["status"] == "succeeded" and done["progress"]["rows_done"] == done["result"]["rows"]
        assert [e["type"] for e in await _events(run.id)] == ["reporting.report_run.succeeded"]
        assert (await db.fetchrow("SELECT attempts FROM report_runs WHERE id = $1", run.id))["attempts"] == 1
    payments = [r for r in runs if r.report_type == "payments.itemized"]
    files = [await csv_rows(http, m.headers, await finished(http, m.headers, r.id)) for r in payments]
    assert all(len(f) == 3 for f in files) and files[0] == files[1] == files[2]


async def test_a_worker_that_dies_leaves_nothing_and_the_run_is_made_once_by_another(http):
    m = Merchant(http, await new_account())
    await m.paid(1_234)
    scope = Scope(m.id, False)
    stale = None
    while stale is None:  # the app's worker polls too: claim a run before it does
        run = await _pending(scope)
        # Claimed long ago by a worker that died: its lease has run out.
        stale = await queries.claim_next(datetime.now(UTC) - 2 * runner.LEASE, runner.LEASE, run.id)
    assert stale.attempts == 1
    await runner.run_once(stale.id)  # another worker takes it over (or the app's worker already did)
    done = await finished(http, m.headers, stale.id)
    assert done["status"] == "succeeded"
    first = await csv_rows(http, m.headers, done)
    # The first worker comes back and finishes its attempt: refused, and nothing of it stays.
    with pytest.raises(Exception):  # noqa: B017 - the lost claim (or its file chunk) is refused by the database
        await runner.make(stale)
    assert await csv_rows(http, m.headers, await finished(http, m.headers, stale.id)) == first
    assert [e["type"] for e in await _events(stale.id)] == ["reporting.report_run.succeeded"]
    row = await db.fetchrow("SELECT attempts, status FROM report_runs WHERE id = $1", stale.id)
    assert row["status"] == "succeeded" and row["attempts"] >= 2


async def test_a_run_that_cannot_be_made_fails_saying_why(http):
    m = Merchant(http, await new_account())
    run = await _pending(Scope(m.id, False), "nope.summary")
    await runner.run_once(run.id)
    done = await finished(http, m.headers, run.id)
    assert done["status"] == "failed" and "unknown report type nope.summary" in done["error"]
    assert done["result"] is None
    (event,) = await _events(run.id)
    assert event["type"] == "reporting.report_run.failed"
    assert (await http.get(f"/v1/reporting/report_runs/{run.id}/file", headers=m.headers)).status_code == 409


async def test_a_run_whose_workers_keep_dying_is_given_up(http):
    m = Merchant(http, await new_account())
    run = await _pending(Scope(m.id, False), attempts=runner.MAX_ATTEMPTS)  # three workers died on it already
    await runner.run_once(run.id)
    done = await finished(http, m.headers, run.id)
    assert done["status"] == "failed" and f"gave up after {runner.MAX_ATTEMPTS} attempts" in done["error"]


async def test_statements_are_made_once_per_closed_month(http):
    zone = "Pacific/Auckland"
    account = await new_account(timezone=zone)
    scope = Scope(account.account["id"], False)
    await backfill.write_payments(scope, [Payment(datetime(2026, 8, 31, 23, 59, tzinfo=UTC), 1_500, "USD"),
                                          Payment(datetime(2026, 9, 20, tzinfo=UTC), 2_500, "USD")])
    now = datetime(2026, 11, 1, 10, tzinfo=UTC)  # 1 November 23:00 in Auckland: October has closed there
    made = await asyncio.gather(*[service.make_statements(now) for _ in range(3)])
    # Only the months closed at `now`: the app's own monthly job, on the real clock, may meanwhile make the
    # statements of a month that has closed since (November, run on the first days of December).
    closed = "statement_month <= '2026-10-01'"
    runs = await db.fetch("SELECT report_type, statement_month, interval_start, interval_end FROM report_runs "
                          f"WHERE account_id = $1 AND livemode = false AND {closed} "
                          "ORDER BY statement_month, report_type", scope.account_id)
    # 31 August 23:59 UTC is 1 September in Auckland: the first month is September.
    months = [date(2026, 9, 1), date(2026, 10, 1)]
    assert [(r["statement_month"], r["report_type"]) for r in runs] == [
        (month, kind) for month in months for kind in ("balance.summary", "usage.monthly")]
    assert sum(made) >= len(runs)
    assert runs[0]["interval_start"] == datetime(2026, 8, 31, 12, tzinfo=UTC)  # Auckland midnight, NZST
    assert runs[-1]["interval_end"] == datetime(2026, 10, 31, 11, tzinfo=UTC)  # NZDT from late September
    await service.make_statements(now)  # again: nothing more for this account
    again = await db.fetchrow(f"SELECT count(*) AS n FROM report_runs WHERE account_id = $1 AND {closed}",
                              scope.account_id)
    assert again["n"] == len(runs)
    headers = {"Authorization": f"Bearer {account.keys['secret_test']}"}
    listed = (await http.get("/v1/reporting/report_runs", params={"statements": "true"}, headers=headers)).json()
    assert {r["statement_month"] for r in listed["data"] if r["statement_month"] <= "2026-10"} == {"2026-09", "2026-10"}
    september = next(r for r in listed["data"] if r["statement_month"] == "2026-09"
                     and r["report_type"] == "balance.summary")
    rows = await csv_rows(http, headers, await finished(http, headers, september["id"]))
    charges = next(r for r in rows if r["balance"] == "merchant" and r["category"] == "charges")
    assert charges["amount"] == "40.00"


async def test_asking_for_a_report_fails_after_its_commit_and_the_retry_asks_once(http):
    m = Merchant(http, await new_account())
    body = {"report_type": "balance.summary", "parameters": {"interval_start": "2026-01-01",
                                                             "interval_end": "2026-02-01"}}
    for fault in ("after-commit=1", "before-response"):
        key = f"k-{secrets.token_hex(6)}"
        failed = await m.post("/v1/reporting/report_runs", body, headers={"Idempotency-Key": key, FAULT: fault})
        assert failed.status_code == 500, failed.text
        retried = await m.post("/v1/reporting/report_runs", body, headers={"Idempotency-Key": key})
        assert retried.status_code == 200, retried.text
        again = await m.post("/v1/reporting/report_runs", body, headers={"Idempotency-Key": key})
        assert again.headers.get("idempotent-replayed") == "true" and again.json()["id"] == retried.json()["id"]
    runs = await db.fetch("SELECT id FROM report_runs WHERE account_id = $1", m.id)
    assert len(runs) == 2  # one per key, whatever failed
