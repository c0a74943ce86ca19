"""CSV exports of payments and API requests, over REST and from the dashboard: the rows are the API's, the
filters hold, bad input is a 400 naming the field, and a role without the data's read right gets none."""

from __future__ import annotations

import csv
import io

import pytest

from server.apilogs.writer import flush_all
from server.permissions import Role
from tests.factories import add_member, login, new_account
from tests.payments.helpers import Merchant
from tests.reporting.helpers import minor


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_payments_export_is_the_apis_payments(http):
    m = Merchant(http, await new_account())
    paid = [await m.paid(amount) for amount in (1_500, 2_250)]
    declined = await m.intent(900)
    await m.confirm(declined["id"], "4000000000000002")
    resp = await m.get("/v1/exports/payment_intents")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    rows = _rows(resp.text)
    listed = {p["id"]: p for p in (await m.get("/v1/payment_intents", limit=10)).json()["data"]}
    assert [r["payment_intent"] for r in rows] == [paid[0]["id"], paid[1]["id"], declined["id"]]  # oldest first
    for row in rows:
        api = listed[row["payment_intent"]]
        assert (row["status"], minor(row["amount"]), minor(row["fee"])) == (api["status"], api["amount"], api["fee"])
    succeeded = _rows((await m.get("/v1/exports/payment_intents", status="succeeded")).text)
    assert [r["payment_intent"] for r in succeeded] == [p["id"] for p in paid]
    assert _rows((await m.get("/v1/exports/payment_intents", **{"created[lt]": "2020-01-01"})).text) == []


@pytest.mark.parametrize(("params", "param"), [
    ({"status": "nope"}, "status"),
    ({"created[gte]": "yesterday"}, "created[gte]"),
    ({"currency": "dollars"}, "currency"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"colour": "red"}, "colour"),
])
async def test_bad_export_filters_are_refused_naming_the_field(http, params, param):
    m = Merchant(http, await new_account())
    resp = await m.get("/v1/exports/payment_intents", **params)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param


async def test_the_request_log_export_lists_the_requests_made(http):
    m = Merchant(http, await new_account())
    paid = await m.paid(1_000)
    await m.get("/v1/payment_intents/pi_missing")  # a 404
    await flush_all()
    rows = _rows((await m.get("/v1/exports/request_logs")).text)
    confirm = [r for r in rows if r["path"] == f"/v1/payment_intents/{paid['id']}/confirm"]
    assert len(confirm) == 1 and confirm[0]["status"] == "200" and confirm[0]["method"] == "POST"
    errors = _rows((await m.get("/v1/exports/request_logs", status="404")).text)
    assert [r["path"] for r in errors] == ["/v1/payment_intents/pi_missing"]
    assert errors[0]["error_code"]


async def test_dashboard_downloads_follow_the_data_read_rights(http, base_url):
    account = await new_account(timezone="Europe/Berlin")
    m = Merchant(http, account)
    paid = await m.paid(1_000)
    await flush_all()
    owner = await login(base_url, account.user["email"])
    payments = await owner.get("/payments/export.csv")
    assert payments.status_code == 200 and [r["payment_intent"] for r in _rows(payments.text)] == [paid["id"]]
    assert _rows((await owner.get("/payments/export.csv", params={"to": "2020-01-01"})).text) == []
    logs = await owner.get("/logs/export.csv")
    assert logs.status_code == 200 and any(paid["id"] in r["object_ids"] for r in _rows(logs.text))
    email, _ = await add_member(account, Role.SUPPORT)  # payments, but not the API logs
    support = await login(base_url, email)
    assert (await support.get("/payments/export.csv")).status_code == 200
    refused = await support.get("/logs/export.csv")
    assert refused.status_code == 403 and paid["id"] not in refused.text
    bad = await owner.get("/payments/export.csv", params={"from": "not-a-day"})
    assert bad.status_code == 400 and "from" in bad.text
    for session in (owner, support):
        await session.client.aclose()
