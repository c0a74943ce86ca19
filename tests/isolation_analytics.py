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
