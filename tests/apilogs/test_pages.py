"""The logs page: filters in the URL, infinite scroll, detail with copy-as-curl, live tail over SSE."""

from __future__ import annotations

import asyncio
import html

import pytest

from server.apilogs.writer import flush_all
from tests.factories import login, new_account
from tests.support import eventually


@pytest.fixture
async def setup(base_url, http):
    account = await new_account(name="Pages Co")
    browser = await login(base_url, account.user["email"])
    headers = {"Authorization": f"Bearer {account.keys['secret_test']}"}
    ids = []
    for i in range(55):  # more than one page of 50
        resp = await http.get("/v1/account", headers=headers, params={"n": str(i)})
        ids.append(resp.headers["Request-Id"])
    missing = await http.get("/v1/request_logs/req_nope", headers={**headers, "Idempotency-Key": "k-1"})
    await flush_all()
    yield account, browser, ids, missing.headers["Request-Id"]
    await browser.client.aclose()


async def test_page_lists_searches_and_scrolls(setup):
    account, browser, ids, missing_id = setup
    page = await browser.get("/logs")
    assert page.status_code == 200
    assert missing_id in page.text and ids[-1] in page.text
    # the default 24 hours, unfiltered: counted from the API rollups, per 15 minutes (tests/apilogs/test_series.py)
    assert "Requests and errors per 15 minutes" in page.text and 'hx-trigger="revealed"' in page.text

    # next page through the infinite-scroll link, as htmx asks for it
    link = html.unescape(page.text.split('class="more" hx-get="', 1)[1].split('"', 1)[0])
    more = await browser.get(link, headers={"HX-Request": "true"})
    assert more.status_code == 200 and ids[0] in more.text and "<html" not in more.text

    by_id = await browser.get("/logs", params={"q": missing_id})
    assert missing_id in by_id.text and ids[-1] not in by_id.text
    by_filter = await browser.get("/logs", params={"status": "4xx", "path": "/v1/request_logs"})
    assert missing_id in by_filter.text and ids[-1] not in by_filter.text
    assert "Requests and errors per minute" in by_filter.text  # filtered: the rows themselves, per minute
    assert 'value="4xx"' in by_filter.text  # the filter is kept in the form and the URL
    by_idem = await browser.get("/logs", params={"idempotency_key": "k-1", "range": "1h"})
    assert missing_id in by_idem.text and ids[-1] not in by_idem.text


async def test_detail_shows_the_redacted_request_and_curl(setup):
    account, browser, _, missing_id = setup
    detail = await browser.get(f"/logs/{missing_id}")
    assert detail.status_code == 200
    text = html.unescape(detail.text)
    assert "resource_missing" in text and "authorization: [REDACTED]" in text
    assert account.keys["secret_test"] not in text
    assert 'curl -X GET' in text and '"Authorization: Bearer $PAYDECK_SECRET_KEY"' in text
    panel = await browser.get(f"/logs/{missing_id}", headers={"HX-Request": "true"})
    assert 'data-testid="log-detail"' in panel.text and "<html" not in panel.text
    assert (await browser.get("/logs/req_01m81xy00cn72e13k995h5m5xj")).status_code == 404


async def test_live_tail_streams_new_requests(setup, http):
    account, browser, _, _ = setup
    headers = {"Authorization": f"Bearer {account.keys['secret_test']}"}

    async def first_event() -> str:
        async with browser.client.stream("GET", "/logs/tail", headers={"Accept": "text/event-stream"}) as resp:
            assert resp.status_code == 200
            lines = resp.aiter_lines()
            async for line in lines:
                if line.startswith(": tail started"):
                    break
            fresh = await http.get("/v1/account", headers=headers)
            await flush_all()
            async for line in lines:
                if line.startswith("data:") and "log-row" in line:
                    assert fresh.headers["Request-Id"] in line
                    return line
        raise AssertionError("the stream ended")

    line = await asyncio.wait_for(first_event(), timeout=15)
    assert "/v1/account" in line


async def test_plain_get_of_the_tail_is_the_page_with_the_tail_on(setup):
    _, browser, _, _ = setup
    page = await browser.get("/logs/tail")
    assert page.status_code == 200 and 'sse-connect="/logs/tail' in page.text


async def test_readiness_reports_the_search_engine(http, setup):
    async def search_check():
        return (await http.get("/readyz")).json()["checks"].get("search")

    check = await eventually(search_check, message="the search engine's lag in /readyz (the apilogs.index job)")
    assert check["engine"] == "postgres"
