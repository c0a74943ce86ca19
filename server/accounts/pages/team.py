"""The Team page: members and their roles, and invitations (the invitee's side is in invitations.py)."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response

from server.permissions import write
from server.web.forms import Variables, submit
from server.web.pages import dashboard_context, dashboard_get, dashboard_post, redirect, show


async def _team(request: Request, ctx, status: int = 200, **extra: Any) -> Response:
    can_manage = ctx.can(write("team"))
    return await show(request, ctx, "TeamPage", "accounts/team.html", "team", {"withInvitations": can_manage},
                      status=status, can_manage=can_manage, **extra)


@dashboard_get("/team")
async def team_page(request: Request) -> Response:
    return await _team(request, await dashboard_context(request))


@dashboard_post("/team/invite")
async def team_invite(request: Request) -> Response:
    return await submit(request, "InviteMember",
                        lambda form: {"email": str(form.get("email", "")), "role": str(form.get("role", ""))},
                        page=partial(_team, request),
                        then=lambda invited: _team(request, invited.ctx, invite_url=invited.result["inviteUrl"],
                                                   invited_email=invited.result["invitation"]["email"]))


async def _team_action(request: Request, operation: str, variables: Variables) -> Response:
    return await submit(request, operation, variables, page=partial(_team, request),
                        then=lambda _: redirect(request, "/team"))


@dashboard_post("/team/members/{membership_id:str}/role")
async def team_change_role(request: Request, membership_id: str) -> Response:
    return await _team_action(request, "ChangeMemberRole",
                              lambda form: {"id": membership_id, "role": str(form.get("role", ""))})


@dashboard_post("/team/members/{membership_id:str}/remove")
async def team_remove(request: Request, membership_id: str) -> Response:
    return await _team_action(request, "RemoveMember", {"id": membership_id})


@dashboard_post("/team/invitations/{invitation_id:str}/revoke")
async def team_revoke_invitation(request: Request, invitation_id: str) -> Response:
    return await _team_action(request, "RevokeInvitation", {"id": invitation_id})


HANDLERS = [team_page, team_invite, team_change_role, team_remove, team_revoke_invitation]
