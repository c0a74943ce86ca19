"""Team: invitations by link, accepting, roles, removal, the last owner, owner-only changes, audit."""

from __future__ import annotations

import asyncio
import hashlib
import re

import httpx
import pytest

from server import db, sessions
from server.permissions import Role
from tests.factories import PASSWORD, add_member, csrf_from, error_code, login, new_account

MEMBERS = "{ members(first: 100) { nodes { id email role } } }"
CHANGE = ("mutation($id: ID!, $role: Role!) { r: changeMemberRole(id: $id, role: $role) { __typename "
          "... on MemberPayload { member { role } } ... on Error { code message } } }")
REMOVE = "mutation($id: ID!) { r: removeMember(id: $id) { __typename ... on Error { code message } } }"
INVITE = ("mutation($email: String!, $role: Role!) { r: inviteMember(email: $email, role: $role) { __typename "
          "... on InviteMemberPayload { inviteUrl invitation { id } } ... on Error { code message field } } }")


@pytest.fixture
async def team(base_url):
    account = await new_account(name="Team Co")
    owner = await login(base_url, account.user["email"])
    yield account, owner
    await owner.client.aclose()


def _invite_url(html: str) -> str:
    match = re.search(r'data-testid="invite-link".*?<code class="secret"[^>]*>([^<]+)</code>', html, re.S)
    assert match, "no invitation link on the page"
    return match.group(1)


async def _accept(base_url: str, url: str, password: str = PASSWORD, name: str = "New Person") -> httpx.Response:
    path = httpx.URL(url).path
    async with httpx.AsyncClient(base_url=base_url) as client:
        page = await client.get(path)
        assert page.status_code == 200, page.text
        return await client.post(path, data={"_csrf": csrf_from(page.text), "password": password, "name": name})


async def _member(owner, email: str) -> dict:
    members = (await owner.graphql(MEMBERS))["data"]["members"]["nodes"]
    return next(m for m in members if m["email"] == email)


async def _audit_actions(owner) -> list[tuple[str, dict]]:
    log = await owner.graphql("{ auditLog(first: 100) { nodes { action details } } }")
    return [(n["action"], n["details"]) for n in log["data"]["auditLog"]["nodes"]]


class TestInvitations:
    async def test_invite_by_link_shown_once_and_accept_as_a_new_user(self, base_url, team):
        account, owner = team

        page = await owner.post("/team/invite", {"email": "New.Dev@Example.com", "role": "DEVELOPER"})

        assert page.status_code == 200
        url = _invite_url(page.text)
        token = url.rsplit("/", 1)[1]
        assert url.startswith(base_url + "/invitations/")
        assert token not in (await owner.get("/team")).text  # shown once
        stored = await db.fetchrow("SELECT * FROM invitations WHERE email = 'new.dev@example.com'")
        assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(dict(stored))

        accepted = await _accept(base_url, url)

        assert accepted.status_code == 303 and accepted.headers["location"] == "/"
        assert sessions.COOKIE in accepted.cookies
        assert (await _member(owner, "new.dev@example.com"))["role"] == "DEVELOPER"
        newcomer = await login(base_url, "new.dev@example.com")
        viewer = await newcomer.graphql("{ viewer { role accountId } }")
        await newcomer.client.aclose()
        assert viewer["data"]["viewer"] == {"role": "DEVELOPER", "accountId": account.account["id"]}
        # The link works once.
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get(httpx.URL(url).path)).status_code == 404

    async def test_accept_as_an_existing_user_needs_their_password(self, base_url, team):
        account, owner = team
        other = await new_account(name="Elsewhere")
        email = other.user["email"]
        result = await owner.graphql(INVITE, {"email": email, "role": "ANALYST"})
        url = result["data"]["r"]["inviteUrl"]

        wrong = await _accept(base_url, url, password="not their password")
        assert wrong.status_code == 401
        assert email not in str(await owner.graphql(MEMBERS))

        right = await _accept(base_url, url)
        assert right.status_code == 303
        assert (await _member(owner, email))["role"] == "ANALYST"
        # The user now belongs to both accounts and can switch between them.
        user = await login(base_url, email)
        try:
            viewer = await user.graphql("{ viewer { accountId memberships { accountId role } } }")
            assert {m["accountId"] for m in viewer["data"]["viewer"]["memberships"]} == {
                account.account["id"], other.account["id"]}
            switched = await user.post("/account/switch", {"account_id": account.account["id"]})
            assert switched.status_code == 303
            after = await user.graphql("{ viewer { accountId role } }")
            assert after["data"]["viewer"] == {"accountId": account.account["id"], "role": "ANALYST"}
            stranger = await new_account()
            refused = await user.post("/account/switch", {"account_id": stranger.account["id"]})
            assert refused.status_code == 400
        finally:
            await user.client.aclose()

    async def test_new_user_needs_a_valid_password(self, base_url, team):
        _, owner = team
        result = await owner.graphql(INVITE, {"email": "short-pass@example.com", "role": "SUPPORT"})
        resp = await _accept(base_url, result["data"]["r"]["inviteUrl"], password="short")
        assert resp.status_code == 400 and "at least 10 characters" in resp.text

    async def test_a_member_cannot_be_invited_again(self, team):
        account, owner = team
        result = await owner.graphql(INVITE, {"email": account.user["email"], "role": "ADMIN"})
        assert result["data"]["r"]["__typename"] == "ConflictError"

    async def test_bad_email_is_a_validation_error(self, team):
        _, owner = team
        result = await owner.graphql(INVITE, {"email": "not-an-email", "role": "ADMIN"})
        assert result["data"]["r"]["__typename"] == "ValidationError"
        assert result["data"]["r"]["field"] == "email"

    async def test_a_withdrawn_invitation_no_longer_works(self, base_url, team):
        _, owner = team
        result = await owner.graphql(INVITE, {"email": "withdrawn@example.com", "role": "SUPPORT"})
        inv_id = result["data"]["r"]["invitation"]["id"]
        resp = await owner.post(f"/team/invitations/{inv_id}/revoke")
        assert resp.status_code == 303
        async with httpx.AsyncClient(base_url=base_url) as client:
            path = httpx.URL(result["data"]["r"]["inviteUrl"]).path
            assert (await client.get(path)).status_code == 404
            assert (await client.get("/invitations/made-up-token")).status_code == 404


