"""GraphiQL at GET /graphql for browsers, with vendored assets only."""

from __future__ import annotations

import re

from tests.factories import login, new_account


async def test_graphiql_is_served_with_local_assets_only(http):
    resp = await http.get("/graphql", headers={"Accept": "text/html"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "GraphiQL" in resp.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', resp.text)
    scripts = [a for a in assets if a.endswith((".js", ".css"))]
    assert scripts and all(a.startswith("/static/") for a in scripts), scripts
    assert not re.search(r"https?://", resp.text), "the page names another host"
    for asset in scripts:
        fetched = await http.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > (1000 if "/vendor/" in asset else 100), asset


async def test_graphiql_carries_the_session_csrf_token(base_url):
    account = await new_account()
    session = await login(base_url, account.user["email"])
    try:
        resp = await session.get("/graphql", headers={"Accept": "text/html"})
    finally:
        await session.client.aclose()
    assert resp.status_code == 200
    assert f'<meta name="csrf-token" content="{session.csrf}">' in resp.text


async def test_dashboard_assets_are_local(http, base_url):
    account = await new_account()
    session = await login(base_url, account.user["email"])
    try:
        page = await session.get("/")
    finally:
        await session.client.aclose()
    for asset in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text):
        assert asset.startswith("/static/"), asset
        assert (await http.get(asset)).status_code == 200, asset
