"""Errors people see in the dashboard: inline on forms, a dashboard 404, never graphql-core's words."""

from __future__ import annotations

import re

import pytest

from tests.factories import create_key, login, new_account


@pytest.fixture(scope="module")
async def owner(server):
    account = await new_account(name="Dashboard Errors Co")
    session = await login(server, account.user["email"])
    yield session
    await session.client.aclose()


HTMX = {"HX-Request": "true"}


async def test_an_unknown_dashboard_url_is_a_dashboard_404(owner):
    resp = await owner.get("/no-such-page")
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("text/html")
    assert "Page not found" in resp.text and 'class="sidebar"' in resp.text, "inside the dashboard's shell"
    assert resp.headers["request-id"] in resp.text
    posted = await owner.post("/no-such-page", {})
    assert posted.status_code in (404, 405) and posted.headers["content-type"].startswith("text/html")


async def test_an_unknown_url_for_a_visitor_is_a_page_too(http):
    resp = await http.get("/no-such-page")
    assert resp.status_code == 404 and "Page not found" in resp.text and "/login" in resp.text
    assert (await http.get("/v1/no-such-thing")).json()["error"]["code"] == "http_404", "the API keeps JSON"


async def test_key_form_errors_come_back_inline(owner):
    resp = await owner.post("/apikeys", {"name": "x" * 121, "kind": "secret"}, headers=HTMX)
    assert resp.status_code == 400 and "form-error" in resp.text and "name must be at most 120 characters" in resp.text
    resp = await owner.post("/apikeys", {"name": "late", "kind": "secret", "expires_at": "2001-01-01T10:00"},
                            headers=HTMX)
    assert resp.status_code == 400 and "expires_at must be in the future" in resp.text
    resp = await owner.post("/apikeys", {"name": "far", "kind": "secret",
                                         "expires_at": "0001-01-01T00:00:00+14:00"}, headers=HTMX)
    assert resp.status_code == 400 and "form-error" in resp.text and "Variable" not in resp.text


async def test_roll_defaults_to_what_the_page_promises_and_errors_inline(owner):
    key = await create_key(owner, "secret", name="roll me")
    page = await owner.get("/apikeys")
    assert re.search(r'<option value="24" selected>24 hours</option>', page.text)
    assert "24 hours unless you choose otherwise" in page.text and "hx-confirm=\"Roll " in page.text
    for bad in ("abc", "99999999999", "169"):
        resp = await owner.post(f"/apikeys/{key['id']}/roll", {"expires_in_hours": bad}, headers=HTMX)
        assert resp.status_code == 400 and "form-error" in resp.text, bad
        assert "expires_in_hours" in resp.text and "Variable '$" not in resp.text and "32-bit" not in resp.text
    resp = await owner.post(f"/apikeys/{key['id']}/roll", {}, headers=HTMX)  # the default, as the page sends it
    assert resp.status_code == 200 and "keeps working until" in resp.text and "(in 23h)" in resp.text


async def test_a_rolled_key_stopped_now_is_said_so(owner):
    key = await create_key(owner, "secret", name="roll now")
    resp = await owner.post(f"/apikeys/{key['id']}/roll", {"expires_in_hours": "0"}, headers=HTMX)
    assert resp.status_code == 200 and "stopped working now" in resp.text


async def test_the_logs_status_filter_says_what_is_wrong(owner):
    resp = await owner.get("/logs?status=abc", headers=HTMX)
    assert resp.status_code == 400
    assert resp.text.lstrip().startswith('<div id="results">'), "the block htmx swaps in"
    assert "status must be a code such as 404 or a class such as 4xx" in resp.text
    page = await owner.get("/logs?status=abc")
    assert page.status_code == 400 and 'value="abc"' in page.text, "the filter as typed stays in the form"


async def test_graphql_coercion_messages_never_reach_the_page(owner):
    resp = await owner.post("/settings", {"fee_fixed_minor": "99999999999"})
    assert resp.status_code == 400 and "form-error" in resp.text
    assert "fee_fixed_minor must be a whole number from -2147483648 to 2147483647" in resp.text
    assert "Variable" not in resp.text and "32-bit" not in resp.text


async def test_bad_text_in_a_form_or_a_page_query_is_a_400_naming_it(owner):
    resp = await owner.post("/customers", {"email": "a\x00@example.com"})
    assert resp.status_code == 400 and "email must not contain the NUL character" in resp.text
    resp = await owner.get("/customers?q=%00")
    assert resp.status_code == 400 and resp.headers["content-type"].startswith("text/html")
    assert "q must not contain the NUL character" in resp.text
