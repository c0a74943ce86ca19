"""Evidence deadlines on the payments clock: reminders 72 h and 24 h before due_by, and past due."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server import clock
from server.disputes import service
from tests.disputes.helpers import assert_ledger_balanced, disputed, events_of, get
from tests.payments.helpers import merchant

WEEK = timedelta(days=7)


@pytest.fixture
async def m(http):
    return await merchant(http)


async def test_reminders_come_72_and_24_hours_before_the_deadline_once_each(m):
    _, dp = await disputed(m)
    await service.run_deadlines()
    assert "charge.dispute.evidence_due_72h" not in await events_of(dp["id"])
    with clock.PAYMENTS.travel(WEEK - timedelta(hours=72) + timedelta(minutes=1)):
        await service.run_deadlines()
        await service.run_deadlines()
    assert (await events_of(dp["id"])).count("charge.dispute.evidence_due_72h") == 1
    assert "charge.dispute.evidence_due_24h" not in await events_of(dp["id"])
    with clock.PAYMENTS.travel(WEEK - timedelta(hours=24) + timedelta(minutes=1)):
        await service.run_deadlines()
        await service.run_deadlines()
    found = await events_of(dp["id"])
    assert found.count("charge.dispute.evidence_due_72h") == 1 and found.count("charge.dispute.evidence_due_24h") == 1
    assert (await get(m, dp["id"]))["status"] == "needs_response"


async def test_a_late_job_sends_only_the_nearer_reminder(m):
    _, dp = await disputed(m)
    with clock.PAYMENTS.travel(WEEK - timedelta(hours=2)):
        await service.run_deadlines()
    found = await events_of(dp["id"])
    assert "charge.dispute.evidence_due_24h" in found and "charge.dispute.evidence_due_72h" not in found


async def test_a_submitted_dispute_gets_no_reminder(m):
    _, dp = await disputed(m)
    await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"customer_name": "x"}, "submit": True})
    with clock.PAYMENTS.travel(WEEK - timedelta(hours=1)):
        await service.run_deadlines()
    assert not [e for e in await events_of(dp["id"]) if "evidence_due" in e]


async def test_a_chargeback_left_unanswered_is_lost_and_evidence_is_refused_after_due_by(m):
    pi, dp = await disputed(m, 6_000)
    with clock.PAYMENTS.travel(WEEK + timedelta(minutes=1)):
        shown = await get(m, dp["id"])
        assert shown["evidence_details"]["past_due"] is True
        late = await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"customer_name": "x"}})
        assert late.status_code == 409 and late.json()["error"]["code"] == "dispute_past_due"
        await service.run_deadlines()
    lost = await get(m, dp["id"])
    assert lost["status"] == "lost" and lost["seller_protection"] == "not_covered"
    assert await m.balance() == pi["amount_received"] - pi["fee"] - 6_000 - 1500
    assert "charge.dispute.closed" in await events_of(dp["id"])
    await assert_ledger_balanced(m)


async def test_an_inquiry_left_unanswered_closes_without_money(m):
    pi, dp = await disputed(m, 6_000, inquiry=True)
    with clock.PAYMENTS.travel(WEEK + timedelta(minutes=1)):
        await service.run_deadlines()
    assert (await get(m, dp["id"]))["status"] == "warning_closed"
    assert await m.balance() == pi["amount_received"] - pi["fee"]


async def test_the_deadline_jobs_are_registered():
    from server.workers import registered_jobs

    names = {j.name for j in registered_jobs()}
    assert {"disputes.sync", "disputes.deadlines", "claims.escalate"} <= names