class TestRolesAndRemoval:
    async def test_change_role_takes_effect_at_once(self, base_url, team):
        account, owner = team
        email, membership_id = await add_member(account, Role.DEVELOPER)
        member = await login(base_url, email)
        try:
            assert (await member.get("/apikeys")).status_code == 200
            resp = await owner.post(f"/team/members/{membership_id}/role", {"role": "VIEW_ONLY"})
            assert resp.status_code == 303
            assert (await _member(owner, email))["role"] == "VIEW_ONLY"
            assert (await member.get("/apikeys")).status_code == 403
        finally:
            await member.client.aclose()

    async def test_remove_ends_access(self, base_url, team):
        account, owner = team
        email, membership_id = await add_member(account, Role.SUPPORT)
        member = await login(base_url, email)
        try:
            resp = await owner.post(f"/team/members/{membership_id}/remove")
            assert resp.status_code == 303
            assert email not in str(await owner.graphql(MEMBERS))
            after = await member.get("/")
            assert after.status_code == 303 and after.headers["location"].startswith("/login")
        finally:
            await member.client.aclose()

    async def test_unknown_role_is_refused(self, team):
        account, owner = team
        _, membership_id = await add_member(account, Role.SUPPORT)
        resp = await owner.post(f"/team/members/{membership_id}/role", {"role": "emperor"})
        assert resp.status_code in (400, 422)
        assert resp.status_code != 500


class TestLastOwner:
    async def test_the_last_owner_cannot_be_demoted_or_removed(self, team):
        account, owner = team
        me = await _member(owner, account.user["email"])
        demoted = await owner.graphql(CHANGE, {"id": me["id"], "role": "ADMIN"})
        assert demoted["data"]["r"]["__typename"] == "ConflictError"
        removed = await owner.graphql(REMOVE, {"id": me["id"]})
        assert removed["data"]["r"]["__typename"] == "ConflictError"
        page = await owner.post(f"/team/members/{me['id']}/remove")
        assert page.status_code == 409 and "last owner" in page.text
        assert (await _member(owner, account.user["email"]))["role"] == "OWNER"

    async def test_an_owner_can_step_down_once_another_owner_exists(self, base_url, team):
        account, owner = team
        await add_member(account, Role.OWNER)
        me = await _member(owner, account.user["email"])
        result = await owner.graphql(CHANGE, {"id": me["id"], "role": "ADMIN"})
        assert result["data"]["r"] == {"__typename": "MemberPayload", "member": {"role": "ADMIN"}}

    async def test_two_owners_demoting_each_other_at_once_leave_one_owner(self, base_url, team):
        account, first = team
        second_email, second_id = await add_member(account, Role.OWNER)
        second = await login(base_url, second_email)
        first_id = (await _member(first, account.user["email"]))["id"]
        try:
            results = await asyncio.gather(first.graphql(CHANGE, {"id": second_id, "role": "ADMIN"}),
                                           second.graphql(CHANGE, {"id": first_id, "role": "ADMIN"}))
        finally:
            await second.client.aclose()
        outcomes = []
        for result in results:
            if "errors" in result:
                outcomes.append(error_code(result))
            else:
                outcomes.append(result["data"]["r"]["__typename"])
        assert outcomes.count("MemberPayload") <= 1, outcomes
        owners = await db.fetch("SELECT id FROM memberships WHERE account_id = $1 AND role = 'owner'",
                                account.account["id"])
        assert len(owners) == 1


