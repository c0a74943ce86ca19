"""The app as served: OpenAPI at /schema, static assets, and nothing that reaches beyond the machine."""

from __future__ import annotations

import re


async def test_openapi_is_served(http):
    resp = await http.get("/schema/openapi.json")
    assert resp.status_code == 200
    spec = resp.json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Paydeck API"
    assert {"/v1/account", "/healthz", "/readyz"} <= set(spec["paths"])
    # Dashboard pages and GraphQL are not part of the REST API description.
    assert not any(p.startswith(("/apikeys", "/team", "/login", "/static")) for p in spec["paths"])


async def test_the_api_reference_page_loads_nothing_from_another_host(http):
    resp = await http.get("/schema")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", resp.text), "the page names another host"
    assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', resp.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        assert (await http.get(asset)).status_code == 200, asset


async def test_account_endpoint_shape(http):
    from tests.factories import bearer, new_account

    account = await new_account(name="Shape Co", default_currency="EUR", timezone="Europe/Berlin")
    resp = await http.get("/v1/account", headers=bearer(account.keys["secret_live"]))
    assert resp.status_code == 200
    body = resp.json()
    assert body == {
        "id": account.account["id"], "object": "account", "name": "Shape Co", "category": "general",
        "country": "US", "region": "north_america", "default_currency": "EUR", "timezone": "Europe/Berlin",
        "pricing": {"fee_percent_bps": 290, "fee_fixed_minor": 30, "dispute_fee_minor": 1500},
        "log_retention_days": 30,
        "livemode": True, "created": body["created"],
    }
    assert isinstance(body["created"], int)
