"""Isolation cases of analytics and reporting (registered into `tests.isolation_cases` when it is imported)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from server.apilogs.writer import flush_all
from tests.isolation_cases import Tenants, _owner_payments, graphql, rest
from tests.support import eventually

CONFIRM = "POST /v1/payment_intents/{id}/confirm"


def _hour_around_now() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(hours=1)).isoformat()}


def _figure(summary: dict[str, Any], name: str) -> Any:
    return next(m for m in summary["metrics"] if m["metric"] == name)["current"]["value"]


async def _owner_counted(t: Tenants) -> dict[str, str]:
    """The owner's payments, once analytics counts them (rollups follow commits within a second)."""
    await _owner_payments(t)
    window = _hour_around_now()

    async def counted() -> bool:
        await flush_all()  # the request log's writer batches; API rollups count what it has stored
        resp = await t.http.get("/v1/analytics/summary", params=window, headers=t.key("owner"))
        usage = await t.http.get("/v1/analytics/api_usage", params=window, headers=t.key("owner"))
        return (_figure(resp.json(), "successful_payments") >= 1
                and CONFIRM in [g["group"] for g in usage.json()["groups"]])

    await eventually(counted, message="the owner's payments and requests in its analytics")
    return window


@rest("GET /v1/analytics/summary", "GET /v1/analytics/timeseries", "GET /v1/analytics/api_usage",
      "GET /v1/analytics/top_codes")
async def _analytics_rest(t: Tenants) -> None:
    window = await _owner_counted(t)
    for name, headers in t.intruders:
        summary = (await t.http.get("/v1/analytics/summary", params=window, headers=headers)).json()
        assert _figure(summary, "successful_payments") == 0, name
        assert _figure(summary, "gross_volume") == 0, name
        series = (await t.http.get("/v1/analytics/timeseries", params={**window, "metrics": "gross_volume,refunds"},
                                   headers=headers)).json()
        assert all(p["values"]["gross_volume"]["value"] == 0 and p["values"]["refunds"]["value"] == 0
                   for p in series["points"]), name
        usage = (await t.http.get("/v1/analytics/api_usage", params=window, headers=headers)).json()
        assert CONFIRM not in [g["group"] for g in usage["groups"]], name
        codes = (await t.http.get("/v1/analytics/top_codes", params={**window, "kind": "error"},
                                  headers=headers)).json()
        assert codes["livemode"] is (name == "other mode")


@graphql("Query.analytics")
async def _analytics_graphql(t: Tenants) -> None:
    window = await _owner_counted(t)
    query = ("query($start: DateTime!, $end: DateTime!) { analytics { "
             "summary(start: $start, end: $end) { metric(name: \"successful_payments\") { current { exact } } } "
             "timeseries(start: $start, end: $end, metrics: [\"gross_volume\"]) { "
             "points { values { figure { exact } } } } "
             "apiUsage(start: $start, end: $end) { groups { group } } } }")
    mine = await t.gql(t.key("owner"), query, window)
    assert mine["data"]["analytics"]["summary"]["metric"]["current"]["exact"] >= 1
    for name, headers in t.intruders:
        theirs = (await t.gql(headers, query, window))["data"]["analytics"]
        assert theirs["summary"]["metric"]["current"]["exact"] == 0, name
        assert all(v["figure"]["exact"] == 0 for p in theirs["timeseries"]["points"] for v in p["values"]), name
        assert CONFIRM not in [g["group"] for g in theirs["apiUsage"]["groups"]], name
    seen = await t.other_session.graphql(query, window)
    assert seen["data"]["analytics"]["summary"]["metric"]["current"]["exact"] == 0


# --- reporting ---------------------------------------------------------------------------------------


async def _owner_run(t: Tenants) -> dict[str, Any]:
    """A succeeded payments.itemized run of the owner's test mode, over its payments."""
    if "report_run" in t.objects:
        return t.objects["report_run"]
    await _owner_payments(t)
    now = datetime.now(UTC)
    resp = await t.http.post("/v1/reporting/report_runs", headers=t.key("owner"), json={
        "report_type": "payments.itemized",
        "parameters": {"interval_start": (now - timedelta(hours=1)).isoformat(), "interval_end": now.isoformat()}})
    assert resp.status_code == 200, resp.text

    async def done() -> dict[str, Any] | None:
        run = (await t.http.get(f"/v1/reporting/report_runs/{resp.json()['id']}", headers=t.key("owner"))).json()
        return run if run["status"] == "succeeded" else None

    t.objects["report_run"] = await eventually(done, message="the owner's report run")
    return t.objects["report_run"]


