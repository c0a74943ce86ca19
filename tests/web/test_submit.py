"""Dashboard forms through server.web.forms.submit: the status REST would give, the message inline."""

from __future__ import annotations

import pytest

from server.webhooks import service
from tests.factories import create_key, login

HTMX = {"HX-Request": "true"}


@pytest.fixture
async def owner(base_url, shop):
    session = await login(base_url, shop.user["email"])
    yield session
    await session.client.aclose()


def inline(resp) -> bool:
    """The form's page drawn again with the message, not the dashboard's error page."""
    return 'class="form-error"' in resp.text and "<h1>That did not work" not in resp.text


async def test_each_error_member_gets_the_status_of_its_error(owner):
    key = await create_key(owner, "secret", name="twice")
    assert (await owner.post(f"/apikeys/{key['id']}/revoke", headers=HTMX)).status_code == 200
    again = await owner.post(f"/apikeys/{key['id']}/revoke", headers=HTMX)
    assert again.status_code == 409 and inline(again) and "already revoked" in again.text
    missing = await owner.post("/apikeys/key_nope/revoke", headers=HTMX)
    assert missing.status_code == 404 and inline(missing)
    invalid = await owner.post("/settings/fx-rates", {"base": "USD", "quote": "USD", "rate": "1"}, headers=HTMX)
    assert invalid.status_code == 400 and inline(invalid)


async def test_bad_input_found_while_building_the_variables_is_inline_too(owner, shop, allow_private):
    endpoint = await service.create_endpoint(shop.ctx, "http://127.0.0.1:9/hooks", ["*"])
    resp = await owner.post(f"/webhooks/{endpoint['id']}/recover", {"since": "yesterday-ish"}, headers=HTMX)
    assert resp.status_code == 400 and inline(resp)
    assert "since must be a Unix timestamp or an ISO 8601 time" in resp.text
    assert endpoint["url"] in resp.text, "on the endpoint's page"


async def test_a_refused_create_keeps_what_was_typed(owner):
    resp = await owner.post("/webhooks", {"url": "ftp://example.com/hooks", "enabled_events": "customer.*"},
                            headers=HTMX)
    assert resp.status_code == 400 and inline(resp)
    assert 'value="ftp://example.com/hooks"' in resp.text and 'value="customer.*"' in resp.text
