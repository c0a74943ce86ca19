"""Every answer carries the security headers; HTML pages a Content-Security-Policy their assets satisfy."""

from __future__ import annotations

import re

import pytest

from tests.factories import login, new_account


@pytest.fixture(scope="module")
async def owner(server):
    account = await new_account(name="Headers Co")
    session = await login(server, account.user["email"])
    yield session
    await session.client.aclose()


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in policy.split(";")) if d}


def assert_common(resp) -> None:
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert directives(resp.headers["content-security-policy"])["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("path", ["/", "/apikeys", "/logs", "/settings", "/team", "/webhooks", "/no-such-page"])
async def test_dashboard_pages(owner, path):
    resp = await owner.get(path)
    assert resp.headers["content-type"].startswith("text/html")
    assert_common(resp)
    policy = directives(resp.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    # What the policy forbids is not on the page: no inline script, style or handler.
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", resp.text), path
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", resp.text), path


async def test_login_api_json_static_and_routing_errors(http):
    for path in ("/login", "/v1/account", "/static/app.css", "/healthz", "/v1/nothing-here"):
        assert_common(await http.get(path))
    assert directives((await http.get("/v1/account")).headers["content-security-policy"])["default-src"] == ["'none'"]


async def test_graphiql_and_redoc_have_their_own_policy(http):
    graphiql = await http.get("/graphql", headers={"Accept": "text/html"})
    redoc = await http.get("/schema")
    for resp in (graphiql, redoc):
        assert_common(resp)
        policy = directives(resp.headers["content-security-policy"])
        assert policy["script-src"] == ["'self'"], "scripts stay files of this origin"
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", resp.text)
    assert "<redoc spec-url=\"/schema/openapi.json\">" in redoc.text
