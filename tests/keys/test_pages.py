"""The API keys page: create (secret shown once), roll, revoke, errors re-render the form."""

from __future__ import annotations

import re

import pytest

from tests.factories import bearer, login, new_account


@pytest.fixture
async def owner(base_url):
    account = await new_account(name="Key Pages Co")
    session = await login(base_url, account.user["email"])
    yield session
    await session.client.aclose()


def _secret(html: str) -> str:
    match = re.search(r'data-testid="new-secret".*?<code class="secret"[^>]*>([^<]+)</code>', html, re.S)
    assert match, "no secret shown"
    return match.group(1)


def _key_id(html: str, display: str) -> str:
    rows = re.findall(r'<tr data-key-id="([^"]+)">(.*?)</tr>', html, re.S)
    return next(key_id for key_id, row in rows if display in row)


async def test_create_shows_the_secret_once_and_lists_the_key(http, owner):
    resp = await owner.post("/apikeys", {"kind": "secret", "name": "from the page"})
    assert resp.status_code == 200
    secret = _secret(resp.text)
    assert secret.startswith("sk_test_")
    assert (await http.get("/v1/account", headers=bearer(secret))).status_code == 200

    again = await owner.get("/apikeys")
    assert secret not in again.text
    assert "from the page" in again.text and secret[-4:] in again.text


async def test_restricted_key_from_the_page_gets_the_chosen_rights(http, owner):
    resp = await owner.post("/apikeys", {"kind": "restricted", "perm_account": "read", "perm_customers": "write"})
    assert resp.status_code == 200, resp.text
    secret = _secret(resp.text)
    viewer = await http.post("/graphql", json={"query": "{ viewer { permissions } }"}, headers=bearer(secret))
    assert set(viewer.json()["data"]["viewer"]["permissions"]) == {"account:read", "customers:read",
                                                                 "customers:write"}


@pytest.mark.parametrize(("form", "message"), [
    ({"kind": "restricted"}, "at least one"),
    ({"kind": "golden"}, "kind must be"),
    ({"kind": "secret", "expires_at": "tomorrow"}, "expires_at"),
    ({"kind": "secret", "expires_at": "2001-01-01T00:00"}, "future"),
])
async def test_bad_input_re_renders_the_form_with_the_message(owner, form, message):
    resp = await owner.post("/apikeys", form)
    assert resp.status_code == 400
    assert "form-error" in resp.text and message in resp.text
    assert 'data-testid="new-secret"' not in resp.text


async def test_roll_and_revoke_from_the_page(http, owner):
    created = await owner.post("/apikeys", {"kind": "secret", "name": "to roll"})
    old_secret = _secret(created.text)
    key_id = _key_id(created.text, old_secret[-4:])

    rolled = await owner.post(f"/apikeys/{key_id}/roll", {"expires_in_hours": "24"})
    assert rolled.status_code == 200
    new_secret = _secret(rolled.text)
    assert "keeps working until" in rolled.text
    assert (await http.get("/v1/account", headers=bearer(old_secret))).status_code == 200

    new_id = _key_id(rolled.text, new_secret[-4:])
    revoked = await owner.post(f"/apikeys/{new_id}/revoke")
    assert revoked.status_code == 200
    assert (await http.get("/v1/account", headers=bearer(new_secret))).status_code == 401

    missing = await owner.post("/apikeys/key_doesnotexist/revoke")
    assert missing.status_code == 404
    bad_hours = await owner.post(f"/apikeys/{key_id}/roll", {"expires_in_hours": "lots"})
    assert bad_hours.status_code in (400, 409)
