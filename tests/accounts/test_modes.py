"""Test and live mode: the session's mode toggle, the test banner, and "delete all test data"."""

from __future__ import annotations

import pytest

from server import db
from server.context import Scope
from server.events import service as events
from server.permissions import Role
from tests.factories import add_member, error_code, login, new_account

DELETE = ("mutation($c: String!) { r: deleteTestData(confirm: $c) { __typename "
          "... on DeleteTestDataPayload { deleted } ... on Error { code message field } } }")
BANNER = "TEST MODE"


def dashboard_pages() -> list[str]:
    """Every GET page of the dashboard without path parameters, from the route table (not its CSV downloads,
    which tests/reporting/test_exports.py covers)."""
    from server.app import PAGE_HANDLERS

    paths = set()
    for handler in PAGE_HANDLERS:
        if "GET" in handler.http_methods:
            paths |= {p for p in handler.paths if "{" not in p and p != "/login" and not p.endswith(".csv")}
    assert "/" in paths and "/apikeys" in paths
    return sorted(paths)


@pytest.fixture
async def owner(base_url):
    account = await new_account(name="Mode Co")
    session = await login(base_url, account.user["email"])
    yield account, session
    await session.client.aclose()


class TestModeToggle:
    async def test_toggle_switches_the_scope_of_everything(self, owner):
        account, session = owner
        test_page = await session.get("/apikeys")
        assert BANNER in test_page.text
        assert account.keys["secret_test"][-4:] in test_page.text
        assert account.keys["secret_live"][-4:] not in test_page.text

        resp = await session.post("/mode", {"livemode": "true", "next": "/apikeys"})

        assert resp.status_code == 303 and resp.headers["location"] == "/apikeys"
        viewer = await session.graphql("{ viewer { livemode } }")
        assert viewer["data"]["viewer"]["livemode"] is True
        live_page = await session.get("/apikeys")
        assert BANNER not in live_page.text
        assert account.keys["secret_live"][-4:] in live_page.text
        assert account.keys["secret_test"][-4:] not in live_page.text

        await session.post("/mode", {"livemode": "false", "next": "/"})
        assert (await session.graphql("{ viewer { livemode } }"))["data"]["viewer"]["livemode"] is False

    async def test_test_mode_is_unmistakable_on_every_page(self, owner):
        _, session = owner
        for path in dashboard_pages():
            page = await session.get(path)
            assert page.status_code == 200, path
            assert BANNER in page.text and 'data-mode="test"' in page.text, path
        await session.post("/mode", {"livemode": "true", "next": "/"})
        for path in dashboard_pages():
            page = await session.get(path)
            assert page.status_code == 200, path
            assert BANNER not in page.text and 'data-mode="live"' in page.text, path

    async def test_toggle_never_redirects_off_site(self, owner):
        _, session = owner
        resp = await session.post("/mode", {"livemode": "true", "next": "https://evil.example.com/"})
        assert resp.headers["location"] == "/"

    async def test_htmx_toggle_answers_with_hx_redirect(self, owner):
        _, session = owner
        resp = await session.post("/mode", {"livemode": "true", "next": "/team"}, headers={"HX-Request": "true"})
        assert resp.status_code == 200 and resp.headers["hx-redirect"] == "/team"


async def _events(account_id: str) -> dict[bool, int]:
    rows = await db.fetch("SELECT livemode, count(*) AS n FROM events WHERE account_id = $1 GROUP BY livemode",
                          account_id)
    return {r["livemode"]: r["n"] for r in rows}


async def _seed_events(account_id: str) -> None:
    async with db.transaction():
        for livemode in (False, True):
            await events.emit(None, Scope(account_id, livemode), "customer.created", "customer", "cus_x", {})


class TestDeleteTestData:
    async def test_owner_deletes_test_data_only(self, owner):
        account, session = owner
        account_id = account.account["id"]
        other = await new_account()
        await _seed_events(account_id)
        await _seed_events(other.account["id"])

        result = await session.graphql(DELETE, {"c": "DELETE"})

        assert result["data"]["r"]["__typename"] == "DeleteTestDataPayload"
        assert result["data"]["r"]["deleted"]["events"] == 1
        assert await _events(account_id) == {True: 1}
        assert await _events(other.account["id"]) == {False: 1, True: 1}
        # Keys stay: the test key still works.
        assert (await session.client.get("/v1/account", headers={
            "Authorization": f"Bearer {account.keys['secret_test']}"})).status_code == 200
        log = await session.graphql("{ auditLog { nodes { action livemode } } }")
        assert {"action": "test_data.deleted", "livemode": False} in log["data"]["auditLog"]["nodes"]

    async def test_the_page_asks_for_confirmation(self, owner):
        account, session = owner
        await _seed_events(account.account["id"])
        wrong = await session.post("/settings/delete-test-data", {"confirm": "delete"})
        assert wrong.status_code == 400 and "type DELETE to confirm" in wrong.text
        assert await _events(account.account["id"]) == {False: 1, True: 1}
        right = await session.post("/settings/delete-test-data", {"confirm": "DELETE"})
        assert right.status_code == 200 and "Test data deleted" in right.text
        assert await _events(account.account["id"]) == {True: 1}

    async def test_wrong_confirmation_is_a_validation_error(self, owner):
        _, session = owner
        result = await session.graphql(DELETE, {"c": "yes"})
        assert result["data"]["r"]["__typename"] == "ValidationError"
        assert result["data"]["r"]["field"] == "confirm"

    @pytest.mark.parametrize("confirm", ["DELETE", "yes"])
    async def test_a_developer_is_refused_whatever_they_type(self, base_url, owner, confirm):
        account, _ = owner
        await _seed_events(account.account["id"])
        email, _ = await add_member(account, Role.DEVELOPER)
        dev = await login(base_url, email)
        try:
            result = await dev.graphql(DELETE, {"c": confirm})
            assert error_code(result) == "permission_denied"
            page = await dev.post("/settings/delete-test-data", {"confirm": confirm})
            assert page.status_code == 403
        finally:
            await dev.client.aclose()
        assert await _events(account.account["id"]) == {False: 1, True: 1}

    async def test_admin_may(self, base_url, owner):
        account, _ = owner
        email, _ = await add_member(account, Role.ADMIN)
        admin = await login(base_url, email)
        try:
            result = await admin.graphql(DELETE, {"c": "DELETE"})
        finally:
            await admin.client.aclose()
        assert result["data"]["r"]["__typename"] == "DeleteTestDataPayload"
