"""Report runs over REST: the balance summary ties to the ledger, itemized CSVs sum to the API's figures,
local days are exact, bad parameters are refused naming the field."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.analytics import backfill, buckets
from server.analytics.history import Payment
from server.context import Scope
from server.ledger import service as ledger
from tests.analytics.helpers import caught_up
from tests.factories import new_account
from tests.payments.helpers import Merchant
from tests.reporting.helpers import csv_rows, minor, run_report


async def _busy_merchant(http) -> Merchant:
    """Payments (one declined), a partial refund, a credit and a transfer between customers: each category."""
    m = Merchant(http, await new_account(timezone="Europe/Berlin"))
    paid = [await m.paid(amount) for amount in (10_000, 2_550, 999)]
    await m.paid(700, number="4000000000000002")  # declined
    assert (await m.post("/v1/refunds", {"payment_intent": paid[0]["id"], "amount": 3_000})).status_code == 200
    customers = [(await m.post("/v1/customers", {"name": n})).json()["id"] for n in ("Ann", "Bo")]
    credit = await m.post(f"/v1/customers/{customers[0]}/credits",
                          {"amount": 5_000, "currency": "usd", "transaction_id": "t-1"})
    assert credit.status_code == 202, credit.text
    moved = await m.post("/v1/transfers", {"from_customer": customers[0], "to_customer": customers[1],
                                           "amount": 1_200, "currency": "usd"})
    assert moved.status_code == 200, moved.text
    return m


async def test_balance_summary_ties_to_the_ledger(http):
    m = await _busy_merchant(http)
    start = datetime.now(UTC) - timedelta(hours=1)
    end = datetime.now(UTC)
    run = await run_report(http, m.headers, "balance.summary", interval_start=int(start.timestamp()),
                           interval_end=end.isoformat())
    rows = await csv_rows(http, m.headers, run)
    by = defaultdict(dict)
    for row in rows:
        by[(row["balance"], row["currency"])][row["category"]] = minor(row["amount"])
    merchant, wallets = by[("merchant", "USD")], by[("customer_wallets", "USD")]
    activity = ("charges", "refunds", "disputes", "credits", "transfers", "other", "fees")
    for figures in (merchant, wallets):
        assert figures["starting_balance"] + sum(figures[c] for c in activity) == figures["ending_balance"]
    assert merchant["starting_balance"] == 0
    assert merchant["charges"] == 10_000 + 2_550 + 999
    assert merchant["refunds"] == -3_000
    paid = [p for p in (await m.get("/v1/payment_intents", limit=10)).json()["data"] if p["status"] == "succeeded"]
    assert merchant["fees"] == -sum(p["fee"] for p in paid) < 0
    # The ending balance is the ledger's, at that instant and (nothing since) now.
    scope = Scope(m.id, False)
    at_end = await ledger.balances(scope, m.id, "merchant_balance", at=end)
    assert merchant["ending_balance"] == at_end[0].available == await m.balance("usd")
    assert wallets["credits"] == 5_000 and wallets["transfers"] == 0 and wallets["ending_balance"] == 5_000
    assert [c for c in by] == [("customer_wallets", "USD"), ("merchant", "USD")]


async def test_itemized_files_sum_to_the_analytics_api(http):
    m = await _busy_merchant(http)
    await caught_up()
    # Analytics widens a range to whole 15-minute buckets: a start on a boundary, and an end after everything.
    start, end = buckets.floor(datetime.now(UTC) - timedelta(hours=2)), datetime.now(UTC)
    window = {"start": start.isoformat(), "end": end.isoformat()}
    summary = (await m.get("/v1/analytics/summary", **window)).json()
    metric = {x["metric"]: x["current"] for x in summary["metrics"]}

    payments = await csv_rows(http, m.headers, await run_report(
        http, m.headers, "payments.itemized", interval_start=start.isoformat(), interval_end=end.isoformat()))
    succeeded = [r for r in payments if r["status"] == "succeeded"]
    assert sum(minor(r["amount_received"]) for r in succeeded) == metric["gross_volume"]["by_currency"]["USD"]
    assert sum(minor(r["fee"]) for r in succeeded) == metric["fees"]["by_currency"]["USD"]
    assert len(succeeded) == metric["successful_payments"]["value"]
    assert len([r for r in payments if r["status"] == "failed"]) == metric["failed_payments"]["value"]

    changes = await csv_rows(http, m.headers, await run_report(
        http, m.headers, "balance_change_from_activity.itemized", interval_start=start.isoformat(),
        interval_end=end.isoformat()))
    charges = [r for r in changes if r["category"] == "charge"]
    assert sum(minor(r["gross"]) for r in charges) == metric["gross_volume"]["by_currency"]["USD"]
    assert sum(minor(r["fee"]) for r in charges) == metric["fees"]["by_currency"]["USD"]
    refunds = [r for r in changes if r["category"] == "refund"]
    assert -sum(minor(r["net"]) for r in refunds) == metric["refund_volume"]["by_currency"]["USD"]
    assert sum(minor(r["net"]) for r in changes) == await m.balance("usd")
    assert minor(changes[-1]["balance_after"]) == await m.balance("usd")


async def test_a_local_day_is_exact_to_the_millisecond(http):
    zone = "Asia/Kathmandu"  # +05:45
    m = Merchant(http, await new_account(timezone=zone))
    tz = ZoneInfo(zone)
    day = datetime(2026, 6, 10, tzinfo=tz)
    await backfill.write_payments(Scope(m.id, False), [
        Payment(day - timedelta(milliseconds=1), 100, "USD"),  # the 9th's last millisecond
        Payment(day, 200, "USD"),  # the 10th's first instant
        Payment(day + timedelta(days=1) - timedelta(milliseconds=1), 400, "USD"),  # 23:59:59.999 on the 10th
        Payment(day + timedelta(days=1), 800, "USD"),  # the 11th
    ])
    run = await run_report(http, m.headers, "payments.itemized", interval_start="2026-06-10",
                           interval_end="2026-06-11")
    rows = await csv_rows(http, m.headers, run)
    assert [minor(r["amount"]) for r in rows] == [200, 400]
    assert [r["created_local"] for r in rows] == ["2026-06-10T00:00:00.000000", "2026-06-10T23:59:59.999000"]
    assert rows[1]["created_utc"] == "2026-06-10T18:14:59.999000Z"
    assert run["parameters"]["timezone"] == zone  # the account's, by default
    # The ledger holds a payment when it settled (a second or so after it was made): the day's balance changes
    # are whatever settled that local day, and the summary of the day agrees with them to the minor unit.
    day_of = {"interval_start": "2026-06-10", "interval_end": "2026-06-11", "timezone": zone}
    summary = await run_report(http, m.headers, "balance.summary", **day_of)
    merchant = {r["category"]: minor(r["amount"]) for r in await csv_rows(http, m.headers, summary)
                if r["balance"] == "merchant"}
    changes = await csv_rows(http, m.headers, await run_report(
        http, m.headers, "balance_change_from_activity.itemized", **day_of))
    assert all("2026-06-10T00:00:00" <= r["created_local"] < "2026-06-11T00:00:00" for r in changes)
    assert merchant["charges"] == sum(minor(r["gross"]) for r in changes) > 0
    assert merchant["ending_balance"] - merchant["starting_balance"] == sum(minor(r["net"]) for r in changes)


async def test_usage_by_month_counts_requests_of_each_mode_and_the_months_money(http):
    m = Merchant(http, await new_account(timezone="America/New_York"))
    await m.paid(4_200)
    live = {"Authorization": f"Bearer {m.account.keys['secret_live']}"}
    for _ in range(3):
        await http.get("/v1/balance", headers=live)
    await caught_up()
    now = datetime.now(UTC)
    run = await run_report(http, m.headers, "usage.monthly", interval_start=int((now - timedelta(hours=1)).timestamp()),
                           interval_end=now.isoformat())
    rows = await csv_rows(http, m.headers, run)
    month = now.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m")
    values = {(r["month"], r["mode"], r["currency"], r["metric"]): r["value"] for r in rows}
    assert int(values[(month, "live", "", "api_requests")]) >= 3
    assert int(values[(month, "test", "", "api_requests")]) >= 2  # the payment's create and confirm
    assert values[(month, "test", "USD", "payments")] == "1"
    assert values[(month, "test", "USD", "payment_volume")] == "42.00"
    assert values[(month, "test", "USD", "dispute_fees")] == "0.00"


@pytest.mark.parametrize(("body", "param"), [
    ({"report_type": "profit.summary", "parameters": {"interval_start": 1, "interval_end": 2}}, "report_type"),
    ({"report_type": "balance.summary", "parameters": {"interval_end": "2026-01-01"}}, "parameters[interval_start]"),
    ({"report_type": "balance.summary", "parameters": {"interval_start": "2026-02-01", "interval_end": "2026-01-01"}},
     "parameters[interval_end]"),
    ({"report_type": "balance.summary", "parameters": {"interval_start": "2026-01-01", "interval_end": "2999-01-01"}},
     "parameters[interval_end]"),
    ({"report_type": "balance.summary", "parameters": {"interval_start": "yesterday", "interval_end": "2026-01-01"}},
     "parameters[interval_start]"),
    ({"report_type": "balance.summary", "parameters": {"interval_start": "2026-01-01", "interval_end": "2026-02-01",
                                                       "timezone": "Mars/Olympus"}}, "parameters[timezone]"),
    ({"report_type": "balance.summary", "parameters": {"interval_start": "2026-01-01", "interval_end": "2026-02-01",
                                                       "currency": "XYZ"}}, "parameters[currency]"),
    ({"report_type": "balance.summary", "parameters": {"interval_start": "2019-01-01", "interval_end": "2026-02-01"}},
     "parameters[interval_start]"),
])
async def test_bad_parameters_are_refused_naming_the_field(http, body, param):
    m = Merchant(http, await new_account())
    resp = await http.post("/v1/reporting/report_runs", json=body, headers=m.headers)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param, resp.json()


async def test_a_file_is_there_only_once_the_run_has_succeeded(http):
    m = Merchant(http, await new_account())
    resp = await http.post("/v1/reporting/report_runs", headers=m.headers, json={
        "report_type": "payments.itemized",
        "parameters": {"interval_start": "2026-01-01", "interval_end": "2026-01-02"}})
    run = resp.json()
    early = await http.get(f"/v1/reporting/report_runs/{run['id']}/file", headers=m.headers)
    assert early.status_code in (200, 409)  # the worker may be that quick
    if early.status_code == 409:
        assert early.json()["error"]["status"] == "pending"
    listed = (await http.get("/v1/reporting/report_runs", headers=m.headers)).json()
    assert [r["id"] for r in listed["data"]] == [run["id"]]
    types = (await http.get("/v1/reporting/report_types", headers=m.headers)).json()
    assert {t["id"] for t in types["data"]} == {"balance.summary", "balance_change_from_activity.itemized",
                                                "payments.itemized", "usage.monthly"}
