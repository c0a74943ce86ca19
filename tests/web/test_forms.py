"""Every dashboard form works as a browser submits it: it carries the session's CSRF token itself."""

from __future__ import annotations

import re

import pytest

from server.permissions import Role
from tests.accounts.test_modes import dashboard_pages
from tests.factories import add_member, create_key, login, new_account

FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def post_forms(html: str) -> list[tuple[str, dict[str, str]]]:
    """(action, hidden fields) of every POST form on a page."""
    forms = []
    for attrs, body in FORM.findall(html):
        if 'method="post"' not in attrs:
            continue
        action = re.search(r'action="([^"]+)"', attrs)
        assert action, attrs
        forms.append((action.group(1), dict(HIDDEN.findall(body))))
    return forms


@pytest.fixture(scope="module")
async def owner(server):
    account = await new_account(name="Forms Co")
    await add_member(account, Role.DEVELOPER)  # so the team page has member forms
    session = await login(server, account.user["email"])
    await create_key(session, "secret")
    await session.graphql('mutation { inviteMember(email: "pending@example.com", role: ANALYST) { __typename } }')
    yield session
    await session.client.aclose()


async def test_every_post_form_carries_the_csrf_token(owner):
    checked = 0
    for path in dashboard_pages():
        page = await owner.get(path)
        for action, hidden in post_forms(page.text):
            assert hidden.get("_csrf") == owner.csrf, f"form {action} on {path} has no valid CSRF token"
            checked += 1
    assert checked >= 10


async def test_the_settings_form_submits_as_a_browser_would(owner):
    page = await owner.get("/settings")
    action, hidden = next((a, h) for a, h in post_forms(page.text) if a == "/settings")
    resp = await owner.client.post(action, data={**hidden, "name": "Submitted Co"})
    assert resp.status_code == 303
    assert (await owner.graphql("{ account { name } }"))["data"]["account"]["name"] == "Submitted Co"


async def test_the_login_form_carries_its_token(http):
    page = await http.get("/login")
    [(action, hidden)] = post_forms(page.text)
    assert action == "/login" and len(hidden["_csrf"]) >= 20
