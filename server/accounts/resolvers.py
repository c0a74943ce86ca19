"""GraphQL queries and mutations of accounts, team, settings and the audit log."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.accounts import queries, service, team
from server.accounts import types as t
from server.gql.common import Connection, connection, ctx_of, first_arg
from server.pagination import Page, decode_cursor
from server.permissions import RESOURCES, Access, Level
from server.urls import public_url


def _permissions(ctx) -> list[str]:
    out = []
    for name in RESOURCES:
        for level in (Level.READ, Level.WRITE):
            if ctx.can(Access(name, level)):
                out.append(f"{name}:{level.value}")
    return out


@strawberry.type
class AccountQuery:
    @strawberry.field(description="Who is asking, in which account and mode, with which permissions.")
    async def viewer(self, info: Info) -> t.Viewer:
        ctx = ctx_of(info)
        scope = ctx.scope
        p = ctx.principal
        memberships = []
        if p.is_user and p.user_id:
            memberships = [t.AccountMembership(account_id=m["account_id"], account_name=m["account_name"],
                                               role=t.Role(m["role"]))
                           for m in await queries.memberships_of_user(p.user_id)]
        return t.Viewer(kind=p.kind, user_id=p.user_id, email=p.email, role=p.role, key_id=p.key_id,
                        key_kind=p.key_kind, account_id=scope.account_id, livemode=scope.livemode,
                        permissions=_permissions(ctx), memberships=memberships)

    @strawberry.field(description="The account in scope.")
    async def account(self, info: Info) -> t.Account:
        return t.Account.from_row(await service.account_for(ctx_of(info)))

    @strawberry.field(description="Roles and the permissions each grants.")
    def roles(self) -> list[t.RoleInfo]:
        return t.RoleInfo.all()

    @strawberry.field(description="Team members, newest first.")
    async def members(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[t.Member]:
        page = await team.members(ctx_of(info), first_arg(first), after)
        return connection(page, t.Member.from_row)

    @strawberry.field(description="Pending invitations (needs manage_team).")
    async def invitations(self, info: Info, first: int | None = None,
                          after: str | None = None) -> Connection[t.Invitation]:
        page = await team.invitations(ctx_of(info), first_arg(first), after)
        return connection(page, t.Invitation.from_row)

    @strawberry.field(description="Security-relevant actions, newest first (needs admin).")
    async def audit_log(self, info: Info, first: int | None = None,
                        after: str | None = None) -> Connection[t.AuditEntry]:
        limit = first_arg(first)
        rows = await service.audit_page(ctx_of(info), decode_cursor(after, "after"), limit)
        return connection(Page.from_rows(rows, limit), t.AuditEntry.from_row)


def _settings_dict(data: t.AccountSettingsInput) -> dict:
    return {k: v for k, v in vars(data).items() if v is not strawberry.UNSET}


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Invite someone by email; the link in the result is shown once.")
    async def invite_member(self, info: Info, email: str, role: t.RoleEnum) -> t.InviteMemberResult:
        row, token = await team.invite(ctx_of(info), email, role.value)
        url = f"{public_url()}/invitations/{token}"
        return t.InviteMemberPayload(invitation=t.Invitation.from_row(row), invite_url=url)

    @strawberry.mutation(description="Withdraw a pending invitation.")
    async def revoke_invitation(self, info: Info, id: strawberry.ID) -> t.RevokeInvitationResult:
        row = await team.revoke_invitation(ctx_of(info), str(id))
        return t.InvitationPayload(invitation=t.Invitation.from_row(row))

    @strawberry.mutation(description="Change a member's role; the last owner cannot be demoted.")
    async def change_member_role(self, info: Info, id: strawberry.ID, role: t.RoleEnum) -> t.MemberResult:
        row = await team.change_role(ctx_of(info), str(id), role.value)
        return t.MemberPayload(member=t.Member.from_row({**row, "name": ""}))

    @strawberry.mutation(description="Remove a member; the last owner cannot be removed.")
    async def remove_member(self, info: Info, id: strawberry.ID) -> t.MemberResult:
        row = await team.remove(ctx_of(info), str(id))
        return t.MemberPayload(member=t.Member.from_row({**row, "name": ""}))

    @strawberry.mutation(description="Change account settings (needs admin); recorded in the audit log.")
    async def update_account_settings(self, info: Info, input: t.AccountSettingsInput) -> t.AccountResult:
        row = await service.update_settings(ctx_of(info), _settings_dict(input))
        return t.AccountPayload(account=t.Account.from_row(row))

    @strawberry.mutation(description="Delete every test-mode object of the account. `confirm` must be `DELETE`.")
    async def delete_test_data(self, info: Info, confirm: str) -> t.DeleteTestDataResult:
        counts = await service.delete_test_data(ctx_of(info), confirm)
        return t.DeleteTestDataPayload(deleted=JSON(counts))
