"""Every dashboard page without path parameters renders for an owner, in both modes."""

from __future__ import annotations

import pytest

from server.app import create_app
from tests.factories import login, new_account

# APIs and plain-text endpoints, not pages
NOT_PAGES = ("/v1", "/stripe/v1", "/schema", "/static", "/healthz", "/readyz", "/metrics")
SKIP = {"/login", "/graphql", "/events/stream"}  # the stream never ends; tests/events/test_live.py covers it


def page_paths() -> list[str]:
    app = create_app()
    paths = set()
    for route in app.routes:
        if "GET" not in getattr(route, "methods", ()) or "{" in route.path:
            continue
        if route.path.startswith(NOT_PAGES) or route.path in SKIP or route.path.endswith(".csv"):  # test_exports
            continue
        paths.add(route.path)
    return sorted(paths)


@pytest.mark.parametrize("livemode", [False, True])
async def test_every_page_renders(base_url, livemode):
    account = await new_account()
    browser = await login(base_url, account.user["email"])
    if livemode:
        await browser.post("/mode", {"livemode": "true", "next": "/"})
    failures = {}
    for path in page_paths():
        resp = await browser.get(path)
        if resp.status_code != 200 or "internal error" in resp.text:
            failures[path] = resp.status_code
        elif ("TEST MODE" in resp.text) == livemode:
            failures[path] = "test-mode banner wrong"
    await browser.client.aclose()
    assert not failures, failures
