"""Team: invitations by link, roles, removal; the last owner always stays."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from server import clock, db
from server.accounts import queries
from server.accounts.service import existing_or_new_user, normalise_email
from server.audit import service as audit
from server.context import RequestContext
from server.errors import AuthenticationFailed, Conflict, ErrorCode, InvalidRequest, NotFound, PermissionDenied
from server.ids import new_id
from server.pagination import Page, decode_cursor
from server.permissions import Role, write

INVITE_DAYS = 7


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_role(value: str, param: str = "role") -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidRequest(
            f"role must be one of {', '.join(r.value for r in Role)}", param=param
        ) from None


def _guard_owner_change(ctx: RequestContext, *roles: Role) -> None:
    if Role.OWNER in roles and ctx.principal.role is not Role.OWNER:
        raise PermissionDenied("only an owner can grant, change or remove the owner role",
                               extra={"permission": "owner"})


async def members(ctx: RequestContext, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    scope = ctx.scope
    if not ctx.principal.is_user:
        ctx.require(write("team"))
    rows = await queries.members_page(scope.account_id, decode_cursor(cursor), limit)
    return Page.from_rows(rows, limit)


async def invitations(ctx: RequestContext, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    scope = ctx.require(write("team"))
    rows = await queries.invitations_page(scope.account_id, decode_cursor(cursor), limit)
    return Page.from_rows(rows, limit)


async def invite(ctx: RequestContext, email: str, role: str) -> tuple[dict[str, Any], str]:
    """Create an invitation; the token is returned once, to be shown to the inviter."""
    scope = ctx.require(write("team"))
    email = normalise_email(email)
    parsed = parse_role(role)
    _guard_owner_change(ctx, parsed)
    token = secrets.token_urlsafe(32)
    row: dict[str, Any] = {"id": new_id("inv"), "account_id": scope.account_id, "email": email, "role": parsed.value,
           "token_hash": _hash(token), "invited_by": ctx.principal.user_id or "", "created": clock.now(),
           "expires_at": clock.now() + timedelta(days=INVITE_DAYS)}
    async with db.transaction():
        existing = await queries.user_by_email(email)
        if existing and await queries.membership(scope.account_id, existing["id"]):
            raise Conflict(f"{email} is already a member of this account", param="email")
        await queries.insert_invitation(row)
        await audit.record(ctx, scope.account_id, "member.invited", "invitation", row["id"],
                           {"email": email, "role": parsed.value})
    return row, token


async def revoke_invitation(ctx: RequestContext, invitation_id: str) -> dict[str, Any]:
    scope = ctx.require(write("team"))
    async with db.transaction():
        row = await queries.invitation(scope.account_id, invitation_id)
        if row is None or row["accepted_at"] or row["revoked_at"]:
            raise NotFound(f"no pending invitation '{invitation_id}'", param="id")
        await queries.update_invitation(invitation_id, {"revoked_at": clock.now()})
        await audit.record(ctx, scope.account_id, "member.invitation_revoked", "invitation", invitation_id,
                           {"email": row["email"]})
    return row


async def lookup_invitation(token: str) -> dict[str, Any]:
    row = await queries.invitation_with_account(_hash(token or ""))
    if row is None or row["accepted_at"] or row["revoked_at"] or row["expires_at"] <= clock.now():
        raise NotFound("this invitation link is invalid, expired or already used", param="token")
    return row


async def accept(token: str, password: str, name: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Join the account; creates the user on first use. Returns (user, invitation)."""
    async with db.transaction():
        inv = await queries.invitation_by_hash(_hash(token or ""))
        if inv is None or inv["accepted_at"] or inv["revoked_at"] or inv["expires_at"] <= clock.now():
            raise NotFound("this invitation link is invalid, expired or already used", param="token")
        user = await existing_or_new_user(inv["email"], password, name or "", AuthenticationFailed(
            "incorrect password for this email", code=ErrorCode.INVALID_CREDENTIALS))
        if await queries.membership(inv["account_id"], user["id"]) is None:
            await queries.insert_membership({"id": new_id("mem"), "account_id": inv["account_id"],
                                             "user_id": user["id"], "role": inv["role"], "created": clock.now()})
        await queries.update_invitation(inv["id"], {"accepted_at": clock.now()})
        actor = RequestContext()
        await audit.record(actor, inv["account_id"], "member.joined", "user", user["id"],
                           {"email": user["email"], "role": inv["role"]})
    return user, inv


async def change_role(ctx: RequestContext, membership_id: str, role: str) -> dict[str, Any]:
    scope = ctx.require(write("team"))
    new_role = parse_role(role)
    async with db.transaction():
        owners = await queries.lock_owners(scope.account_id)
        row = await queries.member_for_update(scope.account_id, membership_id)
        if row is None:
            raise NotFound(f"no member '{membership_id}'", param="id")
        old_role = Role(row["role"])
        _guard_owner_change(ctx, old_role, new_role)
        if old_role is Role.OWNER and new_role is not Role.OWNER and len(owners) <= 1:
            raise Conflict("the last owner cannot be demoted; make someone else owner first", param="role")
        if old_role is not new_role:
            await queries.update_membership(scope.account_id, membership_id, {"role": new_role.value})
            await audit.record(ctx, scope.account_id, "member.role_changed", "membership", membership_id,
                               {"email": row["email"], "from": old_role.value, "to": new_role.value})
        row["role"] = new_role.value
    return row


async def remove(ctx: RequestContext, membership_id: str) -> dict[str, Any]:
    scope = ctx.require(write("team"))
    async with db.transaction():
        owners = await queries.lock_owners(scope.account_id)
        row = await queries.member_for_update(scope.account_id, membership_id)
        if row is None:
            raise NotFound(f"no member '{membership_id}'", param="id")
        role = Role(row["role"])
        _guard_owner_change(ctx, role)
        if role is Role.OWNER and len(owners) <= 1:
            raise Conflict("the last owner cannot be removed", param="id")
        await queries.delete_membership(scope.account_id, membership_id)
        await audit.record(ctx, scope.account_id, "member.removed", "membership", membership_id,
                           {"email": row["email"], "role": role.value})
    return row
