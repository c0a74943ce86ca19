"""The app as served: OpenAPI at /schema, static assets, and nothing that reaches beyond the machine."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("path", ["/schema", "/schema/openapi.json"])
async def test_openapi_is_served(http, path):
    resp = await http.get(path)
    assert resp.status_code == 200
    spec = resp.json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Paydeck API"
    assert {"/v1/account", "/healthz", "/readyz"} <= set(spec["paths"])
    # Dashboard pages and GraphQL are not part of the REST API description.
    assert not any(p.startswith(("/apikeys", "/team", "/login", "/static")) for p in spec["paths"])


@pytest.mark.parametrize("path", ["/schema/swagger", "/schema/redoc", "/schema/elements"])
async def test_no_api_browser_that_loads_from_a_cdn(http, path):
    resp = await http.get(path)
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", resp.text)


async def test_account_endpoint_shape(http):
    from tests.factories import bearer, new_account

    account = await new_account(name="Shape Co", default_currency="EUR", timezone="Europe/Berlin")
    resp = await http.get("/v1/account", headers=bearer(account.keys["secret_live"]))
    assert resp.status_code == 200
    body = resp.json()
    assert body == {
        "id": account.account["id"], "object": "account", "name": "Shape Co", "category": "general",
        "country": "US", "default_currency": "EUR", "timezone": "Europe/Berlin",
        "pricing": {"fee_percent_bps": 290, "fee_fixed_minor": 30}, "log_retention_days": 30,
        "livemode": True, "created": body["created"],
    }
    assert isinstance(body["created"], int)
