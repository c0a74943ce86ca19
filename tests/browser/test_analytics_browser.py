"""The Analytics page draws 90 days of demo history; every chart's values are the API's, read from the page's data."""

from __future__ import annotations

import json

from server.analytics import backfill
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, new_account, user_ctx


async def _login(page, base_url, email: str) -> None:
    await page.goto(f"{base_url}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}/")


async def _charts(page) -> dict[str, dict]:
    await page.wait_for_function("() => [...document.querySelectorAll('.chart')].every(c => c.dataset.drawn)")
    texts = await page.locator("script.chart-data").all_text_contents()
    return {spec["key"]: spec for spec in map(json.loads, texts)}


async def _api_series(http, headers, window: dict[str, str], metrics: list[str], currency: str | None) -> dict:
    params = {"start": window["start"], "end": window["end"], "timezone": window["timezone"],
              "interval": window["interval"], "metrics": ",".join(metrics)}
    resp = await http.get("/v1/analytics/timeseries", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    out = {}
    for name in metrics:
        values = []
        for point in body["points"]:
            figure = point["values"][name]
            if currency is None or name.startswith("api_"):
                values.append(figure["value"])
            else:
                values.append(figure["by_currency"].get(currency, 0 if figure["value"] is not None else None))
        out[name] = values
    return out


async def _window(page) -> dict[str, str]:
    el = page.locator("[data-testid=analytics-window]")
    return {k: await el.get_attribute(f"data-{k}") or "" for k in ("start", "end", "timezone", "interval")}


async def test_charts_of_ninety_days_match_the_api(page, base_url, http):
    account = await new_account(name="Browser Analytics Shop", timezone="America/New_York")
    owner = user_ctx(account.account["id"], account.user["id"])
    written = await backfill.backfill_demo(owner)
    assert written is not None and written.payments > 1000
    headers = {"Authorization": f"Bearer {account.keys['secret_test']}"}
    await _login(page, base_url, account.user["email"])

    await page.goto(f"{base_url}/analytics")
    charts = await _charts(page)
    window = await _window(page)
    assert window["interval"] == "week" and window["timezone"] == "America/New_York"
    await screenshot(page, "analytics-12-months-by-week")
    assert sum(v or 0 for v in charts["volume"]["series"][0]["values"]) > 0  # 90 days of history are drawn
    for spec in charts.values():
        metrics = [s["metric"] for s in spec["series"]]
        expected = await _api_series(http, headers, window, metrics, None)
        for series in spec["series"]:
            # The test's own API calls and page loads land in the period in progress: API figures are compared
            # up to it; everything else to the last point.
            shown, api = series["values"], expected[series["metric"]]
            if series["metric"].startswith("api_"):
                shown, api = shown[:-1], api[:-1]
            assert shown == api, (spec["key"], series["metric"])
        assert len(spec["x"]) == len(expected[metrics[0]])
    gross_tile = page.locator("[data-metric=gross_volume]")
    summary = (await http.get("/v1/analytics/summary", params={k: window[k] for k in ("start", "end", "timezone")},
                              headers=headers)).json()
    gross = next(m for m in summary["metrics"] if m["metric"] == "gross_volume")
    assert float(await gross_tile.get_attribute("data-current") or "nan") == gross["current"]["value"]

    # Four weeks by day, in one currency only: the filters are kept in the URL.
    await page.select_option("[data-testid=range]", "last_4_weeks")
    await page.wait_for_url("**range=last_4_weeks**")
    await page.select_option("[data-testid=currency]", "EUR")
    await page.wait_for_url("**currency=EUR**")
    assert "range=last_4_weeks" in page.url
    charts = await _charts(page)
    window = await _window(page)
    assert window["interval"] == "day" and charts["volume"]["currency"] == "EUR"
    expected = await _api_series(http, headers, window, ["gross_volume", "successful_payments"], "EUR")
    assert charts["volume"]["series"][0]["values"] == expected["gross_volume"]
    assert charts["payments"]["series"][0]["values"] == expected["successful_payments"]
    assert any(charts["volume"]["series"][0]["values"])
    await screenshot(page, "analytics-4-weeks-eur")

    # Today by hour, in live mode: nothing yet, still readable.
    await page.goto(f"{base_url}/analytics?range=today")
    await _charts(page)
    await screenshot(page, "analytics-today-test-mode")
    await page.click("[data-testid=mode-toggle]")
    await page.wait_for_load_state("networkidle")
    await page.goto(f"{base_url}/analytics?range=today")
    charts = await _charts(page)
    assert all(v == 0 for v in charts["volume"]["series"][0]["values"])
    await screenshot(page, "analytics-today-live-mode")
    assert page.off_host_requests == []  # type: ignore[attr-defined]


async def test_a_bad_custom_range_is_said_on_the_page(page, base_url):
    account = await new_account(name="Browser Analytics Range")
    await _login(page, base_url, account.user["email"])
    resp = await page.goto(f"{base_url}/analytics?range=custom&from=2026-02-10&to=2026-02-01")
    assert resp is not None and resp.status == 400
    assert "to must not be before from" in (await page.locator("[data-testid=filter-error]").text_content() or "")
