"""GraphQL types of accounts, the viewer, team members, invitations and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from server.accounts.business import region_of
from server.gql.common import ConflictError, NotFoundError, ValidationError
from server.permissions import ROLE_DESCRIPTIONS, ROLE_PERMISSIONS, Role

# strawberry.enum registers the class itself as the GraphQL enum "Role"; the alias keeps it a type for mypy.
strawberry.enum(Role, name="Role", description="A member's role; it fixes their permissions.")
RoleEnum = Role


@strawberry.type(description="A merchant account and its settings.")
class Account:
    id: str = strawberry.field(description="`acct_…`")
    name: str = strawberry.field(description="Shown on receipts and in the dashboard.")
    category: str = strawberry.field(description="Business category, one of a fixed MCC-like list; with the region it "
                                                 "makes the account's benchmark cohort.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    region: str | None = strawberry.field(description="The country's region (UN M.49): north_america, latin_america, "
                                                      "europe, africa, asia or oceania; null for a code that is "
                                                      "not ISO 3166-1.")
    default_currency: str = strawberry.field(description="ISO 4217 code totals are converted to.")
    timezone: str = strawberry.field(description="IANA time zone used in the dashboard and reports.")
    fee_percent_bps: int = strawberry.field(description="Percentage fee per payment, in basis points.")
    fee_fixed_minor: int = strawberry.field(description="Fixed fee per payment, in minor units.")
    dispute_fee_minor: int = strawberry.field(description="Fee per chargeback, minor units of its currency.")
    log_retention_days: int = strawberry.field(description="Days API request logs are kept (1–400).")
    created: datetime = strawberry.field(description="When the account was created.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Account:
        return cls(region=region_of(row["country"]), **{k: row[k] for k in (
            "id", "name", "category", "country", "default_currency", "timezone", "fee_percent_bps",
            "fee_fixed_minor", "dispute_fee_minor", "log_retention_days", "created")})


@strawberry.type(description="A role and the permissions it grants.")
class RoleInfo:
    role: RoleEnum = strawberry.field(description="The role.")
    description: str = strawberry.field(description="What the role is for.")
    permissions: list[str] = strawberry.field(description="Permissions the role grants.")

    @classmethod
    def all(cls) -> list[RoleInfo]:
        return [cls(role=r, description=ROLE_DESCRIPTIONS[r],
                    permissions=sorted(p.value for p in ROLE_PERMISSIONS[r])) for r in Role]


@strawberry.type(description="An account the viewer belongs to.")
class AccountMembership:
    account_id: str = strawberry.field(description="The account.")
    account_name: str = strawberry.field(description="Its name.")
    role: RoleEnum = strawberry.field(description="The viewer's role there.")


@strawberry.type(description="Who is asking: a dashboard user or an API key, in one account and mode.")
class Viewer:
    kind: str = strawberry.field(description="`user` or `api_key`.")
    user_id: str | None = strawberry.field(description="The user, for a dashboard session.")
    email: str | None = strawberry.field(description="The user's email.")
    role: RoleEnum | None = strawberry.field(description="The user's role in this account.")
    key_id: str | None = strawberry.field(description="The API key, when one is used.")
    key_kind: str | None = strawberry.field(description="secret, publishable or restricted.")
    account_id: str = strawberry.field(description="The account in scope.")
    livemode: bool = strawberry.field(description="Whether live data is in scope (false: test mode).")
    permissions: list[str] = strawberry.field(description="What the viewer may do, as `resource:level`.")
    memberships: list[AccountMembership] = strawberry.field(description="Accounts the user can switch to.")


@strawberry.type(description="A member of the account's team.")
class Member:
    id: str = strawberry.field(description="`mem_…`, the membership.")
    user_id: str = strawberry.field(description="The user.")
    email: str = strawberry.field(description="Login email.")
    name: str = strawberry.field(description="Display name.")
    role: RoleEnum = strawberry.field(description="Role in this account.")
    created: datetime = strawberry.field(description="When they joined.")
    last_login_at: datetime | None = strawberry.field(description="Their last login, if any.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Member:
        return cls(id=row["id"], user_id=row["user_id"], email=row["email"], name=row.get("name") or "",
                   role=Role(row["role"]), created=row["created"], last_login_at=row.get("last_login_at"))


@strawberry.type(description="A pending invitation to join the team.")
class Invitation:
    id: str = strawberry.field(description="`inv_…`")
    email: str = strawberry.field(description="Who was invited.")
    role: RoleEnum = strawberry.field(description="The role they get on accepting.")
    created: datetime = strawberry.field(description="When it was sent.")
    expires_at: datetime = strawberry.field(description="After this the link no longer works.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Invitation:
        return cls(id=row["id"], email=row["email"], role=Role(row["role"]), created=row["created"],
                   expires_at=row["expires_at"])


@strawberry.type(description="A security-relevant action, kept for admins.")
class AuditEntry:
    id: str = strawberry.field(description="`aud_…`")
    action: str = strawberry.field(description="e.g. `api_key.created`, `member.removed`.")
    target_type: str = strawberry.field(description="Kind of object acted on.")
    target_id: str = strawberry.field(description="The object acted on.")
    actor_user_id: str | None = strawberry.field(description="The user who acted.")
    actor_email: str | None = strawberry.field(description="Their email.")
    actor_key_id: str | None = strawberry.field(description="The API key that acted, if any.")
    livemode: bool | None = strawberry.field(description="The mode, for mode-specific actions.")
    details: JSON = strawberry.field(description="What changed.")
    ip_address: str | None = strawberry.field(description="Where the request came from.")
    created: datetime = strawberry.field(description="When.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AuditEntry:
        details = row["details"]
        return cls(id=row["id"], action=row["action"], target_type=row["target_type"], target_id=row["target_id"],
                   actor_user_id=row["actor_user_id"], actor_email=row.get("actor_email"),
                   actor_key_id=row["actor_key_id"], livemode=row["livemode"],
                   details=details,
                   ip_address=row["ip_address"], created=row["created"])


@strawberry.input(description="Account settings to change; omitted fields stay as they are.")
class AccountSettingsInput:
    name: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    default_currency: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    fee_percent_bps: int | None = strawberry.UNSET
    fee_fixed_minor: int | None = strawberry.UNSET
    dispute_fee_minor: int | None = strawberry.UNSET
    log_retention_days: int | None = strawberry.UNSET


@strawberry.type(description="The invitation and its one-time link.")
class InviteMemberPayload:
    invitation: Invitation = strawberry.field(description="The new invitation.")
    invite_url: str = strawberry.field(description="Shown once: send it to the invitee.")


@strawberry.type(description="The member after the change.")
class MemberPayload:
    member: Member = strawberry.field(description="The member.")


@strawberry.type(description="The account after the change.")
class AccountPayload:
    account: Account = strawberry.field(description="The account.")


@strawberry.type(description="What was deleted, per table.")
class DeleteTestDataPayload:
    deleted: JSON = strawberry.field(description="Rows removed per table.")


InviteMemberResult = Annotated[InviteMemberPayload | ValidationError | ConflictError,
                               strawberry.union("InviteMemberResult")]
MemberResult = Annotated[MemberPayload | ValidationError | NotFoundError | ConflictError,
                         strawberry.union("MemberResult")]
AccountResult = Annotated[AccountPayload | ValidationError, strawberry.union("AccountResult")]
DeleteTestDataResult = Annotated[DeleteTestDataPayload | ValidationError, strawberry.union("DeleteTestDataResult")]


@strawberry.type(description="The invitation after the change.")
class InvitationPayload:
    invitation: Invitation = strawberry.field(description="The invitation.")


RevokeInvitationResult = Annotated[InvitationPayload | NotFoundError, strawberry.union("RevokeInvitationResult")]