class TestOwnership:
    @pytest.fixture
    async def admin(self, base_url, team):
        account, owner = team
        email, _ = await add_member(account, Role.ADMIN)
        session = await login(base_url, email)
        yield account, owner, session
        await session.client.aclose()

    async def test_only_owners_grant_ownership(self, admin):
        account, owner, admin_session = admin
        _, dev_id = await add_member(account, Role.DEVELOPER)
        by_admin = await admin_session.graphql(CHANGE, {"id": dev_id, "role": "OWNER"})
        assert error_code(by_admin) == "permission_denied"
        invite = await admin_session.graphql(INVITE, {"email": "would-be-owner@example.com", "role": "OWNER"})
        assert error_code(invite) == "permission_denied"
        by_owner = await owner.graphql(CHANGE, {"id": dev_id, "role": "OWNER"})
        assert by_owner["data"]["r"]["member"]["role"] == "OWNER"

    async def test_admins_cannot_demote_or_remove_owners(self, admin):
        account, owner, admin_session = admin
        _, other_owner_id = await add_member(account, Role.OWNER)
        assert error_code(await admin_session.graphql(CHANGE, {"id": other_owner_id, "role": "VIEW_ONLY"})) == \
            "permission_denied"
        assert error_code(await admin_session.graphql(REMOVE, {"id": other_owner_id})) == "permission_denied"
        page = await admin_session.post(f"/team/members/{other_owner_id}/remove")
        assert page.status_code == 403
        assert (await owner.graphql(REMOVE, {"id": other_owner_id}))["data"]["r"]["__typename"] == "MemberPayload"

    async def test_admins_manage_other_roles(self, admin):
        account, _, admin_session = admin
        _, dev_id = await add_member(account, Role.DEVELOPER)
        changed = await admin_session.graphql(CHANGE, {"id": dev_id, "role": "ANALYST"})
        assert changed["data"]["r"]["member"]["role"] == "ANALYST"
        removed = await admin_session.graphql(REMOVE, {"id": dev_id})
        assert removed["data"]["r"]["__typename"] == "MemberPayload"


async def test_team_changes_are_in_the_audit_log_for_admins_not_developers(base_url, team):
    account, owner = team
    invited = await owner.graphql(INVITE, {"email": "audited@example.com", "role": "DEVELOPER"})
    await _accept(base_url, invited["data"]["r"]["inviteUrl"])
    member_id = (await _member(owner, "audited@example.com"))["id"]
    await owner.graphql(CHANGE, {"id": member_id, "role": "SUPPORT"})
    await owner.graphql(REMOVE, {"id": member_id})

    actions = await _audit_actions(owner)

    names = [a for a, _ in actions]
    for action in ("member.invited", "member.joined", "member.role_changed", "member.removed"):
        assert action in names, names
    changed = next(d for a, d in actions if a == "member.role_changed")
    assert changed["from"] == "developer" and changed["to"] == "support"

    admin_email, _ = await add_member(account, Role.ADMIN)
    dev_email, _ = await add_member(account, Role.DEVELOPER)
    admin = await login(base_url, admin_email)
    dev = await login(base_url, dev_email)
    try:
        assert "member.removed" in [a for a, _ in await _audit_actions(admin)]
        assert (await admin.get("/audit")).status_code == 200
        assert "member.removed" in (await admin.get("/audit")).text
        assert error_code(await dev.graphql("{ auditLog { nodes { action } } }")) == "permission_denied"
        assert (await dev.get("/audit")).status_code == 403
    finally:
        await admin.client.aclose()
        await dev.client.aclose()


async def test_one_new_user_accepting_two_invitations_at_once_gets_one_user(server):
    import asyncio

    from server.accounts import queries, team
    from tests.factories import PASSWORD, new_account, user_ctx

    first, second = await new_account(), await new_account()
    email = "twice-invited@example.com"
    tokens = []
    for account in (first, second):
        _, token = await team.invite(user_ctx(account.account["id"], account.user["id"]), email, "developer")
        tokens.append(token)
    results = await asyncio.gather(*(team.accept(t, PASSWORD) for t in tokens))
    assert results[0][0]["id"] == results[1][0]["id"]
    user = await queries.user_by_email(email)
    for account in (first, second):
        assert await queries.membership(account.account["id"], user["id"])