@rest("POST /v1/reporting/report_runs", "GET /v1/reporting/report_runs", "GET /v1/reporting/report_runs/{run_id:str}",
      "GET /v1/reporting/report_runs/{run_id:str}/file", "GET /v1/reporting/report_types")
async def _reporting_rest(t: Tenants) -> None:
    run = await _owner_run(t)
    mine = await t.http.get(f"/v1/reporting/report_runs/{run['id']}/file", headers=t.key("owner"))
    assert mine.status_code == 200 and mine.text.count("\n") == run["result"]["rows"] + 1
    for name, headers in t.intruders:
        assert (await t.http.get(f"/v1/reporting/report_runs/{run['id']}", headers=headers)).status_code == 404
        assert (await t.http.get(f"/v1/reporting/report_runs/{run['id']}/file", headers=headers)).status_code == 404
        listed = (await t.http.get("/v1/reporting/report_runs", headers=headers)).json()
        assert run["id"] not in [r["id"] for r in listed["data"]], name
        types = await t.http.get("/v1/reporting/report_types", headers=headers)
        assert types.status_code == 200 and len(types.json()["data"]) == 4
        # Their own run over the same hour holds none of the owner's payments.
        theirs = await t.http.post("/v1/reporting/report_runs", headers=headers, json={
            "report_type": "payments.itemized", "parameters": run["parameters"]})
        assert theirs.status_code == 200, theirs.text

        async def done(run_id: str = theirs.json()["id"], h: dict[str, str] = headers) -> dict[str, Any] | None:
            body = (await t.http.get(f"/v1/reporting/report_runs/{run_id}", headers=h)).json()
            return body if body["status"] == "succeeded" else None

        made = await eventually(done, message=f"the {name}'s report run")
        assert made["result"]["rows"] == 0, name
    owner_list = (await t.http.get("/v1/reporting/report_runs", headers=t.key("owner"))).json()
    assert [r["id"] for r in owner_list["data"]] == [run["id"]]


@rest("GET /v1/exports/payment_intents", "GET /v1/exports/request_logs")
async def _exports_rest(t: Tenants) -> None:
    p = await _owner_payments(t)
    await flush_all()
    mine = await t.http.get("/v1/exports/payment_intents", headers=t.key("owner"))
    assert p["paid"] in mine.text
    logs = await t.http.get("/v1/exports/request_logs", headers=t.key("owner"))
    assert p["paid"] in logs.text  # the confirm request names it
    for name, headers in t.intruders:
        theirs = await t.http.get("/v1/exports/payment_intents", headers=headers)
        assert theirs.status_code == 200 and p["paid"] not in theirs.text, name
        their_logs = await t.http.get("/v1/exports/request_logs", headers=headers)
        assert their_logs.status_code == 200 and p["paid"] not in their_logs.text, name


@graphql("Query.reportRuns", "Query.reportRun", "Query.reportTypes", "Mutation.createReportRun")
async def _reporting_graphql(t: Tenants) -> None:
    run = await _owner_run(t)
    query = ("query($id: ID!) { reportRun(id: $id) { id status result { rows } } "
             "reportRuns(first: 100) { nodes { id } } reportTypes { id } }")
    mine = (await t.gql(t.key("owner"), query, {"id": run["id"]}))["data"]
    assert mine["reportRun"]["status"] == "succeeded"
    assert run["id"] in [n["id"] for n in mine["reportRuns"]["nodes"]]
    for name, headers in t.intruders:
        theirs = (await t.gql(headers, query, {"id": run["id"]}))["data"]
        assert theirs["reportRun"] is None, name
        assert run["id"] not in [n["id"] for n in theirs["reportRuns"]["nodes"]], name
        assert len(theirs["reportTypes"]) == 4
    seen = await t.other_session.graphql(query, {"id": run["id"]})
    assert seen["data"]["reportRun"] is None
    made = await t.other_session.graphql(
        'mutation { createReportRun(input: {reportType: "payments.itemized", intervalStart: "2026-01-01", '
        'intervalEnd: "2026-01-02"}) { __typename ... on ReportRunPayload { reportRun { id } } } }')
    new_id = made["data"]["createReportRun"]["reportRun"]["id"]
    owner_list = (await t.gql(t.key("owner"), query, {"id": new_id}))["data"]
    assert owner_list["reportRun"] is None and new_id not in [n["id"] for n in owner_list["reportRuns"]["nodes"]]
